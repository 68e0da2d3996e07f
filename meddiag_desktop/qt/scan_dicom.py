"""The scan window's DICOM results (``core.dicom_results``: an SR and secondary captures per DICOM
file, in its study, named by SOP Instance UID):

* "Export DICOM results…" writes them for every scanned file, as a job on the scan window's lane
  (progress, Cancel between files; each file written atomically, so a cancel leaves complete
  files only) and ends with one summary message (non-DICOM files: "DICOM results need a DICOM
  input");
* the "Write DICOM results while scanning" option gives the scan job a folder: the audited scan's
  events pass through the writer, as with ``meddiag scan --dicom-out``.
"""
from __future__ import annotations

import logging
import os
from typing import Callable, Sequence

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QCheckBox, QWidget

from .job_host import JobHost
from .jobs import scan as jobs
from .scan_exports import file_dialog
from .workers import Job
from .core_text import core_text
from .i18n import translate

log = logging.getLogger(__name__)


def export_summary(outputs: Sequence, out_dir: str, files: int, cancelled: bool) -> str:
    from meddiag_desktop.core.dicom_results.writer import summarize

    head = translate("ScanDicom", "DICOM export cancelled after {files} file(s)").format(files=files) if cancelled else translate("ScanDicom", "DICOM export of {files} file(s)").format(files=files)
    return f"{head}: {summarize(outputs, out_dir)}."


class ScanDicomResults(QObject):
    exported = Signal(str)  # the summary line of an export
    progressText = Signal(str)
    busyChanged = Signal()  # an export started or ended

    def __init__(self, host: JobHost, lane: str, parent: QWidget, start_folder: Callable[[], str]) -> None:
        super().__init__(parent)
        self.host, self.lane, self.parent_widget, self.start_folder = host, lane, parent, start_folder
        self.job: Job | None = None
        self.scan_folder: str | None = None  # where the scan writes them; None: it does not
        self.scan_written = None  # jobs.scan.DicomWritten: what the last scan wrote
        self.option = QCheckBox(self.tr("Write DICOM results"))
        self.option.setToolTip(self.tr("While scanning, also write a DICOM structured report and secondary captures "
                               "for every DICOM file into a folder (chosen when ticked)"))
        self.option.toggled.connect(self._on_option_toggled)

    @property
    def busy(self) -> bool:
        return self.job is not None and not self.job.done

    # ------------------------------------------------------------------ while scanning
    def set_scan_folder(self, folder: str | None) -> None:
        """Write DICOM results into ``folder`` while scanning (None: do not)."""
        self.scan_folder = os.path.abspath(os.fspath(folder)) if folder else None
        self.option.blockSignals(True)
        self.option.setChecked(self.scan_folder is not None)
        self.option.blockSignals(False)
        self.option.setText(self.tr("Write DICOM results") + (self.tr(" to {value}").format(value=os.path.basename(self.scan_folder) or self.scan_folder)
                                                     if self.scan_folder else ""))

    def _on_option_toggled(self, checked: bool) -> None:
        if not checked:
            self.set_scan_folder(None)
            return
        dialog = file_dialog(self.parent_widget, self.tr("Folder for the DICOM results"), self.start_folder(), folders=True)
        dialog.fileSelected.connect(self.set_scan_folder)
        dialog.rejected.connect(lambda: self.set_scan_folder(None))
        dialog.open()

    # ------------------------------------------------------------------ export for all rows
    def export(self, out_dir: str, cards: Sequence, device: str, rows: Sequence) -> Job:
        """SR + captures of every scanned file (scan order, once each) in ``out_dir``."""
        os.makedirs(out_dir, exist_ok=True)
        outputs: list = []
        files = [0]

        def on_file(file_outputs) -> None:
            files[0] += 1
            outputs.extend(file_outputs)
            for output in file_outputs:
                if not output.ok:
                    log.info("DICOM export: %s: %s", os.path.basename(output.source), output.error)

        job = Job(jobs.export_dicom, tuple(cards), device, tuple(rows), out_dir, name="DICOM export", tag="export")
        job.yielded.connect(on_file)
        job.progressed.connect(lambda progress: self.progressText.emit(core_text(progress.text)))
        job.finished.connect(lambda: job.state == "errored" or self.exported.emit(
            export_summary(outputs, out_dir, files[0], job.state == "cancelled")))
        job.finished.connect(lambda: self.progressText.emit(""))
        job.finished.connect(self.busyChanged)
        self.job = job
        self.host.submit(self.lane, job)
        self.busyChanged.emit()
        return job

    def cancel(self) -> None:
        """Stop the export before its next file."""
        if self.busy:
            self.job.cancel()
