"""Fixtures for the window tests: demo models of the three families, a recorded-dialog stand-in,
and windows that are closed (threads joined) after each test. Run offscreen:
QT_QPA_PLATFORM=offscreen python -m pytest tests/qt -q"""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

from meddiag_desktop.qt import dialogs  # noqa: E402
from meddiag_desktop.qt.workers import GUI_GUARD  # noqa: E402

FAMILIES = ("cnn", "rnn", "transformer")


@pytest.fixture
def demo_store():
    """Untrained (demo) models, one per family, task 'demo', in the test's own user folder."""
    from meddiag_desktop.core.paths import user_models_dir
    from meddiag_desktop.core.model_store import ModelStore
    from testkit import save_demo_models

    save_demo_models(user_models_dir(), archs=FAMILIES, threshold=0.5, positive_label="abnormal")
    return ModelStore([user_models_dir()])


class _Signal:
    def __init__(self):
        self.slots = []

    def connect(self, slot):
        self.slots.append(slot)

    def emit(self):
        for slot in self.slots:
            slot()


@pytest.fixture
def dialog_log(monkeypatch):
    """Replaces QMessageBox in qt.dialogs: records (title, text, details) instead of showing a box, and
    answers every Yes / No question yes."""
    shown: list[tuple[str, str, str]] = []

    class RecordingBox:
        Icon = QMessageBox.Icon
        StandardButton = QMessageBox.StandardButton

        def __init__(self, _icon, title, text, buttons=None, _parent=None):
            self.title, self.text, self.details = title, text, ""
            self.question = buttons is not None and bool(buttons & QMessageBox.StandardButton.Yes)
            self.accepted, self.finished = _Signal(), _Signal()

        def setDetailedText(self, details):
            self.details = details

        def setAttribute(self, *_):
            pass

        def open(self):
            shown.append((self.title, self.text, self.details))
            if self.question:
                self.accepted.emit()

    monkeypatch.setattr(dialogs, "QMessageBox", RecordingBox)
    return shown


@pytest.fixture
def gui_guard():
    """GUI-thread guard: tests assert it was exercised and never violated."""
    before = GUI_GUARD.checks
    GUI_GUARD.violations.clear()
    yield lambda: GUI_GUARD.checks - before
    assert GUI_GUARD.violations == []


@pytest.fixture
def make_window(qtbot, demo_store, tmp_path, dialog_log):
    from meddiag_desktop.qt.main_window import MainWindow
    from meddiag_desktop.qt.settings import Settings

    windows = []

    def make(settings_path=None, **kwargs):
        kwargs.setdefault("store", demo_store)
        kwargs.setdefault("device", "cpu")
        window = MainWindow(settings=Settings(settings_path or tmp_path / "settings.ini"), **kwargs)
        qtbot.addWidget(window)
        window.show()
        window.start()  # normally right after the first paint
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()
        window.shutdown()


@pytest.fixture
def window(make_window, qtbot):
    window = make_window()
    qtbot.waitUntil(lambda: window.info is not None and window.viewer is not None, timeout=60_000)
    return window


@pytest.fixture
def intake(window):
    """The window's intake (Settings → DICOM node, File → Watch folder…), its node and watcher stopped after."""
    intake = window.child_windows.open_intake()
    yield intake
    intake.stop_node()
    intake.stop_watch()
