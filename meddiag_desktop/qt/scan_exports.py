"""The scan window's exports of its rows, one at a time, as jobs on the window's scan lane:

* the CSV: every row in scan order (the audit's ``row`` numbers), the CLI's columns, written atomically;
* anonymised DICOM copies: de-identified copies of the scanned DICOM files in a chosen folder
  (``core.anonymize``; non-DICOM files are skipped, text burned into the pixels is not removed).
"""
from __future__ import annotations

import logging
import os
from typing import Sequence

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QFileDialog, QWidget

from .job_host import JobHost
from .jobs.scan import anonymize, export_csv
from .workers import Job
from .core_text import core_text
from .i18n import translate

log = logging.getLogger(__name__)


def file_dialog(parent: QWidget, title: str, start: str, folders: bool = False) -> QFileDialog:
    """A window-modal file dialog that deletes itself on close (open() it after connecting)."""
    dialog = QFileDialog(parent, title, start)
    if folders:
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    return dialog


def open_folder_dialog(parent: QWidget, title: str, start: str, on_chosen) -> QFileDialog:
    """A folder dialog, opened; ``on_chosen(folder)`` runs when one is accepted."""
    dialog = file_dialog(parent, title, start, folders=True)
    dialog.fileSelected.connect(on_chosen)
    dialog.open()
    return dialog


def open_csv_dialog(parent: QWidget, title: str, start: str, on_chosen) -> QFileDialog:
    """A save dialog for a CSV file, opened; ``on_chosen(path)`` runs when one is accepted."""
    dialog = file_dialog(parent, title, start)
    dialog.setNameFilter(translate("ScanExports", "CSV files (*.csv)"))
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setDefaultSuffix("csv")
    dialog.fileSelected.connect(on_chosen)
    dialog.open()
    return dialog


def anonymized_summary(counts: dict[str, int], out_dir: str, cancelled: bool) -> str:
    head = translate("ScanExports", "Anonymised export cancelled") if cancelled else translate("ScanExports", "Anonymised export")
    return (translate("ScanExports", "{head}: {counts} de-identified copies in {out_dir}, {counts2} non-DICOM skipped, {counts3} errors. Text burned into the pixels is not removed.").format(head=head, counts=counts['ok'], out_dir=out_dir, counts2=counts['skipped'], counts3=counts['error']))


class ScanExports(QObject):
    exported = Signal(str, int)  # CSV path, rows written
    anonymized = Signal(str)  # the summary line
    progressText = Signal(str)  # the anonymised export's progress
    busyChanged = Signal()  # an export started or ended

    def __init__(self, host: JobHost, lane: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.host, self.lane = host, lane
        self.job: Job | None = None

    @property
    def busy(self) -> bool:
        return self.job is not None and not self.job.done

    def export_csv(self, path: str, cards: Sequence, rows: Sequence) -> Job:
        """Write ``rows`` (scan order, the CLI's columns for ``cards``) to ``path`` atomically."""
        job = Job(export_csv, path, tuple(cards), tuple(rows), name="export csv", tag="export")
        job.returned.connect(lambda count: self.exported.emit(path, count))
        return self._submit(job)

    def export_anonymized(self, out_dir: str, rows: Sequence) -> Job:
        """De-identified copies of every scanned file (scan order, once each) in ``out_dir``."""
        paths = list(dict.fromkeys(r.path for r in rows))
        counts = {"ok": 0, "skipped": 0, "error": 0}

        def on_result(result) -> None:
            counts[result.status] += 1
            if result.status == "error":
                log.warning("anonymised export: %s: %s", os.path.basename(result.source), result.error)

        job = Job(anonymize, paths, out_dir, name="anonymised export", tag="export")
        job.yielded.connect(on_result)
        job.progressed.connect(lambda progress: self.progressText.emit(core_text(progress.text)))
        job.finished.connect(
            lambda: self.anonymized.emit(anonymized_summary(counts, out_dir, job.state == "cancelled")))
        return self._submit(job)

    def _submit(self, job: Job) -> Job:
        job.finished.connect(self.busyChanged)
        self.job = job
        self.host.submit(self.lane, job)
        self.busyChanged.emit()
        return job
