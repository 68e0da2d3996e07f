"""pyqtgraph plots in the theme on screen (``style.colours()``): background, axes, title, legend, curves."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QColor

from .style import Colours


def theme_plot(plot: pg.PlotWidget, colours: Colours, title: str | None = None) -> None:
    """Background, axis lines and labels, grid, title and legend of one plot in these colours."""
    foreground = colours.plot_foreground
    plot.setBackground(colours.plot_background)
    item = plot.getPlotItem()
    for name in ("left", "bottom"):
        axis = item.getAxis(name)
        axis.setPen(pg.mkPen(foreground))
        axis.setTextPen(pg.mkPen(foreground))
        axis.label.setDefaultTextColor(QColor(foreground))
        axis.setGrid(int(255 * colours.plot_grid_alpha) if axis.grid is not False else False)
        axis.update()
    if title is not None:
        item.setTitle(title, color=foreground, size="10pt")
    legend = item.legend
    if legend is not None:
        legend.setLabelTextColor(foreground)
        background = QColor(colours.plot_background)
        background.setAlpha(200)
        legend.setBrush(pg.mkBrush(background))
        legend.update()


def theme_curve(curve: pg.PlotDataItem, colour: str, width: int = 2, alpha: int = 255, symbol: bool = False) -> None:
    """One curve's pen (and symbol brush) in ``colour``."""
    pen_colour = QColor(colour)
    pen_colour.setAlpha(alpha)
    curve.setPen(pg.mkPen(pen_colour, width=width))
    if symbol:
        curve.setSymbolBrush(pg.mkBrush(colour))
