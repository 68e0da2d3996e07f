"""File → Scan folder…: a non-modal window that scans folders with the active task's models.

The scan runs in a ``JobRunner`` lane of its own ("scan") as ``jobs.scan.run_scan``: the core
audited scan, so every row shown here is in the audit trail. Rows arrive one batch per event and
go into the results panel (``scan_results.ScanResultsPanel``: filters, sortable table) with one
insert per batch. Double-clicking a row emits ``openRequested(path)`` (the main window opens the
image in its viewer). The exports (CSV, anonymised DICOM copies) are ``scan_exports.ScanExports``
jobs on the same lane, DICOM results (export, or written while scanning) ``scan_dicom``'s.

Cancel stops the scan before its next batch and keeps the rows so far; closing the window
cancels the scan and joins the lane's thread. The table holds nothing the CSV does not: path,
model, status, error, label and probabilities.
"""
from __future__ import annotations

import logging
import os
import threading
from typing import Sequence

from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt, Signal, Slot
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QFileDialog, QHBoxLayout, QLabel, QListView,
                               QProgressBar, QPushButton, QTreeView, QVBoxLayout, QWidget)

from .i18n import translate
from . import dialogs
from .core_text import core_text, family_name, task_title
from .guard import gui_only
from .job_host import JobHost
from .jobs.scan import DEFAULT_BATCH_SIZE, DicomWritten, ScanBatch, ScanStarted, csv_functions, run_scan
from .scan_dicom import ScanDicomResults
from .scan_exports import ScanExports, file_dialog, open_csv_dialog, open_folder_dialog
from .scan_results import ScanResultsPanel, duration_text, summary_text
from .scan_table import table_columns
from .style import NOTICE_TEXT
from .window_size import resize_to_fit
from .workers import Job

log = logging.getLogger(__name__)

ERROR_TITLES = {"scan": QT_TRANSLATE_NOOP("ScanWindow", "Scan failed"), "export csv": QT_TRANSLATE_NOOP("ScanWindow", "Could not export the CSV"), "anonymised export": QT_TRANSLATE_NOOP("ScanWindow", "Anonymised export failed"),
                "DICOM export": QT_TRANSLATE_NOOP("ScanWindow", "DICOM export failed"), "": QT_TRANSLATE_NOOP("ScanWindow", "Failed")}  # by job name


