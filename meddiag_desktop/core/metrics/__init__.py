"""Evaluation metrics for classifiers: confusion matrices, ROC/AUC, reports,
bootstrap confidence intervals, calibration (ECE, temperature scaling) and
binary operating points.  numpy only; every function is pure.

Conventions used throughout:

* ``y_true`` is an int array (N,) of class indices in ``[0, K)``.
* ``probs`` is a float array (N, K), K >= 2, of class probabilities (rows are
  not required to sum to 1).  ``logits`` (N, K) where stated.
* Binary tasks have K == 2 and take ``positive=`` (default 1): the index of the
  clinically positive class (e.g. 0 for "malignant" in the breast task).
  ``scores`` for binary functions are the scores of the positive class
  (usually ``probs[:, positive]``); higher means "more positive".
* A sample is predicted positive when ``score >= threshold`` (inclusive).
* A ratio whose denominator is 0 (e.g. precision with no positive predictions)
  is reported as 0.0, like scikit-learn's ``zero_division=0``; an undefined AUC
  (only one class present) is nan.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from ..metric_ci import MULTICLASS_HEADLINE_METRICS, format_metric  # re-exported

__all__ = [
    "BINARY_HEADLINE_METRICS",
    "MULTICLASS_HEADLINE_METRICS",
    "apply_temperature",
    "bootstrap_ci",
    "classification_report",
    "confusion_matrix",
    "expected_calibration_error",
    "format_metric",
    "fit_temperature",
    "log_softmax",
    "metrics_with_ci",
    "nll",
    "predict_labels",
    "reliability_curve",
    "roc_auc",
    "roc_auc_ovr",
    "roc_curve",
    "softmax",
    "threshold_for_sensitivity",
    "threshold_for_specificity",
    "threshold_youden",
    "to_jsonable",
]

BINARY_HEADLINE_METRICS = ("accuracy", "sensitivity", "specificity", "precision", "f1", "auc")

DEFAULT_THRESHOLD = 0.5
# Bootstrap resamples are drawn in blocks of about this many indices, so memory
# stays bounded for large N.  The block size depends on N only, which keeps the
# random stream identical between bootstrap_ci and metrics_with_ci.
_BOOTSTRAP_BLOCK_ELEMENTS = 2_000_000


# --------------------------------------------------------------------------- input checks


def _as_labels(y_true: Any, name: str = "y_true") -> np.ndarray:
    y = np.asarray(y_true)
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {y.shape}")
    if y.size == 0:
        raise ValueError(f"{name} is empty")
    if y.dtype == bool:
        return y.astype(np.int64)
    if not np.issubdtype(y.dtype, np.integer):
        if not np.issubdtype(y.dtype, np.floating) or not np.all(y == np.round(y)):
            raise ValueError(f"{name} must hold integer class indices")
    return y.astype(np.int64)


def _as_probs(probs: Any, n: int | None = None, name: str = "probs") -> np.ndarray:
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 2:
        raise ValueError(f"{name} must have shape (N, K) with K >= 2, got {p.shape}")
    if n is not None and p.shape[0] != n:
        raise ValueError(f"{name} has {p.shape[0]} rows but y_true has {n}")
    if not np.all(np.isfinite(p)):
        raise ValueError(f"{name} contains nan or inf")
    return p


def _as_scores(scores: Any, n: int) -> np.ndarray:
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1 or s.shape[0] != n:
        raise ValueError(f"scores must have shape ({n},), got {s.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores contain nan or inf")
    return s


def _labels_and_probs(y_true: Any, probs: Any, name: str = "probs") -> tuple[np.ndarray, np.ndarray]:
    y = _as_labels(y_true)
    p = _as_probs(probs, n=y.size, name=name)
    k = p.shape[1]
    if y.min() < 0 or y.max() >= k:
        raise ValueError(f"y_true must lie in [0, {k}), got range [{y.min()}, {y.max()}]")
    return y, p


def _binary_inputs(y_true: Any, scores: Any, positive: int) -> tuple[np.ndarray, np.ndarray]:
    """(is_positive bool mask, float scores) for the binary functions."""
    y = _as_labels(y_true)
    return y == positive, _as_scores(scores, y.size)


def _require_both_classes(is_pos: np.ndarray) -> None:
    if is_pos.all() or not is_pos.any():
        raise ValueError("need at least one positive and one negative sample")


def _check_positive(positive: int, num_classes: int) -> int:
    if not 0 <= int(positive) < num_classes:
        raise ValueError(f"positive={positive} is not a class index for K={num_classes}")
    return int(positive)


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den elementwise, 0.0 where den == 0."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.zeros(np.broadcast(num, den).shape)
    np.divide(num, den, out=out, where=den != 0)
    return out


# --------------------------------------------------------------------------- predictions / confusion


def predict_labels(probs: Any, *, positive: int = 1, threshold: float | None = None) -> np.ndarray:
    """Predicted classes: binary -> `positive` iff probs[:, positive] >= threshold (default 0.5); K>2 -> argmax."""
    p = _as_probs(probs)
    k = p.shape[1]
    if k == 2:
        pos = _check_positive(positive, 2)
        t = DEFAULT_THRESHOLD if threshold is None else float(threshold)
        if math.isnan(t):
            raise ValueError("threshold is nan")
        return np.where(p[:, pos] >= t, pos, 1 - pos).astype(np.int64)
    if threshold is not None:
        raise ValueError("threshold only applies to binary tasks (K == 2); K > 2 uses argmax")
    return np.argmax(p, axis=1).astype(np.int64)


def confusion_matrix(y_true: Any, y_pred: Any, num_classes: int) -> np.ndarray:
    """(K, K) int64 count matrix; rows = true class, columns = predicted class."""
    y = _as_labels(y_true)
    yp = _as_labels(y_pred, "y_pred")
    if y.shape != yp.shape:
        raise ValueError("y_true and y_pred differ in length")
    k = int(num_classes)
    for arr, name in ((y, "y_true"), (yp, "y_pred")):
        if arr.min() < 0 or arr.max() >= k:
            raise ValueError(f"{name} must lie in [0, {k})")
    return np.bincount(y * k + yp, minlength=k * k).reshape(k, k).astype(np.int64)


def _rates_from_confusion(cm: np.ndarray, positive: int | None) -> dict[str, np.ndarray]:
    """All confusion-derived metrics for a batch of confusion matrices (B, K, K) -> (B,) or (B, K) arrays."""
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    support = cm.sum(axis=-1)
    predicted = cm.sum(axis=-2)
    precision = _safe_div(tp, predicted)
    recall = _safe_div(tp, support)
    f1 = _safe_div(2.0 * tp, support + predicted)  # == 2PR/(P+R), 0 when TP == 0
    out = {
        "accuracy": _safe_div(tp.sum(axis=-1), cm.sum(axis=(-2, -1))),
        "macro_precision": precision.mean(axis=-1),
        "macro_recall": recall.mean(axis=-1),
        "macro_f1": f1.mean(axis=-1),
        "class_precision": precision,
        "class_recall": recall,
        "class_f1": f1,
        "class_support": support,
    }
    if cm.shape[-1] == 2 and positive is not None:
        neg = 1 - positive
        out |= {
            "sensitivity": recall[..., positive],
            "specificity": recall[..., neg],
            "precision": precision[..., positive],
            "npv": precision[..., neg],
            "f1": f1[..., positive],
        }
    return out


# --------------------------------------------------------------------------- ROC / AUC


def _weighted_auc(scores: np.ndarray, is_pos: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """AUC for each row of sample weights (B, N): P(s+ > s-) + 0.5 P(s+ == s-) (Mann-Whitney, ties = 1/2)."""
    order = np.argsort(scores, kind="stable")
    sorted_scores = scores[order]
    group_starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
    w = weights[:, order]
    pos_sorted = is_pos[order]
    w_pos = np.add.reduceat(w * pos_sorted, group_starts, axis=1)  # (B, G) per tied-score group
    w_neg = np.add.reduceat(w * ~pos_sorted, group_starts, axis=1)
    neg_below = np.cumsum(w_neg, axis=1) - w_neg
    wins = (w_pos * (neg_below + 0.5 * w_neg)).sum(axis=1)
    pairs = w_pos.sum(axis=1) * w_neg.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pairs > 0, wins / np.where(pairs > 0, pairs, 1.0), np.nan)


def roc_auc(y_true: Any, scores: Any, *, positive: int = 1) -> float:
    """Binary ROC AUC of `scores` for class `positive` (ties count 1/2, == sklearn); nan if one class is absent."""
    is_pos, s = _binary_inputs(y_true, scores, positive)
    return float(_weighted_auc(s, is_pos, np.ones((1, s.size)))[0])


def roc_auc_ovr(y_true: Any, probs: Any) -> float:
    """Macro one-vs-rest AUC: mean over classes k of roc_auc(y == k, probs[:, k]); nan if any class is absent."""
    y, p = _labels_and_probs(y_true, probs)
    ones = np.ones((1, y.size))
    per_class = [_weighted_auc(p[:, k], y == k, ones)[0] for k in range(p.shape[1])]
    return float(np.mean(per_class))


def roc_curve(
    y_true: Any, scores: Any, *, positive: int = 1, drop_intermediate: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fpr, tpr, thresholds) exactly like sklearn.metrics.roc_curve.

    Thresholds are the distinct scores in descending order, preceded by +inf
    (the "flag nobody" point, fpr = tpr = 0); point i is the rate of
    ``scores >= thresholds[i]``.  ``drop_intermediate`` removes collinear
    points as sklearn does.  fpr (tpr) is nan when there are no negatives
    (positives).
    """
    is_pos, s = _binary_inputs(y_true, scores, positive)
    fps, tps, thresholds = _binary_counts_at_thresholds(is_pos, s)
    if drop_intermediate and fps.size > 2:
        corners = np.logical_or(np.diff(fps, 2), np.diff(tps, 2))
        keep = np.flatnonzero(np.r_[True, corners, True])
        fps, tps, thresholds = fps[keep], tps[keep], thresholds[keep]
    fps = np.r_[0.0, fps]
    tps = np.r_[0.0, tps]
    thresholds = np.r_[np.inf, thresholds]
    fpr = fps / fps[-1] if fps[-1] > 0 else np.full(fps.shape, np.nan)
    tpr = tps / tps[-1] if tps[-1] > 0 else np.full(tps.shape, np.nan)
    return fpr, tpr, thresholds


