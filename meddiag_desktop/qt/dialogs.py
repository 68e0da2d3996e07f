"""Message boxes, shown window-modal but non-blocking (``open()``, never a nested ``exec()``).

Tests replace ``QMessageBox`` in this module to record dialogs instead of showing them.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget


def error_box(parent: QWidget | None, title: str, message: str, details: str = "",
              critical: bool = False) -> QMessageBox:
    """Show a readable error; ``details`` (a traceback...) goes behind "Show Details..."."""
    icon = QMessageBox.Icon.Critical if critical else QMessageBox.Icon.Warning
    box = QMessageBox(icon, title, message, QMessageBox.StandardButton.Ok, parent)
    if details:
        box.setDetailedText(details)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box
