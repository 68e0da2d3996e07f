"""File → Export report…: one A4 PDF page per case (QTextDocument HTML -> QPdfWriter, no extra dependency).

Content comes from ``core.report`` (Qt-free): the image, the heat-map overlay (when one is computed
for the current image), every model's probabilities, decision at its operating point and OOD status,
model versions + sha256, the input's sha256, the date and the decision-support notice. The image is
re-read and hashed in the window's io lane; the PDF is drawn in the GUI thread (a few ms) into memory
and written atomically.
"""
from __future__ import annotations

import html
import os

import numpy as np
from PySide6.QtCore import QT_TRANSLATE_NOOP, QBuffer, QByteArray, QIODevice, QMarginsF, Qt, QUrl
from PySide6.QtGui import QImage, QPageLayout, QPageSize, QPdfWriter, QTextDocument
from .i18n import translate

_IMAGE_PX = 600  # pixels of the embedded images on their long side
_SHOWN_PX = 270  # their long side on the page, in document pixels (1/96 inch): two fit side by side


# ----------------------------------------------------------------------------- images
def _rgb8(array: np.ndarray) -> np.ndarray:
    grey = np.clip(np.asarray(array, np.float32), 0.0, 1.0)
    rgb = grey if grey.ndim == 3 else np.repeat(grey[..., None], 3, axis=2)
    return np.round(255 * rgb[..., :3]).astype(np.uint8)


def overlay_rgb(array: np.ndarray, heatmap: np.ndarray, opacity: float = 0.5) -> np.ndarray:
    """The image with the heat-map blended on top, with the viewer's colour map and alpha ramp."""
    from .image_view import heat_lookup_table

    lut = heat_lookup_table().astype(np.float32)
    colours = lut[np.round(255 * np.clip(heatmap, 0.0, 1.0)).astype(np.intp)]
    alpha = colours[..., 3:] / 255.0 * float(opacity)
    return np.round(_rgb8(array) * (1 - alpha) + colours[..., :3] * alpha).astype(np.uint8)


def to_qimage(rgb: np.ndarray) -> QImage:
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()  # own the pixels
    mode = Qt.TransformationMode.FastTransformation if max(h, w) < 128 else Qt.TransformationMode.SmoothTransformation
    return image.scaled(_IMAGE_PX, _IMAGE_PX, Qt.AspectRatioMode.KeepAspectRatio, mode)


# ----------------------------------------------------------------------------- HTML and PDF
def _e(text) -> str:
    return html.escape(str(text))


def report_html(report, with_heatmap: bool, size: tuple[int, int] = (_SHOWN_PX, _SHOWN_PX)) -> str:
    """``size``: (width, height) of each image on the page. In the window's language: core's English
    texts (notice, decisions, OOD check, image facts) go through ``core_text``."""
    from .core_text import core_text, family_name, label_name, number, task_title

    image = ", ".join(core_text(part) for part in report.image.split(", "))
    rows_image = translate("Report", "Image")
    rows = "".join(f"<tr><td><b>{_e(k)}</b></td><td>{_e(v)}</td></tr>" for k, v in (
        (translate("Report", "Date"), report.created), (translate("Report", "Task"), task_title(report.task)), (translate("Report", "Image"), image),
        (translate("Report", "Input sha256"), report.input_sha256), (translate("Report", "Software"), f"MedDiag Desktop {report.app_version}")))
    img = '<img src="report://{}" width="%d" height="%d"/>' % size
    images = f'<td>{img.format("image")}<br/>{_e(rows_image)}</td>'
    if with_heatmap:
        images += f'<td width="{size[0]}">{img.format("heatmap")}<br/>{_e(report.heatmap)}</td>'
    models = ""
    for m in report.models:
        probs = ", ".join(f"{_e(label_name(k))} {number(v, 3)}" for k, v in m.probabilities) or _e(
            core_text(m.error) or "–")
        demo = " <b>[" + _e(translate("Report", "DEMO model: not diagnostic")) + "]</b>" if m.demo else ""
        version = translate("Report", "{family}, version {version}").format(family=family_name(m.family), version=m.version)
        models += (f"<tr><td><b>{_e(m.model_id)}</b>{demo}<br/>{_e(version)}</td><td>{probs}</td>"
                   f"<td>{_e(core_text(m.decision) or '–')}</td><td>{_e(core_text(m.ood))}</td></tr>")
    unknown = translate("Report", "unknown")
    hashes = "".join(f"<tr><td>{_e(m.model_id)}</td><td><tt>{_e(m.sha256 or unknown)}</tt></td></tr>"
                     for m in report.models)
    heads = "".join(f"<th>{_e(translate('Report', h))}</th>" for h in (QT_TRANSLATE_NOOP("Report", "Model"), QT_TRANSLATE_NOOP(
        "Report", "Probabilities"), QT_TRANSLATE_NOOP("Report", "Decision at operating point"),
        QT_TRANSLATE_NOOP("Report", "Out-of-distribution check")))
    notice = _e(core_text(report.notice))
    title, predictions = translate("Report", "MedDiag Desktop — case report"), translate("Report", "Model predictions")
    weights = translate("Report", "Model weights (sha256)")
    return f"""<html><body style="font-size:9pt">
<h2>{_e(title)}</h2>
<p style="color:#a00000; border:1px solid #a00000"><b>{notice}</b></p>
<table cellpadding="2">{rows}</table>
<table cellpadding="4"><tr>{images}</tr></table>
<h3>{_e(predictions)}</h3>
<table border="1" cellspacing="0" cellpadding="3" width="100%">
<tr>{heads}</tr>
{models}</table>
<h3>{_e(weights)}</h3>
<table cellpadding="2">{hashes}</table>
<p style="color:#a00000"><b>{notice}</b></p>
</body></html>"""


