"""Live training curves: one plot item per curve, throttled redraws, a loss axis that rarely moves."""
from __future__ import annotations

import numpy as np
import pytest

from meddiag_desktop.qt.training_curves import TrainingCurves, round_up_nicely


@pytest.mark.parametrize("value, expected", [(0.18, 0.2), (0.2, 0.2), (0.75, 1.0), (1.2, 1.5), (2.5, 3.0),
                                             (0.069, 0.07), (13.0, 15.0), (6.0, 7.0), (8.0, 10.0)])
def test_round_up_nicely(value, expected):
    assert round_up_nicely(value) == pytest.approx(expected)


@pytest.fixture
def curves(qtbot):
    widget = TrainingCurves(redraw_ms=20)
    qtbot.addWidget(widget)
    widget.resize(500, 400)
    widget.show()
    widget.set_epochs(2)
    return widget


def test_loss_axis_only_grows_when_a_loss_exceeds_it(curves, qtbot):
    curves.add_steps([0.1, 0.2], [0.07, 0.12])
    curves.flush()
    assert curves.loss_plot.viewRange()[1] == pytest.approx([0.0, 0.2]) and curves.range_changes == 1
    curves.add_steps([0.3, 0.4, 0.5], [0.15, 0.19, 0.05])  # inside the range: no new axis
    curves.flush()
    assert curves.range_changes == 1
    curves.add_steps([0.6], [0.5])
    curves.flush()
    assert curves.loss_plot.viewRange()[1] == pytest.approx([0.0, 1.0]) and curves.range_changes == 2


def test_thousands_of_steps_reuse_the_curve_items_and_redraw_throttled(curves, qtbot):
    items = {name: s.item for name, s in curves.series.items()}
    plotted = len(curves.loss_plot.getPlotItem().listDataItems())
    x = np.linspace(0, 2, 5000)
    for start in range(0, 5000, 10):  # 500 batches of steps, as fast as they come
        curves.add_steps(x[start:start + 10], 1.0 / (1 + x[start:start + 10]))
    curves.add_epoch(1.0, 0.6, {"accuracy": 0.8, "auc": 0.9, "sensitivity": 0.7, "specificity": 0.85}, True)
    qtbot.waitUntil(lambda: curves.drawn_counts()["raw"] == 5000, timeout=5000)
    assert curves.redraws < 20  # one redraw per timer tick, not one per batch
    assert {name: s.item for name, s in curves.series.items()} == items
    assert len(curves.loss_plot.getPlotItem().listDataItems()) == plotted
    assert curves.drawn_counts()["accuracy"] == 1 and curves.best_line.isVisible()
