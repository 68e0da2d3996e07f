"""Measures the real window at one display scale; run by test_high_dpi.py in a fresh process under
QT_SCALE_FACTOR (a scale is fixed per process) on a 1366 x 768 logical offscreen screen.

    python tests/qt/hidpi_probe.py OUT.json

Prints nothing on success but the JSON file: the screen, each window's frame and minimum size, the
image view's device resolution, edge sharpness and heat-map alignment, painted texts and bars, icons.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np


def rgb(pixmap) -> np.ndarray:
    """uint8 (H, W, 3) of a pixmap, in device pixels."""
    from PySide6.QtGui import QImage

    image = pixmap.toImage().convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, : 3 * image.width()].reshape(image.height(), image.width(), 3).copy()


def bbox(mask: np.ndarray) -> list[int]:
    """[top, left, bottom, right] (inclusive) of a boolean mask."""
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    return [int(rows[0]), int(cols[0]), int(rows[-1]), int(cols[-1])] if rows.size else []


def synthetic_image():
    """64 x 64 grey image, black with a white 16 x 16 square, and a heat-map hot on the same square."""
    from meddiag_desktop.core.io.image import ImageMeta, LoadedImage

    array = np.zeros((64, 64), np.float32)
    array[16:32, 40:56] = 1.0
    meta = ImageMeta(format="png", width=64, height=64, channels=1, bit_depth=8)
    return LoadedImage(array=array, raw=array * 255, meta=meta), array.copy()


def image_view_figures(viewer) -> dict:
    loaded, heat = synthetic_image()
    viewer.set_image(loaded)
    viewer.set_overlay_enabled(False)
    viewer.set_heatmap(heat, key=("synthetic", "cnn", "gradcam"))
    wait(0.2)
    plain = viewer.graphics.grab()
    viewer.set_overlay_opacity(1.0)
    viewer.set_overlay_enabled(True)
    wait(0.2)
    overlaid = rgb(viewer.graphics.grab())
    pixels = rgb(plain).astype(int)
    white = (pixels > 235).all(-1)
    middle = (bbox(white)[0] + bbox(white)[2]) // 2
    row = pixels[middle].mean(-1)
    red = (overlaid[..., 0].astype(int) - overlaid[..., 2].astype(int)) > 60  # turbo at 1.0: dark red
    return {"legend": legend_figures(viewer.legend),
            "grab_size": [plain.width(), plain.height()], "grab_dpr": plain.devicePixelRatio(),
            "logical_size": [viewer.graphics.width(), viewer.graphics.height()],
            "viewport_dpr": viewer.graphics.viewport().devicePixelRatioF(),
            "square_px": bbox(white), "heat_px": bbox(red),
            "edge_grey_px": int(((row > 30) & (row < 225)).sum())}  # half-tones across the square's row


def legend_figures(legend) -> dict:
    """The heat-map legend: its grab's pixel ratio and size, and how far its bar's device pixels are from the
    lookup table computed at device width (a bar painted at 1x and scaled up would be far off)."""
    from meddiag_desktop.qt.heat_legend import bar_pixels
    from meddiag_desktop.qt.image_view import heat_lookup_table

    grab = legend.grab()
    dpr = grab.devicePixelRatio()
    rect = legend.bar_rect
    width, height = round(rect.width() * dpr), round(rect.height() * dpr)
    left, top = round(rect.left() * dpr), round(rect.top() * dpr)
    shown = rgb(grab)[top + 1: top + height - 1, left + 1: left + width - 1].astype(int)
    expected = bar_pixels(heat_lookup_table(), legend.opacity(), width, height)[1:-1].astype(int)
    diffs = [int(np.abs(shown - expected[:, 1 + shift: width - 1 + shift]).max()) for shift in (-1, 0, 1)]
    metrics = legend.fontMetrics()
    return {"visible": legend.isVisible(), "grab_dpr": dpr, "grab_size": [grab.width(), grab.height()],
            "logical_size": [legend.width(), legend.height()], "bar_diff": min(diffs),
            "label_height": metrics.height(), "caption": legend.caption(),
            "labels_fit": rect.right() + 4 + metrics.horizontalAdvance(legend.tr("high")) <= legend.width()}


def painted_figures(window) -> dict:
    from PySide6.QtCore import Qt

    from meddiag_desktop.qt.painted_text import PaintedText, ProbabilityBar
    from meddiag_desktop.qt.style import colours

    texts = []
    for widget in window.panel.findChildren(PaintedText):
        text, rect, metrics = widget.text(), widget.contentsRect(), widget.fontMetrics()
        if not widget.isVisible() or not text:
            continue
        needed = metrics.boundingRect(rect, int(Qt.TextFlag.TextWordWrap), text)
        widest = max(metrics.horizontalAdvance(line) for line in text.split("\n"))
        lines_height = text.count("\n") * metrics.lineSpacing() + metrics.height()
        texts.append({"name": widget.objectName(), "text": text, "box": [rect.width(), rect.height()],
                      "wrapped_height": needed.height(), "lines_height": lines_height, "widest": widest,
                      "wrap": widget.wordWrap()})
    bars = []
    fill = np.array([int(colours().bar_fill[i:i + 2], 16) for i in (1, 3, 5)])
    for bar in window.panel.findChildren(ProbabilityBar):
        if bar.isVisible():
            pixels = rgb(bar.grab()).astype(int)
            filled = (np.abs(pixels[pixels.shape[0] // 2] - fill).sum(-1) < 40).mean()
            bars.append({"value": bar.value(), "filled": float(filled), "size": [bar.width(), bar.height()],
                         "device_height": pixels.shape[0]})
    return {"texts": texts, "bars": bars}


def icon_figures(window, app) -> dict:
    lists = window.file_list
    sizes = []
    for row in range(lists.count()):
        icon = lists.item(row).icon()
        sizes.append(max(s.width() for s in icon.availableSizes()))
    return {"list_icon_px": lists.iconSize().width(), "list_icon_sources": sizes,
            "window_icon_sources": [s.width() for s in app.windowIcon().availableSizes()]}


def curves_figures() -> dict:
    """The fine-tune curves paint their axes, legend and title from a device-coordinate pixmap cache:
    the same pixels as without the cache (no cache made at 1x and scaled up)."""
    from PySide6.QtWidgets import QGraphicsItem

    from meddiag_desktop.qt.training_curves import TrainingCurves

    curves = TrainingCurves()
    curves.resize(640, 480)
    curves.show()
    curves.add_steps(np.linspace(0.1, 2.0, 20), np.linspace(1.0, 0.3, 20))
    curves.add_epoch(1.0, 0.5, {"accuracy": 0.8, "auc": 0.85}, is_best=True)
    curves.flush()
    wait(0.3)
    cached = curves.loss_plot.grab()
    items = curves.loss_plot.getPlotItem().items + curves.loss_plot.scene().items()
    for item in items:
        item.setCacheMode(QGraphicsItem.CacheMode.NoCache)
    wait(0.3)
    plain = curves.loss_plot.grab()
    curves.close()
    differing = int((np.abs(rgb(cached).astype(int) - rgb(plain).astype(int)).sum(-1) > 24).sum())
    return {"grab_dpr": cached.devicePixelRatio(), "cache_diff_px": differing}


def window_figures(window) -> dict:
    frame, minimum = window.frameGeometry(), window.minimumSizeHint().expandedTo(window.minimumSize())
    return {"frame": [frame.x(), frame.y(), frame.width(), frame.height()],
            "minimum": [minimum.width(), minimum.height()]}


def wait(seconds: float, until=lambda: False) -> bool:
    from meddiag_desktop.qt.self_test import wait_for

    return wait_for(until, seconds)


def main(out: str) -> int:
    home = Path(tempfile.mkdtemp(prefix="meddiag-hidpi-"))
    os.environ["MEDDIAG_HOME"] = str(home)
    from meddiag_desktop.core.paths import resource_path, shipped_weights_dir, user_models_dir
    from meddiag_desktop.qt import dialogs
    from meddiag_desktop.qt.app import create_application
    from meddiag_desktop.qt.main_window import MainWindow
    from meddiag_desktop.qt.self_test import shipped_models_missing
    from meddiag_desktop.qt.settings import Settings

    if shipped_models_missing(shipped_weights_dir(), "pneumonia"):  # demo models: shorter texts, still a check
        from testkit import save_demo_models

        save_demo_models(user_models_dir(), task="pneumonia", labels=("normal", "pneumonia"), threshold=0.5,
                         positive_label="pneumonia")
    app = create_application()
    screen = app.primaryScreen()
    figures: dict = {"dpr": screen.devicePixelRatio(), "screen": list(screen.availableGeometry().getRect())}
    with dialogs.unattended():
        window = MainWindow(settings=Settings(home / "s.ini"), device="cpu", task="pneumonia")
        window.show()
        window.start()
        if not wait(300, lambda: window.info is not None and window.viewer is not None):
            raise SystemExit("models did not load")
        sample = str(resource_path("samples", "chest_xray_pneumonia_val0.png"))
        window.set_overlay_enabled(True)
        window.open_files([sample])
        if not wait(300, lambda: window.predictions_complete(sample) and window.viewer.overlay_shown()):
            raise SystemExit("no predictions")
        wait(0.3)
        figures.update(painted_figures(window), icons=icon_figures(window, app))
        foreign = str(resource_path("samples", "breast_ultrasound_malignant_val0.png"))
        window.open_files([foreign])  # refused by the chest X-ray models: the longest texts (what to do next)
        if not wait(300, lambda: window.predictions_complete(foreign)):
            raise SystemExit("no predictions")
        wait(0.3)
        figures["refused_texts"] = painted_figures(window)["texts"]
        figures["image_view"] = image_view_figures(window.viewer)
        figures["curves"] = curves_figures()
        others = {"scan": window.open_scan_window(), "fine_tune": window.open_finetune(),
                  "review": window.child_windows.open_review(window.device_choice, window.task_choice),
                  "models": window.open_models_page()}
        wait(1.0)
        figures["windows"] = {name: window_figures(w) for name, w in {"main": window, **others}.items()}
        app.closeAllWindows()
        window.shutdown()
    Path(out).write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
