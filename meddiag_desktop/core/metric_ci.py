"""A metric with its 95 % bootstrap confidence interval, as model cards store it, and the headline lists.

Cards keep ``{"value": 0.969, "ci_low": 0.954, "ci_high": 0.983}`` per metric under
``metrics[split]``; read them with ``ModelCard.metric(name, split)`` and show them with
:func:`format_metric_ci` ("0.969 (0.954-0.983)"). Torch- and numpy-free.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

__all__ = ["HEADLINE_METRICS", "MULTICLASS_HEADLINE_METRICS", "MetricCI", "format_metric", "format_metric_ci",
           "headline_metrics"]

HEADLINE_METRICS = ("accuracy", "sensitivity", "specificity", "f1", "auc")  # binary tasks
MULTICLASS_HEADLINE_METRICS = ("accuracy", "macro_f1", "macro_auc")


def headline_metrics(num_classes: int) -> tuple[str, ...]:
    return HEADLINE_METRICS if num_classes == 2 else MULTICLASS_HEADLINE_METRICS


@dataclass(frozen=True)
class MetricCI:
    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> "MetricCI | None":
        """A card's ``{"value", "ci_low", "ci_high"}`` entry; None for anything else."""
        if not isinstance(d, Mapping) or "value" not in d:
            return None
        return cls(d.get("value"), d.get("ci_low"), d.get("ci_high"))

    def to_dict(self) -> dict:
        return {"value": self.value, "ci_low": self.ci_low, "ci_high": self.ci_high}


def format_metric(value: Any, digits: int = 3) -> str:
    """A metric for people: undefined values (nan / None, e.g. AUC with one class) read 'n/a'."""
    return "n/a" if value is None or value != value else f"{value:.{digits}f}"


def format_metric_ci(metric: MetricCI | None, digits: int = 3, dash: str = "-") -> str:
    """``0.969 (0.954-0.983)``; ``dash`` joins the interval (the dialog uses an en dash)."""
    if metric is None:
        return "n/a"
    low, high = format_metric(metric.ci_low, digits), format_metric(metric.ci_high, digits)
    return f"{format_metric(metric.value, digits)} ({low}{dash}{high})"
