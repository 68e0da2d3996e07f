"""Every message box of the window, shown window-modal but non-blocking (``open()``, never a nested
``exec()``).

Tests replace ``QMessageBox`` in this module to record boxes (and answer questions) instead of showing
them; the self-test and benchmarks run inside :func:`unattended` (nothing shown, questions answered yes).
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

_unattended = 0  # > 0 inside unattended()


@contextmanager
def unattended() -> Iterator[None]:
    """Inside, no box is shown and every question is answered yes (unattended runs)."""
    global _unattended
    _unattended += 1
    try:
        yield
    finally:
        _unattended -= 1


def error_box(parent: QWidget | None, title: str, message: str, details: str = "",
              critical: bool = False) -> QMessageBox | None:
    """Show a readable error; ``details`` (a traceback...) goes behind "Show Details..."."""
    if _unattended:
        return None
    icon = QMessageBox.Icon.Critical if critical else QMessageBox.Icon.Warning
    box = QMessageBox(icon, title, message, QMessageBox.StandardButton.Ok, parent)
    if details:
        box.setDetailedText(details)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box


def ask(parent: QWidget | None, title: str, question: str, on_yes: Callable[[], object],
        warning: bool = False) -> QMessageBox | None:
    """A Yes / No question; ``on_yes()`` runs when it is answered yes."""
    if _unattended:
        on_yes()
        return None
    icon = QMessageBox.Icon.Warning if warning else QMessageBox.Icon.Question
    box = QMessageBox(icon, title, question, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, parent)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.accepted.connect(on_yes)
    box.open()
    return box


def about(parent: QWidget | None, title: str, text: str) -> None:
    if not _unattended:
        QMessageBox.about(parent, title, text)


def information(parent: QWidget | None, title: str, message: str) -> QMessageBox | None:
    """An outcome to read (an export's summary, why nothing was written)."""
    if _unattended:
        return None
    box = QMessageBox(QMessageBox.Icon.Information, title, message, QMessageBox.StandardButton.Ok, parent)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box
