"""Honest numbers on screen: the probability formatting rules and the heat-map caption (Qt-free)."""
from __future__ import annotations

import pytest

from meddiag_desktop.core.metric_ci import MetricCI
from meddiag_desktop.qt.reading_text import (finding_class, format_fraction, format_probability, heatmap_caption,
                                             operating_metrics_text)


@pytest.mark.parametrize("p, text", [
    (1.0, "> 99 %"), (0.9996, "> 99 %"), (0.9901, "> 99 %"), (0.99, "99.0 %"), (0.734, "73.4 %"),
    (0.5, "50.0 %"), (0.01, "1.0 %"), (0.0099, "< 1 %"), (0.0004, "< 1 %"), (0.0, "< 1 %"),
    (None, "–"), (float("nan"), "–")])
def test_a_probability_is_never_shown_as_certain(p, text):
    assert format_probability(p) == text


def test_no_probability_reads_100_or_0_percent():
    for i in range(0, 100001):
        text = format_probability(i / 100000)
        assert text not in ("100.0 %", "0.0 %") and not text.startswith(("100", "0.0"))


@pytest.mark.parametrize("p, text", [(0.999, "> 0.99"), (0.001, "< 0.01"), (0.71, "= 0.71"), (0.5, "= 0.50")])
def test_the_operating_point_value_at_the_ends(p, text):
    assert format_fraction(p) == text


class _Card:
    labels = ("normal", "pneumonia")
    positive_label = "pneumonia"

    def metric(self, name, split="validation"):
        return {"sensitivity": MetricCI(0.912, 0.871, 0.945), "specificity": MetricCI(0.874, 0.829, 0.913)}.get(name)


def test_operating_metrics_come_from_the_card_with_their_ci():
    assert operating_metrics_text(_Card()) == ("Expected sensitivity 0.912 (0.871–0.945) · "
                                               "specificity 0.874 (0.829–0.913)")


def test_the_heat_map_explains_the_finding_by_default_and_says_so():
    assert finding_class(_Card()) == 1
    caption = heatmap_caption("Grad-CAM", "CNN", "pneumonia", "normal")
    assert "for “pneumonia”" in caption and "although the decision is normal" in caption
    assert "although" not in heatmap_caption("Grad-CAM", "CNN", "pneumonia", "pneumonia")
    assert "not specific to a class" in heatmap_caption("Attention rollout", "Transformer", "x", "y",
                                                         class_agnostic=True)
