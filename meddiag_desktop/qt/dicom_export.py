"""File → Export DICOM results…: the current image's results as DICOM objects in its own study
(``core.dicom_results``): a structured report of every model's result and a secondary capture
of the model chosen in the panel, with the heat-map method chosen there (its family's default
when none is chosen), written into a folder as ``<SOPInstanceUID>.dcm``.

The objects are made on the models lane (the predictors live there); the outcome is one message:
what was written, or the reason nothing could be (a PNG: "DICOM results need a DICOM input").
"""
from __future__ import annotations

import os

from .jobs import viewer as jobs
from .report import can_export
from .viewer_cache import PredictionFailure
from .workers import Job
from .i18n import translate

PRIORITY = 45  # after the image's own predictions, before background prefetch


def chosen_captures(window) -> dict[str, str | None] | None:
    """Model id -> heat-map method of the capture: the panel's choice; None (every model) without one."""
    choice = window.panel.explain_choice() if window.panel is not None else None
    return {choice[0]: choice[1]} if choice else None


def export_dicom(window, out_dir: str) -> Job | None:
    """Write the current image's DICOM results into ``out_dir`` (models lane); returns the Job,
    None when no prediction of the image is ready."""
    if not can_export(window):
        return None
    path, info = window.current, window.info
    results = [window.cache.results.get((path, card.id)) for card in info.cards]
    results = [r for r in results if r is not None and not isinstance(r, PredictionFailure)]
    job = Job(jobs.export_dicom, window.session.model_session, path, tuple(results), chosen_captures(window),
              os.fspath(out_dir), name="DICOM export", tag="dicom")
    job.returned.connect(lambda outputs: _done(window, outputs))
    return window.host.submit("models", job, PRIORITY)  # errors: the window's job error handler


def _done(window, outputs) -> None:
    from meddiag_desktop.core.dicom_results.writer import describe

    from . import dialogs

    text = describe(outputs)
    if outputs and all(o.ok for o in outputs):
        window.statusBar().showMessage(translate("DicomExport", "{text} in {dirname}").format(text=text, dirname=os.path.dirname(outputs[0].path)), 8000)
    else:  # a reason: show it
        dialogs.information(window, translate("DicomExport", "DICOM results"), f"{os.path.basename(outputs[0].source)}: {text}")
    window.dicomExported.emit(list(outputs))


def export_dicom_dialog(window) -> None:
    from PySide6.QtWidgets import QFileDialog

    if not can_export(window):
        return
    folder = QFileDialog.getExistingDirectory(window, translate("DicomExport", "Folder for the DICOM results"),
                                              window.settings.last_folder or os.path.expanduser("~"))
    if folder:
        export_dicom(window, folder)
