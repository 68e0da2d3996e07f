"""Classification metrics at one operating point: predicted labels, confusion matrices, ROC / AUC and
the JSON-ready classification report."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .inputs import as_labels, as_probs, binary_inputs, check_positive, labels_and_probs, safe_div

DEFAULT_THRESHOLD = 0.5


# --------------------------------------------------------------------------- predictions / confusion


def predict_labels(probs: Any, *, positive: int = 1, threshold: float | None = None) -> np.ndarray:
    """Predicted classes: binary -> `positive` iff probs[:, positive] >= threshold (default 0.5); K>2 -> argmax."""
    p = as_probs(probs)
    k = p.shape[1]
    if k == 2:
        pos = check_positive(positive, 2)
        t = DEFAULT_THRESHOLD if threshold is None else float(threshold)
        if math.isnan(t):
            raise ValueError("threshold is nan")
        return np.where(p[:, pos] >= t, pos, 1 - pos).astype(np.int64)
    if threshold is not None:
        raise ValueError("threshold only applies to binary tasks (K == 2); K > 2 uses argmax")
    return np.argmax(p, axis=1).astype(np.int64)


def confusion_matrix(y_true: Any, y_pred: Any, num_classes: int) -> np.ndarray:
    """(K, K) int64 count matrix; rows = true class, columns = predicted class."""
    y = as_labels(y_true)
    yp = as_labels(y_pred, "y_pred")
    if y.shape != yp.shape:
        raise ValueError("y_true and y_pred differ in length")
    k = int(num_classes)
    for arr, name in ((y, "y_true"), (yp, "y_pred")):
        if arr.min() < 0 or arr.max() >= k:
            raise ValueError(f"{name} must lie in [0, {k})")
    return np.bincount(y * k + yp, minlength=k * k).reshape(k, k).astype(np.int64)


def rates_from_confusion(cm: np.ndarray, positive: int | None) -> dict[str, np.ndarray]:
    """All confusion-derived metrics for a batch of confusion matrices (B, K, K) -> (B,) or (B, K) arrays."""
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    support = cm.sum(axis=-1)
    predicted = cm.sum(axis=-2)
    precision = safe_div(tp, predicted)
    recall = safe_div(tp, support)
    f1 = safe_div(2.0 * tp, support + predicted)  # == 2PR/(P+R), 0 when TP == 0
    out = {
        "accuracy": safe_div(tp.sum(axis=-1), cm.sum(axis=(-2, -1))),
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


def weighted_auc(scores: np.ndarray, is_pos: np.ndarray, weights: np.ndarray) -> np.ndarray:
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
    is_pos, s = binary_inputs(y_true, scores, positive)
    return float(weighted_auc(s, is_pos, np.ones((1, s.size)))[0])


def roc_auc_ovr(y_true: Any, probs: Any) -> float:
    """Macro one-vs-rest AUC: mean over classes k of roc_auc(y == k, probs[:, k]); nan if any class is absent."""
    y, p = labels_and_probs(y_true, probs)
    ones = np.ones((1, y.size))
    per_class = [weighted_auc(p[:, k], y == k, ones)[0] for k in range(p.shape[1])]
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
    is_pos, s = binary_inputs(y_true, scores, positive)
    fps, tps, thresholds = binary_counts_at_thresholds(is_pos, s)
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


def binary_counts_at_thresholds(
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
    y, p = labels_and_probs(y_true, probs)
    k = p.shape[1]
    binary = k == 2
    pos = check_positive(positive, 2) if binary else None
    names = [str(i) for i in range(k)] if labels is None else [str(label) for label in labels]
    if len(names) != k or len(set(names)) != k:
        raise ValueError(f"labels must be {k} distinct names, got {names}")

    if not binary and threshold is not None:
        raise ValueError("threshold only applies to binary tasks (K == 2)")
    pred = predict_labels(p, positive=positive, threshold=threshold)
    cm = confusion_matrix(y, pred, k)
    rates = {name: values[0] for name, values in rates_from_confusion(cm[None], pos).items()}

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
