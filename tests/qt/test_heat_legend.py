"""The heat-map legend (issue 20, item 1): shown with the overlay only, painted from the overlay's own lookup
table as the overlay looks over the image, naming the class and method, readable in both themes, in zh_CN,
and cheap per image (no relayout, no repaint of its pixmap when nothing about it changed)."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QObject, QPointF
from PySide6.QtGui import QAccessible, QImage

from meddiag_desktop.core.io.image import ImageMeta, LoadedImage
from meddiag_desktop.core.paths import resource_path
from meddiag_desktop.qt.a11y import accessible_name
from meddiag_desktop.qt.image_view import ImageViewer, heat_lookup_table
from meddiag_desktop.qt.style import IMAGE_BACKGROUND, apply_theme, contrast_ratio

from i18nkit import english_words, language

CHEST = str(resource_path("samples", "chest_xray_pneumonia_val0.png"))
CHEST_2 = str(resource_path("samples", "chest_xray_normal_val3.png"))
WAIT = 60_000
DARK_GREY, BRIGHT_GREY = 64, 192  # what the legend's bar is composited over, top and bottom half


def rgb(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, : 3 * image.width()].reshape(image.height(), image.width(), 3).astype(int)


def over(grey: float, index: int, opacity: float) -> np.ndarray:
    """Colour-table entry ``index`` at ``opacity`` over ``grey``: straight alpha compositing."""
    lut = heat_lookup_table().astype(float)
    alpha = lut[index, 3] / 255 * opacity
    return lut[index, :3] * alpha + grey * (1 - alpha)


def grey_image(rows: list[int], width: int) -> LoadedImage:
    raw = np.repeat(np.array(rows, np.float32)[:, None], width, axis=1)
    meta = ImageMeta(format="png", width=width, height=len(rows), channels=1, bit_depth=8)
    return LoadedImage(array=raw / 255, raw=raw, meta=meta)


@pytest.fixture
def viewer(qtbot):
    viewer = ImageViewer()
    qtbot.addWidget(viewer)
    viewer.resize(800, 400)
    viewer.show()
    qtbot.waitExposed(viewer)
    return viewer


def legend_bar(legend) -> tuple[np.ndarray, np.ndarray]:
    """Device pixels of the bar's top and bottom halves (the middle row of each), from a grab of the legend."""
    grab = legend.grab()
    dpr = grab.devicePixelRatio()
    pixels = rgb(grab.toImage())
    rect = legend.bar_rect
    left, right = round(rect.left() * dpr), round((rect.left() + rect.width()) * dpr)
    top, height = round(rect.top() * dpr), round(rect.height() * dpr)
    return pixels[top + height // 4, left:right], pixels[top + (3 * height) // 4, left:right]


# ----------------------------------------------------------------------------- pixels
def test_the_bar_is_the_overlays_lookup_table_composited_as_over_the_image(viewer, qtbot):
    """Each column of the bar is the overlay's colour-table entry (alpha ramp included) at the overlay's
    opacity over dark / bright grey; the real overlay over the same greys gives the same colours."""
    opacity, columns = 0.6, 8
    viewer.set_image(grey_image([DARK_GREY, BRIGHT_GREY], columns))
    viewer.set_window_level(127.5, 255.0)  # raw 0..255 shown as is
    viewer.set_overlay_opacity(opacity)
    viewer.set_overlay_enabled(True)
    viewer.set_heatmap(np.zeros((2, columns), np.float32), key=("x", "cnn", "gradcam"))
    qtbot.waitUntil(viewer.legend.isVisible)
    width = len(legend_bar(viewer.legend)[0])  # device pixels
    xs = np.linspace(0, width - 1, columns).round().astype(int)
    indices = np.rint(xs * 255 / (width - 1)).astype(int)  # the bar runs linearly from entry 0 to entry 255
    heat = np.tile(((indices + 0.5) / 256).astype(np.float32), (2, 1))  # the overlay: those entries, a column each
    viewer.set_heatmap(heat, key=("y", "cnn", "gradcam"), caption="Grad-CAM of the CNN for “abnormal”")
    viewer.set_overlay_enabled(False)
    qtbot.wait(50)
    plain = rgb(viewer.graphics.grab().toImage())
    viewer.set_overlay_enabled(True)
    qtbot.wait(50)
    shown = rgb(viewer.graphics.grab().toImage())
    top, bottom = legend_bar(viewer.legend)
    for column, (x, index) in enumerate(zip(xs, indices)):
        for row, (grey, strip) in enumerate(((DARK_GREY, top), (BRIGHT_GREY, bottom))):
            expected = over(grey, index, opacity)
            assert np.abs(strip[x] - expected).max() <= 1.5, (index, row, strip[x], expected)
            # the overlay itself, at the centre of image pixel (row, column)
            point = viewer.view.mapViewToDevice(QPointF(column + 0.5, row + 0.5))
            px, py = round(point.x()), round(point.y())
            base = plain[py, px]
            assert np.abs(base - grey).max() <= 2, (base, grey)
            assert np.abs(shown[py, px] - over(base.mean(), index, opacity)).max() <= 3, (index, row)
            assert np.abs(shown[py, px] - strip[x]).max() <= 4, (index, row, shown[py, px], strip[x])
    # the ends: transparent (the bare greys), and the table's last, strongest entry
    assert np.abs(top[0] - DARK_GREY).max() <= 1 and np.abs(bottom[0] - BRIGHT_GREY).max() <= 1
    assert np.abs(top[-1] - over(DARK_GREY, 255, opacity)).max() <= 2


def test_the_bar_follows_the_overlay_opacity_and_repaints_only_on_a_change(viewer, qtbot):
    loaded = grey_image([100, 100], 4)
    heat = np.full((2, 4), 0.9, np.float32)
    viewer.set_image(loaded)
    viewer.set_overlay_enabled(True)
    viewer.set_heatmap(heat, key=("a", "cnn", "gradcam"), caption="Grad-CAM of the CNN for “abnormal”")
    qtbot.waitUntil(viewer.legend.isVisible)
    top_before = legend_bar(viewer.legend)[0]
    renders = viewer.legend.renders
    empty = "Grad-CAM of the CNN for “abnormal”: empty map (no region raised this prediction)"
    for i in range(6):  # new images, a map and an empty one in turn: each look is painted once, then shown again
        viewer.set_image(loaded)
        assert not viewer.legend.isVisible()  # no map for the new image yet
        caption = empty if i % 2 else "Grad-CAM of the CNN for “abnormal”"
        viewer.set_heatmap(heat, key=(f"b{i}", "cnn", "gradcam"), caption=caption)
        assert viewer.legend.isVisible() and viewer.legend.caption() == caption
        viewer.legend.repaint()
    assert viewer.legend.renders == renders + 1  # the empty map's look, once
    renders += 1
    viewer.set_overlay_opacity(0.9)
    assert viewer.legend.opacity() == pytest.approx(0.9)
    top_after = legend_bar(viewer.legend)[0]
    assert viewer.legend.renders == renders + 1
    assert np.abs(top_after[-1] - over(DARK_GREY, 255, 0.9)).max() <= 2
    assert np.abs(top_after[-1] - top_before[-1]).max() > 20  # a visibly stronger colour


def test_showing_and_hiding_the_legend_relayouts_nothing(viewer, qtbot):
    class LayoutRequests(QObject):
        count = 0

        def eventFilter(self, watched, event):
            if event.type() == QEvent.Type.LayoutRequest:
                LayoutRequests.count += 1
            return False

    viewer.set_image(grey_image([10, 200], 4))
    viewer.set_heatmap(np.full((2, 4), 0.5, np.float32), key=("a", "cnn", "gradcam"))
    qtbot.wait(50)
    probe = LayoutRequests()
    viewer.installEventFilter(probe)
    for _ in range(4):
        viewer.set_overlay_enabled(True)
        assert viewer.legend.isVisible()
        qtbot.wait(10)
        viewer.set_overlay_enabled(False)
        assert not viewer.legend.isVisible()
        qtbot.wait(10)
    viewer.removeEventFilter(probe)
    assert LayoutRequests.count == 0


# ----------------------------------------------------------------------------- in the window
def test_the_legend_appears_with_the_overlay_and_names_the_class_explained(window, qtbot):
    from meddiag_desktop.qt.core_text import heatmap_caption

    window.open_files([CHEST])
    qtbot.waitUntil(lambda: window.predictions_complete(CHEST), timeout=WAIT)
    viewer, panel = window.viewer, window.panel
    legend = viewer.legend
    assert not legend.isVisible()  # no overlay yet
    panel.select_explained_model("demo-cnn")
    window.set_overlay_enabled(True)
    qtbot.waitUntil(viewer.overlay_shown, timeout=WAIT)
    assert legend.isVisible()
    heat = window.cache.heatmaps.get(viewer.heatmap_key)
    assert legend.caption() == heatmap_caption("Grad-CAM", "CNN", heat.target_label, None)
    assert f"“{heat.target_label}”" in legend.caption() and heat.target_label == "abnormal"  # the finding class
    assert legend.caption() in panel.explain_caption.text()  # the panel's caption, without the decision
    # a screen reader reads the legend as text
    assert accessible_name(legend) == "Heat-map legend"
    description = QAccessible.queryAccessibleInterface(legend).text(QAccessible.Text.Description)
    assert "low" in description and "high" in description and legend.caption() in description

    window.menu_actions.overlay_action.trigger()  # H: off
    assert not viewer.overlay_shown() and not legend.isVisible()
    window.menu_actions.overlay_action.trigger()
    assert viewer.overlay_shown() and legend.isVisible()

    window.open_files([CHEST_2])  # a new image: the legend waits for its map
    qtbot.waitUntil(lambda: window.current == CHEST_2 and viewer.heatmap_key is not None
                    and viewer.heatmap_key[0] == CHEST_2, timeout=WAIT)
    assert legend.isVisible() and viewer.overlay_shown()

    panel.select_explained_model("demo-transformer")  # attention rollout: not specific to a class
    qtbot.waitUntil(lambda: (viewer.heatmap_key or ())[1:] == ("demo-transformer", "attention"), timeout=WAIT)
    assert "Attention rollout" in legend.caption() and "not specific to a class" in legend.caption()


# ----------------------------------------------------------------------------- themes and language
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_legend_is_readable_in_both_themes(viewer, qtbot, theme):
    try:
        apply_theme(theme)
        viewer.set_image(grey_image([10, 200], 4))
        viewer.set_overlay_enabled(True)
        viewer.set_heatmap(np.full((2, 4), 0.5, np.float32), key=("a", "cnn", "gradcam"), caption="Grad-CAM")
        qtbot.waitUntil(viewer.legend.isVisible)
        legend = viewer.legend
        palette = legend.palette()
        text, background = palette.color(legend.foregroundRole()), palette.color(legend.backgroundRole())
        assert background.name() == IMAGE_BACKGROUND  # the image area is dark in both themes
        assert contrast_ratio(text, background) >= 4.5
        pixels = rgb(legend.grab().toImage())
        assert tuple(pixels[1, 1]) == (background.red(), background.green(), background.blue())
        label = pixels[:, : round(legend.bar_rect.left() * legend.devicePixelRatioF()) - 2]  # "low"
        target = np.array([text.red(), text.green(), text.blue()])
        assert (np.abs(label - target).sum(-1) < 40).sum() >= 5  # the label is painted in the text colour
    finally:
        apply_theme("light")


def test_the_legend_in_chinese(qtbot):
    from meddiag_desktop.qt.core_text import heatmap_caption

    with language("zh_CN"):
        viewer = ImageViewer()
        qtbot.addWidget(viewer)
        caption = heatmap_caption("Grad-CAM", "CNN", "pneumonia", None)
        viewer.set_image(grey_image([10, 200], 4))
        viewer.set_heatmap(np.full((2, 4), 0.5, np.float32), key=("a", "cnn", "gradcam"), caption=caption)
        legend = viewer.legend
        assert "肺炎" in caption and legend.full_text().startswith("低 高")
        assert legend.accessibleName() == "热力图图例" and "热力图" in legend.accessibleDescription()
        for text in (legend.full_text(), legend.accessibleName(), legend.accessibleDescription(), legend.toolTip()):
            assert not english_words(text), text


def test_in_a_narrow_row_the_bar_shrinks_and_both_labels_stay_whole(viewer, qtbot):
    viewer.set_image(grey_image([10, 200], 4))
    viewer.set_overlay_enabled(True)
    viewer.set_heatmap(np.full((2, 4), 0.5, np.float32), key=("a", "cnn", "gradcam"), caption="Grad-CAM")
    for width in (800, 330):
        viewer.resize(width, 300)
        qtbot.waitUntil(lambda w=width: viewer.width() == w)
        legend = viewer.legend
        legend.repaint()
        high = legend.fontMetrics().horizontalAdvance("high")
        assert legend.width() < viewer.width()  # the W/L caption keeps the row's right part
        assert legend.bar_rect.width() >= 32 and legend.bar_rect.right() + 4 + high <= legend.width(), width