class ScanWindow(QWidget):
    """Scan folders, watch the rows arrive, filter, sort, open a row, export CSV."""

    openRequested = Signal(str)  # a row was double-clicked: show this file in the main viewer
    scanProgress = Signal(object)  # core.jobs.Progress, each batch (and once when the files are known)
    scanFinished = Signal(str)  # the summary line (done, cancelled or failed)
    exportFinished = Signal(str)  # path written
    anonymizeFinished = Signal(str)  # the summary line of an anonymised export
    dicomExportFinished = Signal(str)  # the summary line of "Export DICOM results…"

    def __init__(self, info=None, settings=None, parent: QWidget | None = None,
                 batch_size: int = DEFAULT_BATCH_SIZE, workers: int | None = None) -> None:
        """``info``: the main window's ``jobs.viewer.SessionInfo`` (task, model cards, device); update it with
        :meth:`set_session`. ``settings``: ``qt.settings.Settings`` for the last folder (optional)."""
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle(self.tr("Scan folders — MedDiag Desktop"))
        self.settings = settings
        self.batch_size, self.workers = batch_size, workers
        self.info = None
        self._pending_info = None  # a session that arrived mid-scan, applied when it ends
        self.host = JobHost(self, on_error=self._on_job_error)
        self.runner = self.host.add_lane("scan")
        self.job: Job | None = None
        self.exports = ScanExports(self.host, "scan", self)
        self.exports.exported.connect(self._on_exported)
        self.exports.anonymized.connect(self._on_anonymized)
        self.exports.progressText.connect(lambda text: self.rate_label.setText(text))
        self.exports.busyChanged.connect(self._update_buttons)
        self.dicom = ScanDicomResults(self.host, "scan", self, self._last_folder)  # SR + SC, issue 16
        self.dicom.exported.connect(self._on_dicom_exported)
        self.dicom.progressText.connect(lambda text: self.rate_label.setText(text))
        self.dicom.busyChanged.connect(self._update_buttons)
        self.scan_id: str | None = None
        self.last_progress = None
        self.summary = ""
        self.scanned_cards: tuple = ()  # the cards of the scan whose rows are shown
        self.stop_event: threading.Event | None = None
        self.model_checks: dict[str, QCheckBox] = {}
        self._build()
        self.set_session(info)
        resize_to_fit(self, 1100, 700)

    # ================================================================== building
    def _build(self) -> None:
        notice = QLabel("⚠  " + translate("Style", NOTICE_TEXT))
        notice.setObjectName("noticeBanner")

        self.task_label = QLabel(self.tr("Task: –"))
        self.models_row = QHBoxLayout()
        self.models_row.setSpacing(10)
        self.recursive_check = QCheckBox(self.tr("Include sub-folders"))
        self.recursive_check.setChecked(True)
        self.recursive_check.setToolTip(self.tr("Also scan the folders inside the chosen folders"))
        self.scan_button = QPushButton(self.tr("Scan folders…"))
        self.scan_button.setToolTip(self.tr("Choose one or more folders and scan them with the ticked models"))
        self.scan_button.clicked.connect(self.choose_folders)
        options = QHBoxLayout()
        options.addWidget(self.task_label)
        options.addSpacing(12)
        options.addWidget(QLabel(self.tr("Models:")))
        options.addLayout(self.models_row)
        options.addStretch(1)
        options.addWidget(self.recursive_check)
        options.addWidget(self.dicom.option)
        options.addWidget(self.scan_button)

        # No animated busy bar (its repaints cost the GUI thread): a range of 0..1 until the total is known.
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("")
        self.progress_bar.setTextVisible(True)
        self.rate_label = QLabel("")
        self.rate_label.setMinimumWidth(190)
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.setToolTip(self.tr("Stop the scan after the current batch; the rows so far are kept"))
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_scan)
        progress = QHBoxLayout()
        progress.addWidget(self.progress_bar, 1)
        progress.addWidget(self.rate_label)
        progress.addWidget(self.cancel_button)

        self.results = ScanResultsPanel()
        self.results.openRequested.connect(self.openRequested)
        self.results.exportRequested.connect(self.choose_export_path)
        self.results.anonymizeRequested.connect(self.choose_anonymize_folder)
        self.results.dicomRequested.connect(lambda: open_folder_dialog(
            self, self.tr("Folder for the DICOM results"), self._last_folder(), self.export_dicom))
        self.results.rowsChanged.connect(self._update_buttons)

        self.summary_label = QLabel(self.tr("Choose folders to scan."))
        self.summary_label.setObjectName("scanSummary")
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 8)
        layout.addWidget(notice)
        for row in (options, progress):
            margins = QHBoxLayout()
            margins.setContentsMargins(10, 0, 10, 0)
            margins.addLayout(row)
            layout.addLayout(margins)
        layout.addWidget(self.results, 1)
        box = QHBoxLayout()
        box.setContentsMargins(10, 0, 10, 0)
        box.addWidget(self.summary_label)
        layout.addLayout(box)

    # ================================================================== models
    @Slot(object)
    @gui_only
    def set_session(self, info) -> None:
        """The main window's models (task, cards, device): the model check boxes follow them."""
        if self.scanning:
            self._pending_info = info
            return
        self.info, self._pending_info = info, None
        ticked = {cid for cid, check in self.model_checks.items() if check.isChecked()}
        while self.models_row.count():
            widget = self.models_row.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        self.model_checks = {}
        if info is None:
            self.task_label.setText(self.tr("Task: –"))
            self.models_row.addWidget(QLabel(self.tr("loading…")))
        else:
            title = task_title(info.task)
            self.task_label.setText(self.tr("Task: {title}").format(title=title))
            keep = bool(ticked & {c.id for c in info.cards})
            for card in info.cards:
                check = QCheckBox(family_name(card.config.arch))
                demo = self.tr(" - DEMO model, not diagnostic") if card.demo else ""
                check.setToolTip(f"{card.id} (v{card.version}){demo}")
                usable = card.id not in info.errors
                check.setEnabled(usable)
                check.setChecked(usable and (card.id in ticked if keep else True))
                check.toggled.connect(self._update_buttons)
                self.models_row.addWidget(check)
                self.model_checks[card.id] = check
            if not info.cards:
                self.models_row.addWidget(QLabel(self.tr("none installed")))
        self._update_buttons()

    def selected_cards(self) -> list:
        if self.info is None:
            return []
        return [c for c in self.info.cards if c.id in self.model_checks and self.model_checks[c.id].isChecked()]

    # ================================================================== scanning
    @property
    def scanning(self) -> bool:
        return self.job is not None and not self.job.done

    @property
    def exporting(self) -> bool:
        return self.exports.busy or self.dicom.busy

    @gui_only
    def choose_folders(self) -> QFileDialog | None:
        """Folder dialog (several folders may be picked); accepting it starts the scan."""
        if self.scanning or self.closed:
            return None
        dialog = file_dialog(self, self.tr("Scan folders"), self._last_folder(), folders=True)
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)  # native ones pick a single folder
        for view in dialog.findChildren(QListView) + dialog.findChildren(QTreeView):
            view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        dialog.filesSelected.connect(self.start_scan)
        dialog.open()  # window-modal, no nested event loop
        return dialog

    def _last_folder(self) -> str:
        return self.settings.last_folder if self.settings is not None else os.path.expanduser("~")

    @gui_only
    def start_scan(self, paths: Sequence, models: Sequence[str] | None = None,
                   recursive: bool | None = None) -> Job | None:
        """Scan ``paths`` (folders or files) with the ticked models (or the ``models`` ids); returns the job."""
        if self.closed:
            return None
        if self.scanning:
            self._set_summary(self.tr("A scan is running: cancel it first."))
            return None
        paths = [os.path.abspath(os.fspath(p)) for p in paths]
        if models is not None:
            for cid, check in self.model_checks.items():
                check.setChecked(cid in set(models))
        if recursive is not None:
            self.recursive_check.setChecked(bool(recursive))
        cards = self.selected_cards()
        problem = (self.tr("The models are still loading.") if self.info is None
                   else self.tr("Tick at least one model.") if not cards
                   else self.tr("No folder chosen.") if not paths
                   else None)
        missing = [p for p in paths if not os.path.exists(p)]
        if problem is None and missing:
            problem = self.tr("No such folder: {missing}").format(missing=missing[0])
        if problem is not None:
            self._report(self.tr("Cannot scan"), problem)
            return None
        if self.settings is not None:
            self.settings.last_folder = paths[0] if os.path.isdir(paths[0]) else os.path.dirname(paths[0])

        self.scanned_cards = tuple(cards)
        self.scan_id, self.last_progress, self.dicom.scan_written = None, None, None
        csv_columns, _ = csv_functions()
        shown = ", ".join(paths[:3]) + (self.tr(" and {value} more").format(value=len(paths) - 3) if len(paths) > 3 else "")
        self.results.reset(table_columns(csv_columns(cards)), [label for card in cards for label in card.labels],
                           self.tr("Folders: {shown}").format(shown=shown) + ("" if self.recursive_check.isChecked() else self.tr(" (sub-folders left out)")))
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat(self.tr("Finding files…"))
        self.rate_label.setText("")
        self._set_summary(self.tr("Loading {len} model(s)…").format(len=len(cards)))

        self.stop_event = threading.Event()
        job = Job(run_scan, self.stop_event, self.scanned_cards, self.info.device, paths, self.recursive_check.isChecked(),
                  self.batch_size, self.workers, self.dicom.scan_folder, name="scan", tag="scan")
        job.yielded.connect(self._on_scan_event)
        job.progressed.connect(self._on_job_progress)
        job.returned.connect(self._on_scan_returned)
        job.finished.connect(self._on_scan_finished)
        self.job = job
        self.host.submit("scan", job)
        log.info("scan started: %d root(s), %d model(s)", len(paths), len(cards))
        self._update_buttons()
        return job

    @Slot()
    @gui_only
    def cancel_scan(self) -> None:
        """Stop after the current batch; the rows so far stay (and are in the audit trail). Also
        stops a DICOM export before its next file."""
        self.dicom.cancel()
        if self.scanning and self.stop_event is not None and not self.stop_event.is_set():
            self.stop_event.set()
            self.cancel_button.setEnabled(False)
            self._set_summary(self.tr("Cancelling after the current batch…"))

    @Slot(object)
    @gui_only
    def _on_job_progress(self, progress) -> None:
        if progress.text and self.last_progress is None:
            self._set_summary(core_text(progress.text))

    @Slot(object)
    @gui_only
    def _on_scan_event(self, event) -> None:
        if isinstance(event, ScanStarted):
            self.scan_id = event.scan_id
            device = self.tr("CPU") if event.device == "cpu" else event.device.upper()
            self._set_summary(self.tr("Scanning with {len} model(s) on {device}…").format(len=len(event.models), device=device))
            return
        if isinstance(event, DicomWritten):
            self.dicom.scan_written = event
        if not isinstance(event, ScanBatch):
            return
        self.results.append(event.rows)
        progress = event.progress
        if progress is None:
            return
        self.last_progress = progress
        self.progress_bar.setRange(0, max(1, progress.total))
        self.progress_bar.setValue(progress.done)
        self.progress_bar.setFormat(self.tr("{done} / {total} files").format(done=progress.done, total=progress.total))
        if progress.done:
            self.rate_label.setText(self.tr("{rate:.1f} files/s · ETA {duration_text}").format(rate=progress.rate, duration_text=duration_text(progress.eta_s)))
        self.scanProgress.emit(progress)

    @Slot(object)
    @gui_only
    def _on_scan_returned(self, last) -> None:
        stopped = self.stop_event is not None and self.stop_event.is_set()
        last = last if last is not None else self.last_progress
        cancelled = stopped and (last is None or last.done < last.total)
        text = summary_text(last, cancelled)
        if self.scanned_cards and any(card.demo for card in self.scanned_cards):
            text += self.tr("  [DEMO model(s): not diagnostic]")
        if self.scan_id:
            text += self.tr("  (audit scan {scan_id})").format(scan_id=self.scan_id[:8])
        if self.dicom.scan_written is not None:
            text += f"\n{self.dicom.scan_written.summary}"
        if last is not None and not cancelled:
            self.progress_bar.setRange(0, max(1, last.total))
            self.progress_bar.setValue(last.total)
        self.rate_label.setText("")
        self._set_summary(text)
        log.info("scan finished: %s", text)

    @gui_only
    def _on_job_error(self, job: Job, error) -> None:
        if job.name == "scan":
            self.rate_label.setText("")
        self._report(translate("ScanWindow", ERROR_TITLES.get(job.name, "Failed")), error.message, error.details)

    @Slot()
    @gui_only
    def _on_scan_finished(self) -> None:
        job = self.job
        if job is not None and job.state == "cancelled" and not self.closed:
            self._set_summary(summary_text(self.last_progress, cancelled=True))
        if self.progress_bar.format() == self.tr("Finding files…"):
            self.progress_bar.setFormat("")
        self._update_buttons()
        if self._pending_info is not None:
            self.set_session(self._pending_info)
        self.scanFinished.emit(self.summary)

    # ================================================================== export
    def _can_export(self) -> bool:
        return not (self.scanning or self.exporting or self.closed or not self.results.results)

    @gui_only
    def choose_export_path(self) -> QFileDialog | None:
        if not self.results.export_button.isEnabled():
            return None
        return open_csv_dialog(self, self.tr("Export scan results"), os.path.join(self._last_folder(), "scan.csv"),
                               self.export_csv)

    @gui_only
    def export_csv(self, path) -> Job | None:
        """Write every row (scan order, the CLI's columns) to ``path`` atomically, in the scan lane."""
        if not self._can_export():
            return None
        return self.exports.export_csv(os.path.abspath(os.fspath(path)), self.scanned_cards, self.results.results)

    @gui_only
    def _on_exported(self, path: str, count: int) -> None:
        self.summary_label.setText(self.tr("{summary}\nExported {count} rows to {basename}.").format(summary=self.summary, count=count, basename=os.path.basename(path)))
        self.exportFinished.emit(path)

    @gui_only
    def choose_anonymize_folder(self) -> QFileDialog | None:
        if not self.results.anon_button.isEnabled():
            return None
        return open_folder_dialog(self, self.tr("Folder for the anonymised copies"), self._last_folder(), self.export_anonymized)

    @gui_only
    def export_anonymized(self, out_dir) -> Job | None:
        """De-identified copies of every scanned DICOM file (scan order) in ``out_dir``, in the lane."""
        if not self._can_export():
            return None
        return self.exports.export_anonymized(os.path.abspath(os.fspath(out_dir)), self.results.results)

    @gui_only
    def _on_anonymized(self, text: str) -> None:
        self.summary_label.setText(f"{self.summary}\n{text}")
        self.rate_label.setText("")
        self._update_buttons()
        self.anonymizeFinished.emit(text)

    @gui_only
    def export_dicom(self, out_dir) -> Job | None:
        """SR + heat-map captures of every scanned DICOM file (``core.dicom_results``) in ``out_dir``."""
        return self.dicom.export(os.path.abspath(os.fspath(out_dir)), self.scanned_cards, self.info.device,
                                 self.results.results) if self._can_export() else None

    @gui_only
    def _on_dicom_exported(self, text: str) -> None:
        self.summary_label.setText(f"{self.summary}\n{text}")
        dialogs.information(self, self.tr("DICOM results"), text)
        self.dicomExportFinished.emit(text)

    # ================================================================== state, errors, closing
    @Slot()
    @gui_only
    def _update_buttons(self, *_) -> None:
        busy = self.scanning
        self.scan_button.setEnabled(not busy and not self.exporting and self.info is not None
                                    and bool(self.selected_cards()))
        self.cancel_button.setEnabled(self.dicom.busy or busy and not (self.stop_event is not None
                                                                       and self.stop_event.is_set()))
        self.results.set_exports_enabled(not busy and not self.exporting and bool(self.results.results))
        broken = self.info.errors if self.info is not None else {}
        for card_id, check in self.model_checks.items():
            check.setEnabled(not busy and card_id not in broken)
        self.recursive_check.setEnabled(not busy)
        self.dicom.option.setEnabled(not busy)

    def _set_summary(self, text: str) -> None:
        self.summary = text
        self.summary_label.setText(text)

    def _report(self, title: str, message: str, details: str = "") -> None:
        log.warning("%s: %s", title, message)
        self._set_summary(f"{title}: {message}")
        if not self.closed:
            dialogs.error_box(self, title, message, details)

    @property
    def closed(self) -> bool:
        return self.host.closed

    def shutdown(self) -> None:
        """Cancel the scan (and an export) and join the lane's thread. Idempotent."""
        if self.stop_event is not None:
            self.stop_event.set()
        self.host.shutdown()
        self.hide()

    def closeEvent(self, event) -> None:
        self.hide()
        self.shutdown()
        event.accept()
