"""Bootstrap confidence intervals: of any metric (:func:`bootstrap_ci`) and of the headline metrics all
at once (:func:`metrics_with_ci`, vectorised over resamples), from the same deterministic resamples."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..metric_ci import MULTICLASS_HEADLINE_METRICS
from .calibration import expected_calibration_error
from .classification import DEFAULT_THRESHOLD, confusion_matrix, predict_labels, rates_from_confusion, weighted_auc
from .inputs import as_labels, check_positive, labels_and_probs

# what metrics_with_ci reports with a CI for binary tasks (multi-class: MULTICLASS_HEADLINE_METRICS)
BINARY_CI_METRICS = ("accuracy", "sensitivity", "specificity", "precision", "f1", "auc")

# Bootstrap resamples are drawn in blocks of about this many indices, so memory
# stays bounded for large N.  The block size depends on N only, which keeps the
# random stream identical between bootstrap_ci and metrics_with_ci.
_BOOTSTRAP_BLOCK_ELEMENTS = 2_000_000


def _bootstrap_index_blocks(
    y: np.ndarray, n_boot: int, seed: int, stratified: bool
) -> Iterator[np.ndarray]:
    """Yield (b, N) blocks of resampled indices, n_boot rows in total, deterministic in seed.

    Stratified: each resample draws, with replacement, exactly as many samples
    from each class as the original has, so every class is present.
    """
    rng = np.random.default_rng(seed)
    n = y.size
    class_members = [np.flatnonzero(y == c) for c in np.unique(y)]
    rows_per_block = max(1, _BOOTSTRAP_BLOCK_ELEMENTS // n)
    for start in range(0, n_boot, rows_per_block):
        rows = min(rows_per_block, n_boot - start)
        if stratified:
            yield np.concatenate(
                [m[rng.integers(0, m.size, size=(rows, m.size))] for m in class_members], axis=1
            )
        else:
            yield rng.integers(0, n, size=(rows, n))


def _resample_counts(indices: np.ndarray, n: int) -> np.ndarray:
    """(b, N) float counts: how often each original sample appears in each resample."""
    rows = indices.shape[0]
    flat = (indices + (np.arange(rows) * n)[:, None]).ravel()
    return np.bincount(flat, minlength=rows * n).reshape(rows, n).astype(np.float64)


def _percentile_interval(values: np.ndarray, alpha: float) -> tuple[float, float]:
    """Percentile (alpha/2, 1 - alpha/2) interval of the non-nan values; (nan, nan) if none."""
    finite = values[~np.isnan(values)]
    if finite.size == 0:
        return math.nan, math.nan
    low, high = np.quantile(finite, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def _check_bootstrap_args(n_boot: int, alpha: float) -> None:
    if n_boot < 0:
        raise ValueError("n_boot must be >= 0")
    if not 0 < alpha < 1:
        raise ValueError("alpha must lie in (0, 1)")


def bootstrap_ci(
    y_true: Any,
    probs: Any,
    metric_fn: Callable[[np.ndarray, np.ndarray], float],
    *,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    stratified: bool = True,
) -> tuple[float, float]:
    """Percentile bootstrap (1 - alpha) CI of metric_fn(y_true[idx], probs[idx]); nan resamples are skipped.

    ``probs`` may be (N, K) or 1-D scores; it is indexed along axis 0 only.
    Returns (nan, nan) if n_boot == 0 or every resample gave nan.
    """
    _check_bootstrap_args(n_boot, alpha)
    y = as_labels(y_true)
    p = np.asarray(probs)
    if p.shape[0] != y.size:
        raise ValueError("probs and y_true differ in length")
    values = np.array(
        [
            metric_fn(y[row], p[row])
            for block in _bootstrap_index_blocks(y, n_boot, seed, stratified)
            for row in block
        ],
        dtype=np.float64,
    )
    return _percentile_interval(values, alpha)


def metrics_with_ci(
    y_true: Any,
    probs: Any,
    *,
    positive: int = 1,
    threshold: float | None = None,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    stratified: bool = True,
) -> dict[str, Any]:
    """Headline metrics as {"value", "ci_low", "ci_high"} plus ece, n, confusion_matrix, threshold.

    Binary: accuracy, sensitivity, specificity, precision, f1, auc (at
    ``probs[:, positive] >= threshold``, threshold None -> 0.5).  K > 2:
    accuracy, macro_f1, macro_auc (argmax; an explicit threshold raises).
    All resamples are evaluated in one vectorised pass from per-resample
    sample counts; they are the same resamples ``bootstrap_ci`` draws for the
    same seed/stratified.  With stratified=False a resample may lack a class;
    its AUC is then skipped (nan) but its rates follow the 0.0 zero-division rule.
    """
    _check_bootstrap_args(n_boot, alpha)
    y, p = labels_and_probs(y_true, probs)
    k = p.shape[1]
    binary = k == 2
    if not binary and threshold is not None:
        raise ValueError("threshold only applies to binary tasks (K == 2); K > 2 uses argmax")
    pos = check_positive(positive, 2) if binary else None
    pred = predict_labels(p, positive=positive, threshold=threshold)
    cm = confusion_matrix(y, pred, k)
    names = BINARY_CI_METRICS if binary else MULTICLASS_HEADLINE_METRICS

    point = _headline_metrics(y, p, pred, np.ones((1, y.size)), pos)
    boot_blocks = [
        _headline_metrics(y, p, pred, _resample_counts(block, y.size), pos)
        for block in _bootstrap_index_blocks(y, n_boot, seed, stratified)
    ]

    result: dict[str, Any] = {"n": int(y.size), "num_classes": k}
    for name in names:
        boot = np.concatenate([b[name] for b in boot_blocks]) if boot_blocks else np.empty(0)
        low, high = _percentile_interval(boot, alpha)
        result[name] = {"value": float(point[name][0]), "ci_low": low, "ci_high": high}
    result |= {
        "ece": expected_calibration_error(y, p),
        "confusion_matrix": cm.tolist(),
        "threshold": (DEFAULT_THRESHOLD if threshold is None else float(threshold)) if binary else None,
        "positive": pos,
        "n_boot": int(n_boot),
        "alpha": float(alpha),
    }
    return result


def _headline_metrics(
    y: np.ndarray, p: np.ndarray, pred: np.ndarray, weights: np.ndarray, positive: int | None
) -> dict[str, np.ndarray]:
    """Headline metrics for each row of sample weights (B, N) -> dict of (B,) arrays."""
    k = p.shape[1]
    cell_one_hot = np.zeros((y.size, k * k))
    cell_one_hot[np.arange(y.size), y * k + pred] = 1.0
    cms = (weights @ cell_one_hot).reshape(-1, k, k)
    metrics = rates_from_confusion(cms, positive)
    if k == 2:
        metrics["auc"] = weighted_auc(p[:, positive], y == positive, weights)
    else:
        per_class = np.stack([weighted_auc(p[:, c], y == c, weights) for c in range(k)], axis=1)
        metrics["macro_auc"] = per_class.mean(axis=1)  # nan if any class is absent
    return metrics
