"""Application start-up: QApplication, file logging (Qt's own messages included), the exception dialog
(which names the log file), the main window."""
from __future__ import annotations

import logging
import os
import re
import sys
import threading
from pathlib import Path

from PySide6.QtCore import QObject, QtMsgType, QTimer, Signal, Slot, qInstallMessageHandler
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from .. import __version__
from ..core.paths import resource_path

log = logging.getLogger(__name__)

LOG_FILE = "meddiag-desktop.log"
# Absolute paths (POSIX or Windows) in log text are cut to their last component: file and folder
# names can hold patient names, so the log keeps basenames at most.
_PATH = re.compile(r"(?:[A-Za-z]:[\\/]|(?<![\w.])/)(?:[^\s'\"<>|:;,()]+[\\/])*([^\s'\"<>|:;,()]*)")


def redact_paths(text: str) -> str:
    return _PATH.sub(lambda m: m.group(1) or "…", text)


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact_paths(super().format(record))


def _rotate(path: Path, max_bytes: int = 1_000_000, keep: int = 3) -> None:
    """At start-up: log -> log.1 -> ... -> log.<keep> once it is over ``max_bytes``."""
    try:
        if path.stat().st_size < max_bytes:
            return
        for i in range(keep - 1, 0, -1):
            older = path.with_name(f"{path.name}.{i}")
            if older.exists():
                os.replace(older, path.with_name(f"{path.name}.{i + 1}"))
        os.replace(path, path.with_name(f"{path.name}.1"))
    except OSError:
        pass


def log_file_path() -> Path:
    from meddiag_desktop.core.paths import user_log_dir

    return user_log_dir() / LOG_FILE


_QT_LEVELS = {QtMsgType.QtDebugMsg: logging.DEBUG, QtMsgType.QtInfoMsg: logging.INFO,
              QtMsgType.QtWarningMsg: logging.WARNING, QtMsgType.QtCriticalMsg: logging.ERROR,
              QtMsgType.QtFatalMsg: logging.CRITICAL}
_qt_log = logging.getLogger("meddiag_desktop.qt.messages")


def _qt_message(mode, context, message: str) -> None:
    """Qt's message handler: Qt warnings, criticals and fatals go to the (path-redacting) log."""
    category = getattr(context, "category", None)
    _qt_log.log(_QT_LEVELS.get(mode, logging.WARNING), "Qt%s: %s",
                f" [{category}]" if category and category != "default" else "", message)
    if mode == QtMsgType.QtFatalMsg:  # Qt aborts next: get the line to disk first
        for handler in logging.getLogger("meddiag_desktop").handlers:
            handler.flush()


def setup_logging(level: int = logging.INFO) -> Path:
    """Log the ``meddiag_desktop`` package and Qt's messages to a file in ``user_log_dir()``
    (rotated at start-up)."""
    path = log_file_path()
    logger = logging.getLogger("meddiag_desktop")
    if not any(getattr(h, "baseFilename", None) == str(path) for h in logger.handlers):
        _rotate(path)
        handler = logging.FileHandler(path, encoding="utf-8")
        handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(level)
    qInstallMessageHandler(_qt_message)
    return path


def create_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication (reused when one exists, as under pytest-qt)."""
    app = QApplication.instance()
    if app is None:  # (Qt 6 already scales by the screen's exact factor)
        app = QApplication(argv if argv is not None else [sys.argv[0] if sys.argv else "meddiag-desktop"])
        app.setStyle("Fusion")
    app.setApplicationName("MedDiag Desktop")
    app.setApplicationDisplayName("MedDiag Desktop")
    app.setOrganizationName("MedDiag")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("meddiag-desktop")  # matches resources/meddiag-desktop.desktop (Wayland app id)
    app.setWindowIcon(QIcon(str(resource_path("icons", "meddiag.png"))))
    return app


class ExceptionDialogHook(QObject):
    """sys.excepthook / threading.excepthook: log the error and show it in a dialog (GUI thread)
    that names the log file, instead of a silent death or a traceback on a console nobody reads."""

    raised = Signal(str, str)  # message, details

    def __init__(self, parent: QObject | None = None, log_path: str | Path | None = None) -> None:
        super().__init__(parent)
        self.log_path = log_path
        self.raised.connect(self._show)  # queued when raised in another thread
        self._open = 0
        self._previous = None

    def install(self) -> "ExceptionDialogHook":
        self._previous = (sys.excepthook, threading.excepthook)
        sys.excepthook = self.handle
        threading.excepthook = lambda args: self.handle(args.exc_type, args.exc_value, args.exc_traceback)
        return self

    def uninstall(self) -> None:
        if self._previous is not None:
            sys.excepthook, threading.excepthook = self._previous
            self._previous = None

    def handle(self, exc_type, exc, tb) -> None:
        import traceback

        if issubclass(exc_type, KeyboardInterrupt):
            QApplication.quit()
            return
        details = "".join(traceback.format_exception(exc_type, exc, tb))
        log.error("unhandled exception: %s", details)
        message = f"{exc_type.__name__}: {exc}" if str(exc) else exc_type.__name__
        self.raised.emit(message, details)

    @Slot(str, str)
    def _show(self, message: str, details: str) -> None:
        from .dialogs import error_box

        if self._open >= 3:  # an error storm: the log has them all
            return
        self._open += 1
        box = error_box(QApplication.activeWindow(), self.tr("Unexpected error"),
                        self.tr("Something went wrong, but your work is safe and the window stays usable.\n\n{message}\n\nThe details are in the log file:\n{log}").format(message=message, log=self.log_path or log_file_path()),
                        details, critical=True)
        box.finished.connect(self._closed)

    @Slot()
    def _closed(self) -> None:
        self._open -= 1


def build_window(device: str | None = None, task: str | None = None, store=None):
    """QApplication + logging + MainWindow (not shown yet): the start-up path up to the first paint."""
    app = create_application()
    log_path = setup_logging()
    from .i18n import install, resolve_language
    from .main_window import MainWindow
    from .settings import Settings

    settings = Settings()
    install(resolve_language(settings.language), app)  # before the first widget: applies at start-up only
    window = MainWindow(store=store, settings=settings, device=device, task=task)
    log.info("MedDiag Desktop %s started (log: %s)", __version__, log_path.name)
    return app, window


def _quit_on_signals(app: QApplication) -> QTimer:
    """Ctrl+C / SIGTERM close the window properly (settings saved, workers joined). Python handles
    signals only when it runs, so a timer lets it run now and then."""
    import signal

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: app.closeAllWindows())
    timer = QTimer(app)
    timer.timeout.connect(lambda: None)
    timer.start(250)
    return timer


def run_app(files: list[str] | None = None, device: str | None = None, task: str | None = None) -> int:
    app, window = build_window(device=device, task=task)
    hook = ExceptionDialogHook(app, log_file_path()).install()
    _quit_on_signals(app)
    window.show()
    from .help_dialogs import show_welcome_once

    QTimer.singleShot(0, lambda: show_welcome_once(window))  # after the first paint, once per user
    if files:
        QTimer.singleShot(0, lambda: window.open_files(files))  # after the first paint
    try:
        return app.exec()
    finally:
        window.shutdown()
        hook.uninstall()
