"""Live training curves (pyqtgraph): training loss per step (raw, faint, and EMA-smoothed), validation
loss and validation metrics (accuracy, AUC, sensitivity, specificity) per epoch.

One ``PlotDataItem`` per curve, created once. New points go into growing numpy buffers (capacity
doubles, so appending is amortised O(1)); a 100 ms QTimer redraws with ``setData`` only when
something changed, and stops itself when idle. However fast the steps arrive, the GUI thread
repaints the curves at most ten times a second and never creates plot items per point.

The axes do not auto-range: x spans the run's epochs from the start and the loss axis only grows
when a value falls outside it. Auto-ranging would re-generate the axis ticks and labels (pure
Python in pyqtgraph) on every redraw - the largest GUI-thread cost while training was measured
there, competing with the training thread for the CPU.
"""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsItem, QVBoxLayout, QWidget

from .core_text import metric_name
from .guard import gui_only
from .plot_theme import theme_curve, theme_plot
from .style import Colours, on_theme_change

REDRAW_MS = 100
AXIS_WIDTH_PX = 52
SMOOTHING = 0.9  # EMA weight of the past (TensorBoard-style, bias-corrected)
METRIC_COLOURS = {"accuracy": "#2c7fb8", "auc": "#7b3294", "sensitivity": "#d95f02", "specificity": "#1b9e77"}
MULTICLASS_ALIASES = {"auc": "macro_auc"}


class GrowingBuffer:
    """A float64 array that grows by doubling; ``view()`` is the filled part (no copy)."""

    def __init__(self, capacity: int = 256) -> None:
        self._data = np.empty(capacity, dtype=np.float64)
        self.size = 0

    def extend(self, values) -> None:
        values = np.asarray(values, dtype=np.float64).ravel()
        need = self.size + values.size
        if need > self._data.size:
            grown = np.empty(max(need, 2 * self._data.size), dtype=np.float64)
            grown[: self.size] = self._data[: self.size]
            self._data = grown  # views handed out earlier keep the old memory: still valid
        self._data[self.size:need] = values
        self.size = need

    def append(self, value: float) -> None:
        self.extend((value,))

    def view(self) -> np.ndarray:
        return self._data[: self.size]

    def clear(self) -> None:
        self.size = 0

    def __len__(self) -> int:
        return self.size


class _Series:
    """An (x, y) pair of buffers drawn by one curve."""

    def __init__(self, item: pg.PlotDataItem) -> None:
        self.item, self.x, self.y, self.dirty = item, GrowingBuffer(), GrowingBuffer(), False

    def extend(self, x, y) -> None:
        self.x.extend(x)
        self.y.extend(y)
        self.dirty = True

    def draw(self) -> None:
        if self.dirty:
            self.item.setData(self.x.view(), self.y.view())
            self.dirty = False

    def clear(self) -> None:
        self.x.clear()
        self.y.clear()
        self.dirty = True


