"""What the window says about a result, in words and honest numbers (Qt-free, so tests and jobs can use it).

A calibrated probability is never shown as certain: at the ends it reads "> 99 %" / "< 1 %", never
"100.0 %" / "0.0 %". Every place the window shows a probability goes through ``format_probability``
(percent) or ``format_fraction`` (the 0..1 scale of an operating-point rule).
"""
from __future__ import annotations

from meddiag_desktop.core.metric_ci import format_metric_ci

LOW, HIGH = 0.01, 0.99  # at or beyond these the model's own calibration cannot be trusted to the decimal


def format_probability(p: float | None) -> str:
    """"73.4 %"; "> 99 %" above 0.99, "< 1 %" below 0.01; "–" for a missing value."""
    if p is None or p != p:
        return "–"
    p = float(p)
    if p > HIGH:
        return "> 99 %"
    if p < LOW:
        return "< 1 %"
    return f"{100 * p:.1f} %"


def format_fraction(p: float, digits: int = 2) -> str:
    """"= 0.71" on the 0..1 scale; "> 0.99" / "< 0.01" at the ends (the relation is part of the text)."""
    p = float(p)
    if p > HIGH:
        return "> 0.99"
    if p < LOW:
        return "< 0.01"
    return f"= {p:.{digits}f}"


def operating_metrics_text(card) -> str:
    """"Expected sensitivity 0.912 (0.871–0.945) · specificity 0.874 (0.829–0.913)" at the card's
    operating point (its validation metrics with their bootstrap CIs); "" when the card has neither."""
    parts = []
    for name in ("sensitivity", "specificity"):
        metric = card.metric(name)
        if metric is not None and metric.value is not None:
            parts.append(f"{name} {format_metric_ci(metric, dash='–')}")
    return ("Expected " + " · ".join(parts)) if parts else ""


def finding_class(card) -> int | None:
    """The class a heat-map explains by default: the finding (positive class) of a binary card with an
    operating point, so a negative decision still shows where the finding would be; None: the predicted class."""
    labels = tuple(card.labels)
    pos = getattr(card, "positive_label", None)
    return labels.index(pos) if pos in labels and len(labels) == 2 else None


def heatmap_caption(method: str, family: str, target_label: str, decision: str | None,
                    class_agnostic: bool = False, empty: bool = False) -> str:
    """Which class the heat-map explains, and how that relates to the model's decision."""
    if class_agnostic:
        text = f"{method} of the {family}: where it looked (not specific to a class)"
    else:
        text = f"{method} of the {family} for “{target_label}”"
        if decision is not None and decision != target_label:
            text += f" — evidence for {target_label}, although the decision is {decision}"
    if empty:
        text += ": empty map (no region raised this prediction)"
    return text


def result_summary(result) -> str:
    """One line for lists: "pneumonia 97.2 %", the refusal or the error (``core.inference.Result``)."""
    return result.summary(format_probability)
