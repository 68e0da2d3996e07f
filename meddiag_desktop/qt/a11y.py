"""Keyboard and screen-reader checks and helpers: which interactive widgets lack an accessible name
or cannot be reached with Tab (used by the tests and by the windows after they are built)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import (QAbstractButton, QAbstractItemView, QAbstractSlider, QAbstractSpinBox, QComboBox,
                               QHeaderView, QLineEdit, QPlainTextEdit, QTabBar, QTextEdit, QToolButton, QWidget)

INTERACTIVE = (QAbstractButton, QComboBox, QLineEdit, QAbstractSpinBox, QAbstractSlider, QAbstractItemView, QTabBar,
               QPlainTextEdit, QTextEdit)


def interactive_widgets(root: QWidget) -> list[QWidget]:
    """The visible, enabled controls inside ``root`` (a combo's own line edit and view excluded)."""
    found = []
    for widget in root.findChildren(QWidget):
        if not isinstance(widget, INTERACTIVE) or isinstance(widget, QHeaderView) or widget.window() is not root \
                or not widget.isVisibleTo(root) or not widget.isEnabled():
            continue  # a header is part of its table; other windows are checked on their own
        parent = widget.parentWidget()
        if isinstance(parent, (QComboBox, QAbstractSpinBox)) or (parent is not None and parent.inherits("QComboBoxPrivateContainer")):
            continue
        if type(widget).__name__ in ("QScrollBar",):  # part of a scroll area; keyboard-scrolled through it
            continue
        found.append(widget)
    return found


def accessible_name(widget: QWidget) -> str:
    """What a screen reader announces as the widget's name (QAccessible, falling back on the widget)."""
    interface = QAccessible.queryAccessibleInterface(widget)
    name = interface.text(QAccessible.Text.Name) if interface is not None else ""
    return (name or widget.accessibleName() or "").strip()


def unnamed_interactive_widgets(root: QWidget) -> list[QWidget]:
    return [w for w in interactive_widgets(root) if not accessible_name(w)]


def tab_unreachable(root: QWidget) -> list[QWidget]:
    """Interactive widgets that Tab never reaches (toolbar buttons excepted: each repeats a menu action)."""
    chain, widget = set(), root.nextInFocusChain()
    for _ in range(10_000):
        if widget is root:
            break
        if widget.focusPolicy() & Qt.FocusPolicy.TabFocus and widget.isVisibleTo(root) and widget.isEnabled():
            chain.add(widget)
        widget = widget.nextInFocusChain()
    return [w for w in interactive_widgets(root) if w not in chain and not (
        isinstance(w, QToolButton) and w.defaultAction() is not None)]


def name_from_tooltips(root: QWidget) -> None:
    """Give every interactive widget without an accessible name the first line of its tool tip as its name and
    the tool tip as its description (a label's buddy or a button's text names the others)."""
    for widget in interactive_widgets(root):
        tip = widget.toolTip().strip()
        if tip and not widget.accessibleDescription():
            widget.setAccessibleDescription(tip)
        if not accessible_name(widget) and tip:
            widget.setAccessibleName(tip.splitlines()[0].split(" (")[0].rstrip(".:"))
