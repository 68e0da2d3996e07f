"""A visible keyboard focus on every control of every window, in both themes.

Fusion marks focus faintly (a 1-px tint on some controls, nothing on lists, plots or the image view,
almost nothing in dark colours). ``show_focus_rings`` draws one ring over the edge of the focused
widget instead: 2 px in the theme's focus colour, then 2 px in its base colour, so at least 2 px of
it stand out (>= 3:1 against what they cover) on light controls, dark controls and the dark image
area alike. The ring is a child of the focused widget (it moves, scrolls and hides with it) and is
masked to the edge, so repaints inside the widget (a new image, a live table row) never run its
paint code. The current cell of a focused table or list is framed by the style sheet
(``style.style_sheet``).
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QColor, QPainter, QRegion
from PySide6.QtWidgets import QApplication, QWidget
from shiboken6 import isValid

RING_WIDTH = 2  # px in the focus colour, then as many in the inner colour
FOCUS_RING = "focusRing"  # the ring's object name


class FocusRing(QWidget):
    """The ring over the edge of ``target``."""

    def __init__(self, target: QWidget, colour: str, inner: str) -> None:
        super().__init__(target)
        self.setObjectName(FOCUS_RING)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.colour, self.inner = QColor(colour), QColor(inner)
        target.installEventFilter(self)
        self._fit()
        self.show()

    def target(self) -> QWidget:
        return self.parentWidget()

    def set_colours(self, colour: str, inner: str) -> None:
        self.colour, self.inner = QColor(colour), QColor(inner)
        self.update()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.parentWidget() and event.type() in (QEvent.Type.Resize, QEvent.Type.ChildAdded):
            self._fit()  # new children (a scroll bar) must not cover the ring
        return False

    def _fit(self) -> None:
        rect = self.parentWidget().rect()
        edge = 2 * RING_WIDTH
        self.setGeometry(rect)
        self.setMask(QRegion(rect).subtracted(QRegion(rect.adjusted(edge, edge, -edge, -edge))))
        self.raise_()

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)  # clipped to the mask: the outer 4 px
        painter.fillRect(self.rect(), self.colour)
        painter.fillRect(self.rect().adjusted(RING_WIDTH, RING_WIDTH, -RING_WIDTH, -RING_WIDTH), self.inner)
        painter.end()


_state: dict = {"ring": None, "colours": ("#2f63b8", "#ffffff"), "connected": False}


def show_focus_rings(app: QApplication, colour: str, inner: str) -> None:
    """From now on the focused widget of ``app`` wears a ring in ``colour`` (and ``inner``); called
    again at each theme change with the new colours."""
    _state["colours"] = (colour, inner)
    if not _state["connected"]:
        app.focusChanged.connect(_focus_changed)
        _state["connected"] = True
    ring = focus_ring()
    if ring is not None:
        ring.set_colours(colour, inner)
    elif app.focusWidget() is not None:
        _focus_changed(None, app.focusWidget())


def focus_ring() -> FocusRing | None:
    """The ring on screen, None when no widget has the focus."""
    ring = _state["ring"]
    return ring if ring is not None and isValid(ring) else None


def ring_target(widget: QWidget) -> QWidget:
    """The control that shows the focus of ``widget``: a spin box, not its line edit (its focus proxy)."""
    while widget.parentWidget() is not None and widget.parentWidget().focusProxy() is widget \
            and not widget.parentWidget().isWindow():
        widget = widget.parentWidget()
    return widget


def _focus_changed(_old: QWidget | None, new: QWidget | None) -> None:
    ring = focus_ring()
    if ring is not None:
        ring.hide()
        ring.deleteLater()
    _state["ring"] = None
    if new is not None and isValid(new) and not new.isWindow():
        _state["ring"] = FocusRing(ring_target(new), *_state["colours"])