def render_pdf(report, image: np.ndarray, heatmap: np.ndarray | None = None, opacity: float = 0.5) -> bytes:
    """The report as PDF bytes (A4). ``image``: ``LoadedImage.array``; ``heatmap``: same (H, W) or None."""
    from .. import __version__

    with_heatmap = heatmap is not None and report.heatmap is not None
    picture = to_qimage(_rgb8(image))
    doc = QTextDocument()
    doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl("report://image"), picture)
    if with_heatmap:
        doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl("report://heatmap"),
                        to_qimage(overlay_rgb(image, heatmap, opacity)))
    scale = _SHOWN_PX / max(picture.width(), picture.height())
    doc.setHtml(report_html(report, with_heatmap, (round(picture.width() * scale), round(picture.height() * scale))))
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buffer)
    writer.setTitle("MedDiag Desktop case report")  # metadata: no file name, no patient data
    writer.setCreator(f"MedDiag Desktop {__version__}")
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait,
                                     QMarginsF(0, 0, 0, 0), QPageLayout.Unit.Millimeter))  # print_ adds 2 cm
    doc.print_(writer)
    del writer  # finishes the PDF
    buffer.close()
    return bytes(data.data())


def write_pdf(path: str | os.PathLike, report, image, heatmap=None, opacity: float = 0.5) -> None:
    from meddiag_desktop.core.atomic import atomic_write_bytes

    atomic_write_bytes(path, render_pdf(report, image, heatmap, opacity))


# ----------------------------------------------------------------------------- main window glue
def collect(progress, cancel, path: str, cards, results: dict, task, heatmap_caption):
    """Job (io lane): re-read the image and hash it; returns (CaseReport, LoadedImage)."""
    from meddiag_desktop.core.io import load_image
    from meddiag_desktop.core.report import build_report

    progress(0, None, "Preparing the report…")
    loaded = load_image(path)
    return build_report(path, loaded.meta, cards, results, task, heatmap_caption), loaded


def can_export(window) -> bool:
    """An image is shown and at least one model has predicted it."""
    path, info = window.current, window.info
    if not path or info is None:
        return False
    return window.cache.has_prediction(path, [c.id for c in info.cards])


def _heatmap(window):
    """(heat-map array, caption) of the model and method chosen in the panel, if computed."""
    from .core_text import label_name, method_name

    choice = window.panel.explain_choice() if window.panel is not None else None
    heat = window.cache.heatmaps.get((window.current, *choice)) if choice else None
    if heat is None:
        return None, None
    return heat.heatmap, translate("Report", "{method_name} of {model} for “{target_label}”").format(
        method_name=method_name(heat.method), model=heat.model, target_label=label_name(heat.target_label))


def export_report(window, out_path: str):
    """Write the current image's report to ``out_path`` (io lane, then GUI thread); returns the Job."""
    from .viewer_cache import PredictionFailure
    from .workers import Job

    if not can_export(window):
        return None
    path, info = window.current, window.info
    results = {}  # card id -> core.inference.Result, the failure's text, or None
    for card in info.cards:
        result = window.cache.results.get((path, card.id))
        results[card.id] = result.text if isinstance(result, PredictionFailure) else result
    heat, caption = _heatmap(window)
    job = Job(collect, path, info.cards, results, info.task, caption, name="report", tag="report")

    def done(value) -> None:
        report, loaded = value
        try:
            write_pdf(out_path, report, loaded.array, heat, window.overlay_opacity)
        except OSError as exc:
            window.report_error(translate("Report", "Could not write the report"), f"{out_path}: {exc.strerror or exc}")
            return
        window.statusBar().showMessage(translate("Report", "Report saved to {basename}").format(basename=os.path.basename(out_path)), 5000)
        window.reportExported.emit(out_path)

    job.returned.connect(done)
    return window.host.submit("io", job, 5)  # errors: the window's job error handler


def export_report_dialog(window):
    from PySide6.QtWidgets import QFileDialog

    if not can_export(window):
        return
    start = os.path.join(window.settings.last_folder or os.path.expanduser("~"), "meddiag-report.pdf")
    out, _ = QFileDialog.getSaveFileName(window, translate("Report", "Export report"), start, translate("Report", "PDF files (*.pdf)"))
    if out:
        export_report(window, out if out.lower().endswith(".pdf") else out + ".pdf")
