"""Debug assertion "widgets are touched only in the GUI thread" (kept tiny: imported before the first paint)."""
from __future__ import annotations

import functools
import threading
from typing import Callable

from PySide6.QtCore import QCoreApplication, QThread


class _GuiThreadGuard:
    """Counts checks and records violations (tests read both)."""

    def __init__(self) -> None:
        self.checks = 0
        self.violations: list[str] = []


GUI_GUARD = _GuiThreadGuard()


def ensure_gui_thread(where: str) -> None:
    """Raise (and record) when called outside the GUI thread; call it in slots that update widgets."""
    GUI_GUARD.checks += 1
    app = QCoreApplication.instance()
    if app is not None and QThread.currentThread() is not app.thread():
        message = f"{where} ran outside the GUI thread ({threading.current_thread().name})"
        GUI_GUARD.violations.append(message)
        raise AssertionError(message)


def gui_only(method: Callable) -> Callable:
    """Decorator form of :func:`ensure_gui_thread` for widget-updating methods."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        ensure_gui_thread(method.__qualname__)
        return method(*args, **kwargs)

    return wrapper