def _binary_counts_at_thresholds(
    is_pos: np.ndarray, scores: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(false positives, true positives, threshold) for `scores >= t` at each distinct score t, descending."""
    order = np.argsort(scores, kind="mergesort")[::-1]
    sorted_scores = scores[order]
    last_of_group = np.r_[np.flatnonzero(np.diff(sorted_scores)), scores.size - 1]
    tps = np.cumsum(is_pos[order], dtype=np.float64)[last_of_group]
    fps = 1.0 + last_of_group - tps
    return fps, tps, sorted_scores[last_of_group]


# --------------------------------------------------------------------------- reports


def classification_report(
    y_true: Any,
    probs: Any,
    *,
    positive: int = 1,
    threshold: float | None = None,
    labels: Sequence[str] | None = None,
) -> dict[str, Any]:
    """JSON-ready dict of accuracy, per-class/macro P/R/F1, confusion matrix and AUC (+ binary operating-point rates).

    Binary (K == 2): prediction = ``positive`` iff ``probs[:, positive] >=
    threshold`` (default 0.5); adds sensitivity, specificity, precision (PPV),
    npv, f1 (of the positive class), auc and the threshold used.  K > 2:
    argmax prediction (``threshold`` must be None, ``positive`` is ignored) and
    macro one-vs-rest ``macro_auc``.  Macro F1 is the mean of per-class F1.
    Zero divisions give 0.0; undefined AUC gives nan (see ``to_jsonable``).
    """
    y, p = _labels_and_probs(y_true, probs)
    k = p.shape[1]
    binary = k == 2
    pos = _check_positive(positive, 2) if binary else None
    names = [str(i) for i in range(k)] if labels is None else [str(label) for label in labels]
    if len(names) != k or len(set(names)) != k:
        raise ValueError(f"labels must be {k} distinct names, got {names}")

    if not binary and threshold is not None:
        raise ValueError("threshold only applies to binary tasks (K == 2)")
    pred = predict_labels(p, positive=positive, threshold=threshold)
    cm = confusion_matrix(y, pred, k)
    rates = {name: values[0] for name, values in _rates_from_confusion(cm[None], pos).items()}

    report: dict[str, Any] = {
        "n": int(y.size),
        "num_classes": k,
        "labels": names,
        "accuracy": float(rates["accuracy"]),
        "macro_precision": float(rates["macro_precision"]),
        "macro_recall": float(rates["macro_recall"]),
        "macro_f1": float(rates["macro_f1"]),
        "per_class": {
            name: {
                "precision": float(rates["class_precision"][i]),
                "recall": float(rates["class_recall"][i]),
                "f1": float(rates["class_f1"][i]),
                "support": int(rates["class_support"][i]),
            }
            for i, name in enumerate(names)
        },
        "confusion_matrix": cm.tolist(),
    }
    if binary:
        report |= {
            "positive": pos,
            "threshold": DEFAULT_THRESHOLD if threshold is None else float(threshold),
            **{m: float(rates[m]) for m in ("sensitivity", "specificity", "precision", "npv", "f1")},
            "auc": roc_auc(y, p[:, pos], positive=pos),
        }
    else:
        report["macro_auc"] = roc_auc_ovr(y, p)
    return report


def to_jsonable(obj: Any) -> Any:
    """Recursively convert numpy types/arrays to plain Python, tuples to lists, and nan/±inf floats to None."""
    if isinstance(obj, Mapping):
        return {str(key): to_jsonable(value) for key, value in obj.items()}
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(value) for value in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


# --------------------------------------------------------------------------- bootstrap


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
    y = _as_labels(y_true)
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
    y, p = _labels_and_probs(y_true, probs)
    k = p.shape[1]
    binary = k == 2
    if not binary and threshold is not None:
        raise ValueError("threshold only applies to binary tasks (K == 2); K > 2 uses argmax")
    pos = _check_positive(positive, 2) if binary else None
    pred = predict_labels(p, positive=positive, threshold=threshold)
    cm = confusion_matrix(y, pred, k)
    names = BINARY_HEADLINE_METRICS if binary else MULTICLASS_HEADLINE_METRICS

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
    metrics = _rates_from_confusion(cms, positive)
    if k == 2:
        metrics["auc"] = _weighted_auc(p[:, positive], y == positive, weights)
    else:
        per_class = np.stack([_weighted_auc(p[:, c], y == c, weights) for c in range(k)], axis=1)
        metrics["macro_auc"] = per_class.mean(axis=1)  # nan if any class is absent
    return metrics


# --------------------------------------------------------------------------- calibration


def reliability_curve(y_true: Any, probs: Any, n_bins: int = 15) -> dict[str, np.ndarray]:
    """Top-label reliability diagram: per equal-width confidence bin (lo, hi], mean confidence, accuracy, count.

    Confidence = max prob, correct = (argmax == y).  Empty bins have nan
    confidence/accuracy and count 0.  Bin 0 also takes confidence exactly 0.
    """
    y, p = _labels_and_probs(y_true, probs)
    if n_bins < 1:
        raise ValueError("n_bins must be >= 1")
    confidence = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)
    count = np.bincount(bins, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(bins, weights=confidence, minlength=n_bins) / count
        accuracy = np.bincount(bins, weights=correct, minlength=n_bins) / count
    return {"bin_edges": edges, "confidence": mean_conf, "accuracy": accuracy, "count": count}


def expected_calibration_error(y_true: Any, probs: Any, n_bins: int = 15) -> float:
    """Top-label ECE (Guo et al. 2017): sum over equal-width bins of (count/N) * |accuracy - confidence|."""
    curve = reliability_curve(y_true, probs, n_bins)
    count = curve["count"]
    gaps = np.abs(curve["accuracy"] - curve["confidence"])
    return float(np.sum(count[count > 0] / count.sum() * gaps[count > 0]))


def log_softmax(logits: Any) -> np.ndarray:
    """Numerically stable log-softmax over the last axis."""
    z = np.asarray(logits, dtype=np.float64)
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax(logits: Any) -> np.ndarray:
    """Numerically stable softmax over the last axis."""
    return np.exp(log_softmax(logits))


def _check_temperature(temperature: float) -> float:
    t = float(temperature)
    if not (t > 0 and math.isfinite(t)):
        raise ValueError(f"temperature must be a finite positive number, got {temperature}")
    return t


def apply_temperature(logits: Any, temperature: float) -> np.ndarray:
    """softmax(logits / T)."""
    return softmax(np.asarray(logits, dtype=np.float64) / _check_temperature(temperature))


def nll(logits: Any, y_true: Any, T: float = 1.0) -> float:
    """Mean negative log-likelihood of y_true under softmax(logits / T)."""
    y, z = _labels_and_probs(y_true, logits, name="logits")
    log_p = log_softmax(z / _check_temperature(T))
    return float(-log_p[np.arange(y.size), y].mean())


def fit_temperature(
    logits: Any, y_true: Any, *, t_min: float = 0.05, t_max: float = 20.0, tol: float = 1e-6
) -> float:
    """Temperature T in [t_min, t_max] minimising nll(logits, y_true, T) (grid on log T, then golden section).

    NLL is convex in 1/T, hence unimodal in log T, so a coarse grid brackets the
    minimum and golden-section search refines it to ``tol`` in log T.  Returns
    1.0 when the NLL does not depend on T (e.g. all logits equal per row) and a
    bound when the optimum lies outside [t_min, t_max] (e.g. separable data).
    """
    y, z = _labels_and_probs(y_true, logits, name="logits")
    if not 0 < t_min < t_max:
        raise ValueError("need 0 < t_min < t_max")
    # Row-shift so each row's max is 0: it stays 0 after dividing by T, so the
    # objective needs no per-call max for stability.
    shifted = z - z.max(axis=1, keepdims=True)
    target_logit_mean = float(shifted[np.arange(y.size), y].mean())

    def objective(log_t: float) -> float:
        inv_t = math.exp(-log_t)
        log_norm = np.log(np.exp(shifted * inv_t).sum(axis=1))
        return float(log_norm.mean() - inv_t * target_logit_mean)

    grid = np.linspace(math.log(t_min), math.log(t_max), 25)
    values = np.array([objective(g) for g in grid])
    if np.ptp(values) <= 1e-12 * max(1.0, float(np.abs(values).max())):
        return float(min(max(1.0, t_min), t_max))
    best = int(np.argmin(values))
    low, high = grid[max(best - 1, 0)], grid[min(best + 1, grid.size - 1)]
    log_t = _golden_section_minimize(objective, low, high, tol)
    if objective(log_t) > values[best]:  # guard: never worse than the grid optimum
        log_t = grid[best]
    return float(math.exp(log_t))


def fit_platt(scores: Any, y_true: Any, *, ridge: float = 1e-4, iterations: int = 50) -> tuple[float, float]:
    """Platt scaling: (a, c) maximising the likelihood of P(y=1) = sigmoid(a * score + c).

    Newton's method on the convex logistic NLL with a small ridge (so separable data still gives
    finite values); ``scores`` is the binary logit difference z_pos - z_neg, ``y_true`` 0/1.
    """
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(y_true, dtype=np.float64).ravel()
    if s.size != y.size or s.size == 0:
        raise ValueError("scores and y_true must be non-empty and the same length")
    x = np.stack([s, np.ones_like(s)], axis=1)

    def objective(w: np.ndarray) -> float:
        z = x @ w
        return float(np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * ridge * w @ w)

    w = np.array([1.0, 0.0])
    value = objective(w)
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -500, 500)))
        grad = x.T @ (p - y) / s.size + ridge * w
        hess = (x * (p * (1 - p))[:, None]).T @ x / s.size + ridge * np.eye(2)
        step, t = np.linalg.solve(hess, grad), 1.0
        while objective(w - t * step) > value - 1e-4 * t * grad @ step and t > 1e-8:  # backtracking
            t /= 2
        w = w - t * step
        new_value = objective(w)
        if value - new_value < 1e-12:
            break
        value = new_value
    return float(w[0]), float(w[1])


def _golden_section_minimize(f: Callable[[float], float], low: float, high: float, tol: float) -> float:
    """Minimiser of a unimodal f on [low, high] to within tol."""
    inv_phi = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = low, high
    c, d = b - inv_phi * (b - a), a + inv_phi * (b - a)
    fc, fd = f(c), f(d)
    while b - a > tol:
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - inv_phi * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + inv_phi * (b - a)
            fd = f(d)
    return (a + b) / 2.0


# --------------------------------------------------------------------------- operating points (binary)


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
    is_pos, s = _binary_inputs(y_true, scores, positive)
    _require_both_classes(is_pos)
    fps, tps, thresholds = _binary_counts_at_thresholds(is_pos, s)
    n_pos, n_neg = int(is_pos.sum()), int((~is_pos).sum())
    j_scaled = tps.astype(np.int64) * n_neg - fps.astype(np.int64) * n_pos  # J * n_pos * n_neg
    return float(thresholds[int(np.argmax(j_scaled))])  # first max = fewest false positives


def threshold_for_sensitivity(
    y_true: Any, scores: Any, target: float = 0.95, *, positive: int = 1
) -> float:
    """Largest t with sensitivity(`scores >= t`) >= target, i.e. the most specific such threshold.

    t is a positive sample's score: the ceil(target * n_pos)-th highest one.
    """
    is_pos, s = _binary_inputs(y_true, scores, positive)
    _require_both_classes(is_pos)
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
    is_pos, s = _binary_inputs(y_true, scores, positive)
    _require_both_classes(is_pos)
    negatives_asc = np.sort(s[~is_pos])
    k = _min_count_for_rate(target, negatives_asc.size)
    must_exceed = negatives_asc[k - 1]  # t > this leaves >= k negatives below t
    above = s[s > must_exceed]
    return float(above.min()) if above.size else float(np.nextafter(must_exceed, np.inf))
