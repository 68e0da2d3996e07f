"""Image view: zoom (wheel), pan (left drag), fit, window/level (right drag) and the heat-map overlay.

pyqtgraph with ``axisOrder='row-major'`` (numpy (H, W) as rows x columns). Grey images are shown
from ``LoadedImage.raw`` (source units: HU for CT, 12/16-bit values...), so window/level works in
those units and starts at the DICOM window when the file has one, else at the image's min..max.
Right-drag as in PACS viewers: horizontal = window width, vertical = level. MONOCHROME1 uses an
inverted grey scale. Anisotropic pixel spacing sets the aspect ratio.

Only the image and overlay live in the scene (no histogram item): every repaint of the scene runs
pyqtgraph's Python paint code in the GUI thread, so it is kept small. The heat-map is drawn from
ready uint8 colour-table indices (made in the worker by ``jobs.viewer.explain_image``, see
``jobs.viewer.HeatMap.overlay``): pyqtgraph wraps them in an indexed QImage without a float rescale.
The caption (W/L, zoom) is a ``PaintedText``: a new caption per image repaints only the caption
(a QLabel in the layout re-laid out the whole window, once per image); the heat-map's colour scale
(``heat_legend.HeatLegend``) lies over its left part while the overlay is shown.
The main window imports this module only after its first paint: pyqtgraph takes ~1 s to import.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from .guard import gui_only
from .heat_legend import HeatLegend
from .painted_text import PaintedText

HEAT_COLORMAP = "turbo"
_INVERTED_GREY = np.repeat(np.arange(255, -1, -1, dtype=np.uint8)[:, None], 3, axis=1)


def heat_lookup_table(n: int = 256) -> np.ndarray:
    """Colour map with an alpha ramp: weak evidence is transparent, strong evidence opaque."""
    lut = pg.colormap.get(HEAT_COLORMAP).getLookupTable(0.0, 1.0, n, alpha=True).astype(np.uint8)
    ramp = np.clip((np.linspace(0.0, 1.0, n) - 0.15) / 0.45, 0.0, 1.0)
    lut[:, 3] = np.round(255 * ramp).astype(np.uint8)
    return lut


class _ImageViewBox(pg.ViewBox):
    """ViewBox whose right-button drag sets window/level instead of zooming."""

    def __init__(self, on_window_drag, **kwargs) -> None:
        super().__init__(**kwargs)
        self._on_window_drag = on_window_drag

    def mouseDragEvent(self, ev, axis=None) -> None:
        if ev.button() == Qt.MouseButton.RightButton:
            ev.accept()
            delta = ev.screenPos() - ev.lastScreenPos()
            self._on_window_drag(delta.x(), delta.y(), ev.isStart())
            return
        super().mouseDragEvent(ev, axis)


class ImageViewer(QWidget):
    """Shows one LoadedImage and an optional heat-map on top of it."""

    levelsChanged = Signal(float, float)  # window centre, width (source units)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("#111315")
        self.graphics.setAcceptDrops(False)  # drops go to the main window
        self.graphics.viewport().setAcceptDrops(False)
        self.view = _ImageViewBox(self._drag_window, lockAspect=True, invertY=True, enableMenu=False)
        self.view.setDefaultPadding(0.01)
        self.graphics.addItem(self.view)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.overlay = pg.ImageItem(axisOrder="row-major")  # uint8 colour-table indices (jobs.viewer.heat_indices)
        self.overlay.setZValue(10)
        self.overlay.setLookupTable(heat_lookup_table())
        self.overlay.setOpacity(0.45)
        self.overlay.hide()
        self.view.addItem(self.image)
        self.view.addItem(self.overlay)
        self.view.sigRangeChanged.connect(self._update_caption)

        self.caption = PaintedText(object_name="viewerCaption", align=Qt.AlignmentFlag.AlignRight)
        self.caption.setContentsMargins(2, 2, 2, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.caption)
        self.legend = HeatLegend(self.caption, heat_lookup_table(), self.overlay.opacity())  # over the row's left part
        self.graphics.setToolTip(self.tr("Wheel: zoom · left drag: pan · right drag: window/level · F: fit · R: reset W/L"))

        self._loaded = None
        self._grey = True
        self._levels = self._default_levels = (0.0, 1.0)
        self._data_range = 1.0
        self.data_limits: tuple[float, float] | None = None  # (min, max) of a grey image, source units
        self.modality: str | None = None
        self._overlay_enabled = False
        self._heatmap_key = None
        self._update_caption()

    # ------------------------------------------------------------------ image
    @property
    def has_image(self) -> bool:
        return self._loaded is not None

    @gui_only
    def set_image(self, loaded) -> None:
        """Show a core.io.LoadedImage; resets window/level and fits it to the window."""
        self._loaded = loaded
        self._heatmap_key = None
        self.overlay.clear()
        self._apply_overlay_visibility()
        meta = loaded.meta
        self._grey = loaded.array.ndim == 2
        self.modality, self.data_limits = meta.modality, None
        if self._grey:
            data = loaded.raw
            lo, hi = float(data.min()), float(data.max())
            self._data_range = (hi - lo) or 1.0
            self.data_limits = (lo, hi)
            self._default_levels = self._initial_levels(lo, hi, meta.window)
            inverted = (meta.photometric or "").upper() == "MONOCHROME1"
            self.image.setImage(data, levels=self._default_levels, lut=_INVERTED_GREY if inverted else None)
        else:  # colour: shown as stored, no window/level
            self._default_levels = (0.0, 1.0)
            self.image.setImage(loaded.array, levels=self._default_levels, lut=None)
        self._levels = self._default_levels
        self.image.setRect(self._rect())
        self.fit()
        self._levels_changed()

    @staticmethod
    def _initial_levels(lo: float, hi: float, window) -> tuple[float, float]:
        if window is not None and window[1] > 0:
            centre, width = window
            return float(centre - width / 2), float(centre + width / 2)
        return (lo, hi) if hi > lo else (lo, lo + 1.0)

    def _rect(self) -> QRectF:
        meta = self._loaded.meta
        height, width = self._loaded.array.shape[:2]
        aspect = 1.0
        if meta.pixel_spacing:  # (row spacing, column spacing) in mm
            row, col = meta.pixel_spacing
            aspect = col / row if row > 0 and col > 0 else 1.0
        return QRectF(0, 0, width * aspect, height)

    @gui_only
    def clear(self) -> None:
        self._loaded = None
        self.image.clear()
        self.set_heatmap(None)
        self._update_caption()

    def fit(self) -> None:
        if self._loaded is not None:
            self.view.autoRange(items=[self.image])

    def zoom(self, factor: float) -> None:
        self.view.scaleBy((1.0 / factor, 1.0 / factor))

    # ------------------------------------------------------------------ window / level
    def window_level(self) -> tuple[float, float] | None:
        """(centre, width) of the current window, None for colour images or no image."""
        if self._loaded is None or not self._grey:
            return None
        lo, hi = self._levels
        return (lo + hi) / 2, hi - lo

    @gui_only
    def set_window_level(self, centre: float, width: float) -> None:
        if self._loaded is None or not self._grey:
            return
        width = max(float(width), self._data_range * 1e-4)
        self._levels = (centre - width / 2, centre + width / 2)
        self.image.setLevels(self._levels)
        self._levels_changed()

    def reset_levels(self) -> None:
        if self._loaded is not None and self._grey:
            centre, width = (self._default_levels[0] + self._default_levels[1]) / 2, np.ptp(self._default_levels)
            self.set_window_level(centre, width)

    def _drag_window(self, dx: float, dy: float, _start: bool) -> None:
        wl = self.window_level()
        if wl is None:
            return
        step = self._data_range / 500.0  # a 500 px drag spans the image's whole range
        centre, width = wl
        self.set_window_level(centre - dy * step, width + dx * step)

    def _levels_changed(self) -> None:
        self._update_caption()
        wl = self.window_level()
        if wl is not None:
            self.levelsChanged.emit(*wl)

    def _update_caption(self, *_) -> None:
        if self._loaded is None:
            self.caption.setText("")
            return
        parts = []
        wl = self.window_level()
        if wl is not None:
            parts.append(f"W {wl[1]:.5g} · L {wl[0]:.5g}")
        pixel = self.view.viewPixelSize()[0]
        if pixel and pixel > 0:
            parts.append(self.tr("zoom {value:.0f} %").format(value=100.0 / pixel))
        self.caption.setText("   ".join(parts) + "  ")

    # ------------------------------------------------------------------ heat-map
    @gui_only
    def set_heatmap(self, heatmap: np.ndarray | None, key=None, indices: np.ndarray | None = None,
                    caption: str = "") -> None:
        """Heat-map in [0, 1] with the image's (H, W); None removes it. ``indices``: the same map as
        uint8 colour-table indices (``jobs.viewer.HeatMap.overlay``, made in the worker); computed here
        when not given. ``caption``: which class it explains and how, for the legend."""
        from .jobs.viewer import heat_indices

        self._heatmap_key = key if heatmap is not None else None
        if heatmap is None:
            self.overlay.clear()
        else:
            if indices is None:
                indices = heat_indices(heatmap)
            self.overlay.setImage(indices, levels=None, autoLevels=False)
            self.overlay.setRect(self._rect())
            self.legend.set_caption(caption)
        self._apply_overlay_visibility()

    @property
    def heatmap_key(self):
        return self._heatmap_key

    @gui_only
    def set_overlay_enabled(self, enabled: bool) -> None:
        self._overlay_enabled = bool(enabled)
        self._apply_overlay_visibility()

    @gui_only
    def set_overlay_opacity(self, opacity: float) -> None:
        self.overlay.setOpacity(min(1.0, max(0.0, float(opacity))))
        self.legend.set_opacity(self.overlay.opacity())

    def overlay_shown(self) -> bool:
        return self.overlay.isVisible()

    def _apply_overlay_visibility(self) -> None:
        shown = self._overlay_enabled and self._heatmap_key is not None
        self.overlay.setVisible(shown)
        if self.legend.isHidden() == shown:  # the legend with the overlay, only when that changes
            self.legend.setVisible(shown)