class TrainingCurves(QWidget):
    """Two stacked plots: losses (steps + epochs) and validation metrics (epochs); x is in epochs."""

    redrawn = Signal()

    def __init__(self, parent: QWidget | None = None, redraw_ms: int = REDRAW_MS,
                 smoothing: float = SMOOTHING) -> None:
        super().__init__(parent)
        self.smoothing = smoothing
        self._ema, self._ema_steps = 0.0, 0
        self.redraws = 0
        self.range_changes = 0  # loss-axis re-ranges (each re-generates the axis)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.loss_plot = self._plot(self.tr("Loss"), "loss")
        self.metric_plot = self._plot(self.tr("Validation metrics"), "value")
        self.metric_plot.setYRange(0.0, 1.02, padding=0)
        self.metric_plot.setXLink(self.loss_plot)
        self._loss_range: tuple[float, float] | None = None
        self._epochs = 0  # the x axis' length, set below
        self.set_epochs(1)
        layout.addWidget(self.loss_plot, 3)
        layout.addWidget(self.metric_plot, 2)

        loss_item = self.loss_plot.getPlotItem()
        faint = QColor("#4a79c4")
        faint.setAlpha(70)
        raw = loss_item.plot(pen=pg.mkPen(faint, width=1), name=self.tr("train loss (per step)"))
        raw.setClipToView(True)
        raw.setDownsampling(auto=True, method="peak")
        smooth = loss_item.plot(pen=pg.mkPen("#1f4e9c", width=2), name=self.tr("train loss (smoothed)"))
        smooth.setClipToView(True)
        smooth.setDownsampling(auto=True, method="mean")
        val = loss_item.plot(pen=pg.mkPen("#c0392b", width=2), symbol="o", symbolSize=6,
                             symbolBrush="#c0392b", symbolPen=None, name=self.tr("validation loss"))
        self.series = {"raw": _Series(raw), "smooth": _Series(smooth), "val_loss": _Series(val)}
        metric_item = self.metric_plot.getPlotItem()
        for key, colour in METRIC_COLOURS.items():
            item = metric_item.plot(pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=5, symbolBrush=colour,
                                    symbolPen=None, name=metric_name(key))
            self.series[key] = _Series(item)
        self.best_line = pg.InfiniteLine(angle=90, movable=False,
                                         pen=pg.mkPen("#888888", width=1, style=Qt.PenStyle.DashLine),
                                         label=self.tr("best"), labelOpts={"position": 0.08, "color": "#666666"})
        self.best_line.setVisible(False)
        self.loss_plot.addItem(self.best_line)
        on_theme_change(self.apply_theme)

        self._timer = QTimer(self)
        self._timer.setInterval(redraw_ms)
        self._timer.timeout.connect(self._redraw)

    def apply_theme(self, colours: Colours) -> None:
        """Plots and curves in the theme's colours (``qt.style``: at start and on every theme change)."""
        theme_plot(self.loss_plot, colours, self.tr("Loss"))
        theme_plot(self.metric_plot, colours, self.tr("Validation metrics"))
        curves = colours.curves
        theme_curve(self.series["raw"].item, curves["raw"], width=1, alpha=70)
        theme_curve(self.series["smooth"].item, curves["smooth"])
        theme_curve(self.series["val_loss"].item, curves["val_loss"], symbol=True)
        for key in METRIC_COLOURS:
            theme_curve(self.series[key].item, curves[key], symbol=True)
        self.best_line.setPen(pg.mkPen(curves["best"], width=1, style=Qt.PenStyle.DashLine))
        self.best_line.label.setColor(curves["best"])

    @staticmethod
    def _plot(title: str, y_label: str) -> pg.PlotWidget:
        plot = pg.PlotWidget(background="w")
        plot.getViewBox().disableAutoRange()
        plot.setTitle(title, color="#1f2d3d", size="10pt")
        plot.setLabel("bottom", "epoch")
        plot.setLabel("left", y_label)
        plot.showGrid(x=True, y=True, alpha=0.15)
        plot.addLegend(offset=(-8, 8), labelTextColor="#1f2d3d", brush=pg.mkBrush(255, 255, 255, 200))
        plot.setMouseEnabled(x=True, y=False)
        item = plot.getPlotItem()
        item.setMenuEnabled(False)
        # A fixed axis width: new tick labels (the loss range grows) never resize the view box, which
        # would re-lay out both linked plots and regenerate every axis in the GUI thread.
        item.getAxis("left").setWidth(AXIS_WIDTH_PX)
        # Axes (they also draw the grid across the view), legend and title are painted from a pixmap
        # cache: a curve update then repaints without running their Python paint() methods, which
        # under a busy training thread wait for the GIL at every Qt call.
        cached = [item.getAxis(name) for name in ("left", "bottom")] + [item.legend, item.titleLabel]
        for graphics_item in cached:
            graphics_item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        return plot

    # ------------------------------------------------------------------ data in (GUI thread)
    @gui_only
    def add_steps(self, x, loss) -> None:
        """Training steps: ``x`` in (fractional) epochs, raw losses."""
        x = np.asarray(x, dtype=np.float64)
        loss = np.asarray(loss, dtype=np.float64)
        if not x.size:
            return
        smooth = np.empty_like(loss)
        a = self.smoothing
        for i, value in enumerate(loss):  # a few points per batch: a Python loop is fine
            self._ema = a * self._ema + (1 - a) * value
            self._ema_steps += 1
            smooth[i] = self._ema / (1 - a ** self._ema_steps)
        self.series["raw"].extend(x, loss)
        self.series["smooth"].extend(x, smooth)
        self._schedule()

    @gui_only
    def add_epoch(self, epoch: float, val_loss: float, metrics: dict, is_best: bool = False) -> None:
        self.series["val_loss"].extend((epoch,), (val_loss,))
        for key in METRIC_COLOURS:
            value = metrics.get(key, metrics.get(MULTICLASS_ALIASES.get(key, ""), None))
            if value is not None and value == value:
                self.series[key].extend((epoch,), (value,))
        if is_best:
            self.best_line.setValue(epoch)
            self.best_line.setVisible(True)
        self._schedule()

    def set_epochs(self, epochs: int) -> None:
        """Fix the x axis to the run's length (0 .. epochs); no-op when it already is."""
        epochs = max(1, int(epochs))
        if self._epochs != epochs:
            self._epochs = epochs
            self.loss_plot.setXRange(0.0, float(epochs), padding=0.01)

    def reset(self, epochs: int | None = None) -> None:
        for series in self.series.values():
            series.clear()
        self._ema, self._ema_steps = 0.0, 0
        self._loss_range = None
        self.best_line.setVisible(False)
        if epochs is not None:
            self.set_epochs(epochs)
        self._schedule()

    def render_warm_up(self, render) -> None:
        """Draw every curve (symbols, the best-epoch marker) once through ``render()`` - e.g. a
        ``grab()`` of the hidden page - then clear them: pyqtgraph builds its symbol atlas and text
        on first paint, which would otherwise stall the GUI thread at the first epoch."""
        for series in self.series.values():
            series.item.setData([0.5], [0.5])
        self.best_line.setValue(0.5)
        self.best_line.setVisible(True)
        render()
        for series in self.series.values():
            series.item.setData([], [])
        self.best_line.setVisible(False)

    def counts(self) -> dict[str, int]:
        """Points received per curve."""
        return {name: len(s.x) for name, s in self.series.items()}

    def drawn_counts(self) -> dict[str, int]:
        """Points the curves actually show (after the last redraw)."""
        out = {}
        for name, s in self.series.items():
            x, _ = s.item.getOriginalDataset()
            out[name] = 0 if x is None else len(x)
        return out

    # ------------------------------------------------------------------ drawing
    def _schedule(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        """Redraw now (e.g. at the end of a run, or before a screenshot)."""
        self._redraw()

    def _redraw(self) -> None:
        dirty = [s for s in self.series.values() if s.dirty]
        if not dirty:
            self._timer.stop()  # idle: no timer ticks while nothing changes
            return
        for series in dirty:
            series.draw()
        self._grow_loss_range()
        self.redraws += 1
        self.redrawn.emit()

    def _grow_loss_range(self) -> None:
        """Loss axis from 0 to a round number at least 1.5x the largest loss so far. It only grows,
        and only when a loss exceeds it (usually once, at the first points, since losses fall): a new
        range re-generates the axis in Python - the most expensive repaint of the curves."""
        values = [s.y.view() for key, s in self.series.items() if key in ("raw", "val_loss") and len(s.y)]
        if not values:
            return
        hi = max(float(np.nanmax(v)) for v in values)
        if not np.isfinite(hi) or (self._loss_range is not None and hi <= self._loss_range[1]):
            return
        self._loss_range = (0.0, round_up_nicely(max(1.5 * hi, 1e-3)))
        self.loss_plot.setYRange(*self._loss_range, padding=0)
        self.range_changes += 1


def round_up_nicely(value: float) -> float:
    """The smallest of 1, 1.5, 2, 3, 5, 7 x 10^k that is >= value (value > 0)."""
    scale = 10.0 ** math.floor(math.log10(value))
    return next(round(step * scale, 12) for step in (1, 1.5, 2, 3, 5, 7, 10) if step * scale >= value * (1 - 1e-12))
