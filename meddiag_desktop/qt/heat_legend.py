"""The heat-map's colour scale, in the image view's caption row while the overlay is shown.

"low" [bar] "high", then which class the map explains and by which method (the heat-map caption's
short form, ``core_text.heatmap_caption`` without the decision). The bar is painted from the overlay's
own lookup table (``image_view.heat_lookup_table``, alpha ramp included) at the overlay's opacity,
composited as the overlay looks over the image: the top half over dark tissue, the bottom half over
bright tissue (``TISSUE_GREYS``), so weak evidence shows as the grey it leaves untouched.

Cheap per image: everything is painted once into a pixmap at the device pixel ratio (~0.3 ms) and
repainted only when the caption, opacity, size, scale, font or colours change; the last few pixmaps
are kept, so a new image with a look seen before (a map, an empty map) only shows its pixmap again.
It sits over the caption row's left part as a child of that row (a widget without a layout), so
showing and hiding it never relayouts the window. In a narrow row the caption is elided, then the
bar shrinks (to ``MIN_BAR_WIDTH``), so "low" and "high" stay whole.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QObject, QRect, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget

TISSUE_GREYS = (64, 192)  # backdrops of the bar's top and bottom halves: dark and bright parts of an image
BAR_WIDTH, MIN_BAR_WIDTH = 96, 32  # logical pixels
CAPTION_RESERVE = "W 00000 · L 00000   zoom 0000 %   "  # the row's right part, where the W/L caption is
PIXMAPS_KEPT = 4


def composite(lut: np.ndarray, opacity: float, grey: float) -> np.ndarray:
    """(n, 3) float: each RGBA entry of ``lut`` drawn at ``opacity`` over an opaque ``grey`` (0..255),
    as the overlay item paints it over the image."""
    alpha = lut[:, 3:4].astype(np.float64) / 255.0 * float(opacity)
    return lut[:, :3].astype(np.float64) * alpha + float(grey) * (1.0 - alpha)


def bar_pixels(lut: np.ndarray, opacity: float, width: int, height: int) -> np.ndarray:
    """uint8 (height, width, 3): the lookup table left (0) to right (1), over ``TISSUE_GREYS`` top / bottom."""
    index = np.rint(np.linspace(0, len(lut) - 1, max(1, width))).astype(int)
    rows = []
    for half, grey in enumerate(TISSUE_GREYS):
        colours = np.rint(composite(lut, opacity, grey)[index]).astype(np.uint8)
        count = height // 2 if half == 0 else height - height // 2
        rows.append(np.broadcast_to(colours, (count, len(index), 3)))
    return np.ascontiguousarray(np.concatenate(rows, axis=0))


class HeatLegend(QWidget):
    """The colour scale; a child of the caption row ``row`` (a widget without a layout), over its left part."""

    def __init__(self, row: QWidget, lut: np.ndarray, opacity: float = 1.0) -> None:
        super().__init__(row)
        self.setObjectName("heatLegend")  # colours: the style sheet's, as the W/L caption's
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)  # the pixmap covers every pixel
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self._lut, self._opacity, self._caption = np.asarray(lut, np.uint8), float(opacity), ""
        self._pixmaps: dict[tuple, QPixmap] = {}  # the last few looks (a map and an empty one alternate)
        self.bar_rect = QRect()  # where the bar is, logical pixels (tests read its pixels there)
        self.renders = 0  # how often the pixmap was painted anew (it should not be, per image)
        self.setAccessibleName(self.tr("Heat-map legend"))
        self._describe()
        row.installEventFilter(self)
        self._place()
        self.hide()

    # ------------------------------------------------------------------ state
    def set_caption(self, caption: str) -> None:
        """Which class the map explains and by which method (``core_text.heatmap_caption``)."""
        caption = caption or ""
        if caption != self._caption:
            self._caption = caption
            self._describe()
            self.update()

    def caption(self) -> str:
        return self._caption

    def set_opacity(self, opacity: float) -> None:
        """The overlay's opacity: the bar is composited with it."""
        opacity = min(1.0, max(0.0, float(opacity)))
        if opacity != self._opacity:
            self._opacity = opacity
            self.update()

    def opacity(self) -> float:
        return self._opacity

    def full_text(self) -> str:
        """The legend as text: its end labels and caption (what the tests of the translations read)."""
        return " ".join(part for part in (self.tr("low"), self.tr("high"), self._caption) if part)

    def _describe(self) -> None:
        description = self.tr("Colour scale of the heat-map: low attribution is transparent, high attribution "
                              "is red. {caption}").format(caption=self._caption).strip()
        self.setAccessibleDescription(description)
        self.setToolTip(description)

    # ------------------------------------------------------------------ geometry
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and watched is self.parentWidget():
            self._place()
        return False

    def _place(self) -> None:
        row = self.parentWidget()
        reserve = row.fontMetrics().horizontalAdvance(CAPTION_RESERVE)
        self.setGeometry(0, 0, max(0, row.width() - reserve), row.height())

    # ------------------------------------------------------------------ paint
    def paintEvent(self, _event) -> None:
        dpr = self.devicePixelRatioF()
        palette = self.palette()
        key = (self.width(), self.height(), dpr, self._caption, self._opacity, self.font().key(),
               palette.color(self.foregroundRole()).rgba(), palette.color(self.backgroundRole()).rgba())
        pixmap = self._pixmaps.get(key)
        if pixmap is None:
            if len(self._pixmaps) >= PIXMAPS_KEPT:
                del self._pixmaps[next(iter(self._pixmaps))]
            pixmap = self._pixmaps[key] = self._render(dpr)
        painter = QPainter(self)
        painter.drawPixmap(0, 0, pixmap)
        painter.end()

    def _render(self, dpr: float) -> QPixmap:
        self.renders += 1
        pixmap = QPixmap(max(1, round(self.width() * dpr)), max(1, round(self.height() * dpr)))
        pixmap.setDevicePixelRatio(dpr)
        palette = self.palette()
        pixmap.fill(palette.color(self.backgroundRole()))
        painter = QPainter(pixmap)
        painter.setFont(self.font())
        painter.setPen(palette.color(self.foregroundRole()))
        metrics, height = self.fontMetrics(), self.height()
        x, gap = 4, 4
        low, high = self.tr("low"), self.tr("high")
        painter.drawText(QRect(x, 0, metrics.horizontalAdvance(low), height), int(Qt.AlignmentFlag.AlignVCenter), low)
        x += metrics.horizontalAdvance(low) + gap
        bar_height = max(4, min(12, height - 6))
        bar_width = max(MIN_BAR_WIDTH, min(BAR_WIDTH, self.width() - x - 2 * gap - metrics.horizontalAdvance(high)))
        self.bar_rect = QRect(x, (height - bar_height) // 2, bar_width, bar_height)
        self._draw_bar(painter, dpr)
        x += bar_width + gap
        painter.drawText(QRect(x, 0, metrics.horizontalAdvance(high), height), int(Qt.AlignmentFlag.AlignVCenter), high)
        x += metrics.horizontalAdvance(high) + 3 * gap
        if self._caption and self.width() - x > 8:
            text = metrics.elidedText(self._caption, Qt.TextElideMode.ElideRight, self.width() - x - gap)
            painter.drawText(QRect(x, 0, self.width() - x, height), int(Qt.AlignmentFlag.AlignVCenter), text)
        painter.end()
        return pixmap

    def _draw_bar(self, painter: QPainter, dpr: float) -> None:
        """The bar at device resolution: one column of the lookup table per device pixel."""
        rect = self.bar_rect
        frame = QColor(self.palette().color(self.foregroundRole()))
        frame.setAlpha(110)
        painter.save()
        painter.setPen(frame)
        painter.drawRect(rect.adjusted(-1, -1, 0, 0))  # a thin frame around the bar (the bar covers its inside)
        painter.restore()
        width, height = round(rect.width() * dpr), round(rect.height() * dpr)
        pixels = bar_pixels(self._lut, self._opacity, width, height)
        image = QImage(pixels.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()
        image.setDevicePixelRatio(dpr)
        painter.drawImage(rect.topLeft(), image)
