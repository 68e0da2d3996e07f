"""The main window's helper windows, created on first use and owned by it: the scan window, the
fine-tune dialog and the Models page. They get the store, the settings and the device explicitly
and talk back only through signals; each hosts its own jobs (its own ``JobHost``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

if TYPE_CHECKING:
    from .finetune_dialog import FineTuneDialog
    from .intake import Intake
    from .models_page import ModelsPage
    from .review_window import ReviewWindow
    from .scan_window import ScanWindow


def raise_window(window):
    window.show()
    window.raise_()
    window.activateWindow()
    return window


class ChildWindows(QObject):
    activeModelsChanged = Signal()  # a version was activated or rolled back: reload the models
    openRequested = Signal(str)  # a scan row was double-clicked: show this file

    def __init__(self, owner: QWidget, store, settings) -> None:
        """``owner``: the main window (their Qt parent); ``store``: a core ModelStore or a list of
        model folders; ``settings``: ``qt.settings.Settings`` (the scan window's last folder)."""
        super().__init__(owner)
        self.owner, self.store, self.settings = owner, store, settings
        self.scan_window: ScanWindow | None = None
        self.finetune_dialog: FineTuneDialog | None = None
        self.models_page: ModelsPage | None = None
        self.intake: Intake | None = None  # the Inbox dock + DICOM node / watch folder, made on first use
        self.review_window: ReviewWindow | None = None

    def set_session(self, info) -> None:
        """The main window's models were loaded (the scan window's check boxes follow them)."""
        if self.scan_window is not None and not self.scan_window.closed:
            self.scan_window.set_session(info)

    def open_scan_window(self, info) -> ScanWindow:
        """Show the (non-modal) scan window, creating it after a closed one; returns it. ``info``: the
        main window's ``jobs.viewer.SessionInfo`` (None while its models load)."""
        from .scan_window import ScanWindow

        if self.scan_window is None or self.scan_window.closed:
            if self.scan_window is not None:
                self.scan_window.deleteLater()
            self.scan_window = ScanWindow(info, self.settings, self.owner)
            self.scan_window.openRequested.connect(self.openRequested)
            self.scan_window.results.review_launcher.requested.connect(lambda rows, budget: self.open_review(
                self.scan_window.info.requested, self.scan_window.info.task).build_from_scan(rows, budget))
        return raise_window(self.scan_window)

    def open_finetune(self, device: str) -> FineTuneDialog:
        """One fine-tune dialog, re-shown when open; activating a new version reloads the models."""
        from .finetune_dialog import FineTuneDialog

        if self.finetune_dialog is None:
            self.finetune_dialog = FineTuneDialog(store=self.store, parent=self.owner, device=device)
            self.finetune_dialog.activeModelsChanged.connect(self.activeModelsChanged)
            self._link_model_windows()
        return raise_window(self.finetune_dialog)

    def open_review(self, device: str, task: str | None = None) -> ReviewWindow:
        """The review window (one; a new queue replaces the one shown); its fine-tune button opens the
        fine-tune dialog here. ``task``: the models it shows when the queue's are not installed."""
        from .review_window import ReviewWindow

        if self.review_window is None or self.review_window.closed:
            self.review_window = ReviewWindow(self.store, device, task, lambda: self.open_finetune(device), self.owner)
        return raise_window(self.review_window)

    def open_models_page(self) -> ModelsPage:
        """One Models page, re-shown (and re-read) when open."""
        from .models_page import ModelsPage

        if self.models_page is None:
            self.models_page = ModelsPage(store=self.store, parent=self.owner)
            self.models_page.activeModelsChanged.connect(self.activeModelsChanged)
            self._link_model_windows()
        else:
            self.models_page.refresh()
        return raise_window(self.models_page)

    def open_intake(self) -> Intake:
        """Settings → DICOM node… / File → Watch folder…: the main window's inbox and its controls."""
        from .intake import Intake

        if self.intake is None:
            self.intake = Intake(self.owner)
            self.intake.openRequested.connect(self.openRequested)
        return self.intake

    def _link_model_windows(self) -> None:
        """Once both exist: a saved version shows on the page, the page's changes in the dialog's list."""
        if self.finetune_dialog is not None and self.models_page is not None:
            self.finetune_dialog.versionSaved.connect(lambda _id: self.models_page.refresh())
            self.models_page.activeModelsChanged.connect(self.finetune_dialog.refresh_models)

    def shutdown(self) -> None:
        """Cancel their jobs, join their threads and close them."""
        if self.scan_window is not None:
            self.scan_window.shutdown()  # cancels a running scan, joins its lane
        if self.intake is not None:
            self.intake.shutdown()
        for child in (self.finetune_dialog, self.models_page, self.review_window):
            if child is not None:
                child.shutdown()
                child.close()
