"""Calibration: reliability curves and ECE, softmax, temperature scaling and Platt scaling."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .inputs import labels_and_probs


def reliability_curve(y_true: Any, probs: Any, n_bins: int = 15) -> dict[str, np.ndarray]:
    """Top-label reliability diagram: per equal-width confidence bin (lo, hi], mean confidence, accuracy, count.

    Confidence = max prob, correct = (argmax == y).  Empty bins have nan
    confidence/accuracy and count 0.  Bin 0 also takes confidence exactly 0.
    """
    y, p = labels_and_probs(y_true, probs)
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
    y, z = labels_and_probs(y_true, logits, name="logits")
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
    y, z = labels_and_probs(y_true, logits, name="logits")
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
