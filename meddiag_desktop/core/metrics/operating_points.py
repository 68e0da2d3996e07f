"""Binary operating points: the score threshold by Youden's J, or for a target sensitivity /
specificity. Predicted positive means ``score >= threshold``."""

from __future__ import annotations

from typing import Any

import numpy as np

from .classification import binary_counts_at_thresholds
from .inputs import binary_inputs, require_both_classes


def _min_count_for_rate(target: float, total: int) -> int:
    """Smallest k with k / total >= target (computed the way rates are), for 0 < target <= 1."""
    if not 0 < target <= 1:
        raise ValueError(f"target must lie in (0, 1], got {target}")
    return int(np.searchsorted(np.arange(total + 1) / total, target, side="left"))


def threshold_youden(y_true: Any, scores: Any, *, positive: int = 1) -> float:
    """Score t maximising Youden's J = sensitivity + specificity - 1 for `scores >= t`.

    Candidates are the observed scores (the finite ROC thresholds), so
    ``scores >= t`` reproduces the optimal ROC point exactly on this data and
    t lies within the score range (within [0, 1] for probabilities).  J is
    compared exactly (integer arithmetic); ties go to the highest specificity,
    i.e. the largest such threshold.
    """
    is_pos, s = binary_inputs(y_true, scores, positive)
    require_both_classes(is_pos)
    fps, tps, thresholds = binary_counts_at_thresholds(is_pos, s)
    n_pos, n_neg = int(is_pos.sum()), int((~is_pos).sum())
    j_scaled = tps.astype(np.int64) * n_neg - fps.astype(np.int64) * n_pos  # J * n_pos * n_neg
    return float(thresholds[int(np.argmax(j_scaled))])  # first max = fewest false positives


def threshold_for_sensitivity(
    y_true: Any, scores: Any, target: float = 0.95, *, positive: int = 1
) -> float:
    """Largest t with sensitivity(`scores >= t`) >= target, i.e. the most specific such threshold.

    t is a positive sample's score: the ceil(target * n_pos)-th highest one.
    """
    is_pos, s = binary_inputs(y_true, scores, positive)
    require_both_classes(is_pos)
    positives_desc = np.sort(s[is_pos])[::-1]
    k = _min_count_for_rate(target, positives_desc.size)
    return float(positives_desc[k - 1])


def threshold_for_specificity(
    y_true: Any, scores: Any, target: float = 0.95, *, positive: int = 1
) -> float:
    """Smallest observed score t with specificity(`scores >= t`) >= target, i.e. the most sensitive one.

    Specificity = fraction of negatives with score < t.  If no observed score is
    high enough (only reached by flagging nobody), returns the next float above
    the highest required negative score.
    """
    is_pos, s = binary_inputs(y_true, scores, positive)
    require_both_classes(is_pos)
    negatives_asc = np.sort(s[~is_pos])
    k = _min_count_for_rate(target, negatives_asc.size)
    must_exceed = negatives_asc[k - 1]  # t > this leaves >= k negatives below t
    above = s[s > must_exceed]
    return float(above.min()) if above.size else float(np.nextafter(must_exceed, np.inf))


def rule_name(rule: str, target: float | None = None) -> str:
    """How a card names its threshold rule (``metrics["threshold_rule"]``); ``rule_from_name`` reads it back."""
    if rule == "youden":
        return rule
    return f"cost={target:g}" if rule == "cost" else f"{rule}>={target or 0.95:g}"


def rule_from_name(name: str) -> tuple[str, float | None]:
    """``pipeline.calibrate``'s rule and target back from the name it gives (``Calibration.rule``, the card's
    ``metrics["threshold_rule"]``): "cost=1.5" -> ("cost", 1.5); Youden's J for "youden", "argmax" or ""."""
    for rule, sign in (("cost", "="), ("sensitivity", ">="), ("specificity", ">=")):
        if name.startswith(rule + sign):
            return rule, float(name[len(rule + sign):])
    return "youden", None
