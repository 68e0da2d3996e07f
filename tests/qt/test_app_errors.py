"""Unhandled errors never make the window vanish: the exception dialog names the log file, and Qt's
own warnings land in that (path-redacting) log."""
from __future__ import annotations

import logging
import threading

import pytest
from PySide6.QtCore import Qt, qCritical, qWarning
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QPushButton

from meddiag_desktop.qt.app import ExceptionDialogHook, setup_logging

SECRET = "/data/Patients/Smith_John"


@pytest.fixture
def log_file():
    """setup_logging() into this test's user log dir; its handler is removed afterwards
    (pytest-qt restores its own Qt message handler after each test)."""
    logger = logging.getLogger("meddiag_desktop")
    before = list(logger.handlers)
    path = setup_logging()
    yield path
    for handler in logger.handlers[:]:
        if handler not in before:
            logger.removeHandler(handler)
            handler.close()


@pytest.fixture
def hook(qapp, log_file):
    hook = ExceptionDialogHook(log_path=log_file).install()
    yield hook
    hook.uninstall()


@pytest.mark.qt_no_exception_capture
def test_an_exception_in_a_slot_shows_the_log_path_and_the_app_keeps_running(hook, log_file, qtbot, dialog_log):
    clicks = []

    def slot():
        clicks.append(len(clicks))
        if len(clicks) == 1:
            raise RuntimeError(f"slot exploded on {SECRET}/chest.png")

    button = QPushButton("go")
    qtbot.addWidget(button)
    button.clicked.connect(slot)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(dialog_log), timeout=5_000)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)  # the event loop and the slot still work
    assert clicks == [0, 1] and len(dialog_log) == 1
    title, text, details = dialog_log[0]
    assert title == "Unexpected error" and "RuntimeError: slot exploded" in text
    assert str(log_file) in text and "Traceback" in details
    logged = log_file.read_text(encoding="utf-8")
    assert "RuntimeError: slot exploded on chest.png" in logged and "in slot" in logged
    assert "Smith_John" not in logged  # paths are cut to their last part in the log


def test_an_exception_in_a_thread_shows_the_dialog_from_the_gui_thread(hook, log_file, qtbot, dialog_log):
    thread = threading.Thread(target=lambda: 1 / 0)
    thread.start()
    thread.join()
    qtbot.waitUntil(lambda: bool(dialog_log), timeout=5_000)  # queued to the GUI thread
    assert "ZeroDivisionError" in dialog_log[0][1] and str(log_file) in dialog_log[0][1]
    assert "ZeroDivisionError" in log_file.read_text(encoding="utf-8")


def test_the_dialog_names_the_default_log_file_without_a_path_given(qapp, qtbot, dialog_log):
    from meddiag_desktop.core.paths import user_log_dir

    hook = ExceptionDialogHook()
    hook.handle(ValueError, ValueError("boom"), None)
    qtbot.waitUntil(lambda: bool(dialog_log), timeout=5_000)
    assert str(user_log_dir() / "meddiag-desktop.log") in dialog_log[0][1]


def test_qt_warnings_and_criticals_land_in_the_log_file(qapp, log_file):
    qWarning(f"qt warning about {SECRET}/scan.png")
    qCritical("qt critical message")
    painter = QPainter()
    painter.begin(QImage())  # a real warning from inside Qt: a null paint device
    logged = log_file.read_text(encoding="utf-8")
    assert "WARNING meddiag_desktop.qt.messages" in logged and "qt warning about scan.png" in logged
    assert "ERROR meddiag_desktop.qt.messages" in logged and "qt critical message" in logged
    assert "QPainter::begin" in logged
    assert "Smith_John" not in logged
