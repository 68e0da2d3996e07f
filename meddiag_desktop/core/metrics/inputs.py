"""Input checks shared by the metric modules: arrays in, validated numpy arrays out (see the package
docstring for the conventions they enforce)."""

from __future__ import annotations

from typing import Any

import numpy as np


def as_labels(y_true: Any, name: str = "y_true") -> np.ndarray:
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


def as_probs(probs: Any, n: int | None = None, name: str = "probs") -> np.ndarray:
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 2:
        raise ValueError(f"{name} must have shape (N, K) with K >= 2, got {p.shape}")
    if n is not None and p.shape[0] != n:
        raise ValueError(f"{name} has {p.shape[0]} rows but y_true has {n}")
    if not np.all(np.isfinite(p)):
        raise ValueError(f"{name} contains nan or inf")
    return p


def as_scores(scores: Any, n: int) -> np.ndarray:
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1 or s.shape[0] != n:
        raise ValueError(f"scores must have shape ({n},), got {s.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores contain nan or inf")
    return s


def labels_and_probs(y_true: Any, probs: Any, name: str = "probs") -> tuple[np.ndarray, np.ndarray]:
    y = as_labels(y_true)
    p = as_probs(probs, n=y.size, name=name)
    k = p.shape[1]
    if y.min() < 0 or y.max() >= k:
        raise ValueError(f"y_true must lie in [0, {k}), got range [{y.min()}, {y.max()}]")
    return y, p


def binary_inputs(y_true: Any, scores: Any, positive: int) -> tuple[np.ndarray, np.ndarray]:
    """(is_positive bool mask, float scores) for the binary functions."""
    y = as_labels(y_true)
    return y == positive, as_scores(scores, y.size)


def require_both_classes(is_pos: np.ndarray) -> None:
    if is_pos.all() or not is_pos.any():
        raise ValueError("need at least one positive and one negative sample")


def check_positive(positive: int, num_classes: int) -> int:
    if not 0 <= int(positive) < num_classes:
        raise ValueError(f"positive={positive} is not a class index for K={num_classes}")
    return int(positive)


def safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den elementwise, 0.0 where den == 0."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.zeros(np.broadcast(num, den).shape)
    np.divide(num, den, out=out, where=den != 0)
    return out
