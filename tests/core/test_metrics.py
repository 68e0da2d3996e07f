"""Tests for meddiag_desktop.core.metrics (hand-computed cases, properties, sklearn parity)."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meddiag_desktop.core import metrics as M
from meddiag_desktop.core.metric_ci import MULTICLASS_HEADLINE_METRICS

# --------------------------------------------------------------------------- shared hand example
# 4 positives (class 1), 6 negatives (class 0).  P(class 1):
#   positives: 0.9 0.8 0.6 0.3          negatives: 0.7 0.4 0.2 0.1 0.55 0.05
# At threshold 0.5: TP = 3 (0.9, 0.8, 0.6), FN = 1 (0.3), FP = 2 (0.7, 0.55), TN = 4.
#   sensitivity = 3/4, specificity = 4/6, precision = 3/5, NPV = 4/5,
#   F1 = 2*3 / (2*3 + 2 + 1) = 6/9, accuracy = (3 + 4)/10.
# AUC (Mann-Whitney): pairs pos > neg: 0.9 -> 6, 0.8 -> 6, 0.6 -> 5, 0.3 -> 3 = 20 of 24.
HAND_Y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
HAND_P1 = np.array([0.9, 0.8, 0.6, 0.3, 0.7, 0.4, 0.2, 0.1, 0.55, 0.05])
HAND_PROBS = np.column_stack([1 - HAND_P1, HAND_P1])


def _binary_data(seed: int, n: int = 600, separation: float = 1.0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p1 = 1 / (1 + np.exp(-(separation * (2 * y - 1) + rng.normal(size=n))))
    return y, np.column_stack([1 - p1, p1])


def _multiclass_data(seed: int, n: int = 600, k: int = 4):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), y] += 1.0
    return y, M.softmax(logits)


# --------------------------------------------------------------------------- hand-computed


def test_binary_report_hand_example():
    r = M.classification_report(HAND_Y, HAND_PROBS)
    assert r["confusion_matrix"] == [[4, 2], [1, 3]]
    assert r["sensitivity"] == pytest.approx(3 / 4)
    assert r["specificity"] == pytest.approx(4 / 6)
    assert r["precision"] == pytest.approx(3 / 5)
    assert r["npv"] == pytest.approx(4 / 5)
    assert r["f1"] == pytest.approx(6 / 9)
    assert r["accuracy"] == pytest.approx(0.7)
    assert r["auc"] == pytest.approx(20 / 24)
    assert r["threshold"] == 0.5 and r["positive"] == 1
    assert r["per_class"]["0"]["support"] == 6 and r["per_class"]["1"]["support"] == 4
    # class 0: precision = TN/(TN+FN) = 4/5, recall = 4/6 -> F1 = 8/(8+2+1)
    assert r["per_class"]["0"]["f1"] == pytest.approx(8 / 11)
    assert r["macro_f1"] == pytest.approx((8 / 11 + 6 / 9) / 2)
    json.dumps(r)  # plain Python types only


def test_positive_zero_flips_roles():
    # Same data, class 0 as positive: sensitivity = recall of class 0 = 4/6.
    r = M.classification_report(HAND_Y, HAND_PROBS, positive=0)
    assert r["sensitivity"] == pytest.approx(4 / 6)
    assert r["specificity"] == pytest.approx(3 / 4)
    assert r["precision"] == pytest.approx(4 / 5)
    assert r["npv"] == pytest.approx(3 / 5)
    assert r["auc"] == pytest.approx(20 / 24)
    # Relabelled data (breast-style: 0 = malignant) gives the original numbers.
    flipped = M.classification_report(1 - HAND_Y, HAND_PROBS[:, ::-1], positive=0)
    for key in ("sensitivity", "specificity", "precision", "npv", "f1", "auc", "accuracy"):
        assert flipped[key] == pytest.approx(M.classification_report(HAND_Y, HAND_PROBS)[key])


def test_threshold_is_inclusive():
    y = np.array([1, 0])
    probs = np.array([[0.3, 0.7], [0.6, 0.4]])
    assert M.predict_labels(probs, threshold=0.7).tolist() == [1, 0]
    assert M.predict_labels(probs, threshold=0.7000001).tolist() == [0, 0]
    assert M.classification_report(y, probs, threshold=0.4)["specificity"] == 0.0


def test_zero_division_gives_zero():
    y = np.array([0, 0, 1])
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.7, 0.3]])  # nothing predicted positive
    r = M.classification_report(y, probs)
    assert r["precision"] == 0.0 and r["f1"] == 0.0 and r["sensitivity"] == 0.0


def test_three_class_hand_example():
    # rows = true: [3,0,0], [0,2,1], [2,0,1]; column sums [5,2,2].
    # class 0: P 3/5, R 1,   F1 6/8 = .75
    # class 1: P 1,   R 2/3, F1 4/5 = .8
    # class 2: P 1/2, R 1/3, F1 2/5 = .4   -> macro F1 = 1.95/3 = .65
    y = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2])
    pred = np.array([0, 0, 0, 1, 1, 2, 2, 0, 0])
    cm = M.confusion_matrix(y, pred, 3)
    assert cm.tolist() == [[3, 0, 0], [0, 2, 1], [2, 0, 1]]
    probs = np.eye(3)[pred] * 0.8 + 0.1 * (1 - np.eye(3)[pred])
    r = M.classification_report(y, probs, labels=["a", "b", "c"])
    assert r["confusion_matrix"] == cm.tolist()
    assert r["macro_f1"] == pytest.approx(0.65)
    assert r["macro_precision"] == pytest.approx(0.7)
    assert r["macro_recall"] == pytest.approx(2 / 3)
    assert r["accuracy"] == pytest.approx(6 / 9)
    assert r["per_class"]["c"]["f1"] == pytest.approx(0.4)
    assert "macro_auc" in r and "sensitivity" not in r
    with pytest.raises(ValueError):
        M.classification_report(y, probs, threshold=0.5)


def test_auc_special_cases():
    y = np.array([0, 0, 1, 1])
    assert M.roc_auc(y, [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert M.roc_auc(y, [0.9, 0.8, 0.2, 0.1]) == 0.0
    assert M.roc_auc(y, [0.5, 0.5, 0.5, 0.5]) == 0.5
    # Ties: pos 0.5 beats neg 0.1 (1) and ties neg 0.5 (1/2); pos 0.9 beats both (2) -> 3.5/4.
    assert M.roc_auc(y, [0.1, 0.5, 0.5, 0.9]) == 0.875
    assert M.roc_auc(HAND_Y, HAND_P1) == pytest.approx(20 / 24)
    assert math.isnan(M.roc_auc([1, 1, 1], [0.2, 0.3, 0.4]))


def test_roc_curve_hand_example():
    fpr, tpr, thr = M.roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], drop_intermediate=False)
    assert np.isinf(thr[0]) and np.all(np.diff(thr) < 0)
    assert thr[1:].tolist() == [0.8, 0.4, 0.35, 0.1]
    assert tpr.tolist() == [0, 0.5, 0.5, 1, 1]
    assert fpr.tolist() == [0, 0, 0.5, 0.5, 1]


def test_roc_auc_ovr_matches_mean_of_binary():
    y, probs = _multiclass_data(3)
    expected = np.mean([M.roc_auc(y == k, probs[:, k]) for k in range(probs.shape[1])])
    assert M.roc_auc_ovr(y, probs) == pytest.approx(expected)


# --------------------------------------------------------------------------- calibration


def test_ece_hand_example():
    # n_bins=10. Confidences 0.95, 0.95 (bin 9): accuracy 1/2 -> |0.5-0.95| * 2/4 = 0.225.
    # Confidences 0.65, 0.65 (bin 6): both correct -> |1-0.65| * 2/4 = 0.175.  ECE = 0.4.
    y = np.array([1, 0, 1, 0])
    probs = np.array([[0.05, 0.95], [0.05, 0.95], [0.35, 0.65], [0.65, 0.35]])
    assert M.expected_calibration_error(y, probs, n_bins=10) == pytest.approx(0.4)
    curve = M.reliability_curve(y, probs, n_bins=10)
    assert curve["count"].tolist() == [0, 0, 0, 0, 0, 0, 2, 0, 0, 2]
    assert curve["accuracy"][9] == 0.5 and curve["confidence"][6] == pytest.approx(0.65)
    assert np.isnan(curve["accuracy"][0]) and len(curve["bin_edges"]) == 11


def test_ece_bin_edges_are_right_closed():
    # Confidence exactly 0.6 belongs to bin (0.5, 0.6] with n_bins=10.
    curve = M.reliability_curve([1], [[0.4, 0.6]], n_bins=10)
    assert curve["count"][5] == 1


def test_ece_calibrated_small_overconfident_large():
    rng = np.random.default_rng(0)
    p1 = rng.uniform(size=20000)
    y = (rng.uniform(size=p1.size) < p1).astype(int)
    calibrated = np.column_stack([1 - p1, p1])
    sharp = calibrated**4 / (calibrated**4).sum(axis=1, keepdims=True)
    ece_cal = M.expected_calibration_error(y, calibrated)
    ece_sharp = M.expected_calibration_error(y, sharp)
    assert ece_cal < 0.02
    assert ece_sharp > 0.1 > ece_cal


def _overconfident_logits(seed: int, scale: float, n: int = 20000, k: int = 5):
    rng = np.random.default_rng(seed)
    true_logits = rng.normal(scale=1.5, size=(n, k))
    probs = M.softmax(true_logits)
    y = (rng.uniform(size=(n, 1)) > probs.cumsum(axis=1)).sum(axis=1)
    return true_logits * scale, np.minimum(y, k - 1)


def test_fit_temperature_recovers_overconfidence():
    logits, y = _overconfident_logits(0, scale=3.0)
    t = M.fit_temperature(logits, y)
    assert t == pytest.approx(3.0, rel=0.15)
    assert M.nll(logits, y, T=t) < M.nll(logits, y)
    before = M.expected_calibration_error(y, M.softmax(logits))
    after = M.expected_calibration_error(y, M.apply_temperature(logits, t))
    assert after < before
    # The fit is a minimum: nudging T either way does not lower the NLL.
    assert M.nll(logits, y, T=t) <= min(M.nll(logits, y, T=t * 1.01), M.nll(logits, y, T=t / 1.01))


def test_fit_temperature_calibrated_is_about_one():
    logits, y = _overconfident_logits(1, scale=1.0)
    assert M.fit_temperature(logits, y) == pytest.approx(1.0, rel=0.1)


def test_fit_temperature_degenerate_cases():
    assert M.fit_temperature(np.zeros((5, 3)), [0, 1, 2, 0, 1]) == 1.0
    separable = np.array([[2.0, -2.0], [-2.0, 2.0]])
    assert M.fit_temperature(separable, [0, 1]) == pytest.approx(0.05)


def test_softmax_and_nll_are_stable():
    logits = np.array([[1000.0, 0.0], [-1000.0, 0.0]])
    p = M.softmax(logits)
    assert np.all(np.isfinite(p)) and p[0, 0] == 1.0
    assert M.nll(logits, [0, 1]) == pytest.approx(0.0)
    assert M.nll(np.zeros((2, 4)), [0, 3]) == pytest.approx(math.log(4))


# --------------------------------------------------------------------------- operating points


def test_youden_hand_example():
    # J per threshold: .9->.25, .8->.5, .7->.333, .6->.583 (TP3 FP1), .55->.417, ... -> max at 0.6.
    assert M.threshold_youden(HAND_Y, HAND_P1) == 0.6
    # Tie: t=0.9 (sens .5, spec 1) and t=0.7 (sens 1, spec .5) both give J=.5 -> higher specificity.
    assert M.threshold_youden([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.6]) == 0.9


def test_youden_positive_zero():
    assert M.threshold_youden(1 - HAND_Y, HAND_P1, positive=0) == 0.6


def _sens(y, s, t):
    return np.mean(s[y == 1] >= t)


def _spec(y, s, t):
    return np.mean(s[y == 0] < t)


def test_threshold_for_sensitivity_hand():
    assert M.threshold_for_sensitivity(HAND_Y, HAND_P1, 0.75) == 0.6
    assert M.threshold_for_sensitivity(HAND_Y, HAND_P1, 0.95) == 0.3
    assert M.threshold_for_sensitivity(HAND_Y, HAND_P1, 1.0) == 0.3


def test_threshold_for_specificity_hand():
    assert M.threshold_for_specificity(HAND_Y, HAND_P1, 0.95) == 0.8  # must exceed neg 0.7
    assert M.threshold_for_specificity(HAND_Y, HAND_P1, 2 / 3) == 0.55  # 4 negatives < 0.55
    # Highest score is a negative: only "flag nobody" reaches spec 1.
    t = M.threshold_for_specificity([1, 0], [0.2, 0.9], 1.0)
    assert t > 0.9 and _spec(np.array([1, 0]), np.array([0.2, 0.9]), t) == 1.0


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("target", [0.8, 0.9, 0.95, 1.0])
def test_operating_points_are_extremal(seed, target):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 200)
    s = np.round(rng.uniform(size=200) + 0.3 * y, 2)  # rounding creates ties
    candidates = np.unique(s)

    t = M.threshold_for_sensitivity(y, s, target)
    assert _sens(y, s, t) >= target
    larger = candidates[candidates > t]
    assert larger.size == 0 or _sens(y, s, larger.min()) < target

    t = M.threshold_for_specificity(y, s, target)
    assert _spec(y, s, t) >= target
    smaller = candidates[candidates < t]
    assert smaller.size == 0 or _spec(y, s, smaller.max()) < target


def test_youden_is_optimal_on_random_data():
    y, probs = _binary_data(7, n=300)
    s = np.round(probs[:, 1], 2)
    t = M.threshold_youden(y, s)
    best = max(_sens(y, s, c) + _spec(y, s, c) for c in np.unique(s))
    assert _sens(y, s, t) + _spec(y, s, t) == pytest.approx(best)


# --------------------------------------------------------------------------- bootstrap


def _auc_metric(y, probs):
    return M.roc_auc(y, probs[:, 1])


def test_bootstrap_ci_basic_properties():
    y, probs = _binary_data(0, n=200)
    point = _auc_metric(y, probs)
    low, high = M.bootstrap_ci(y, probs, _auc_metric, n_boot=200, seed=1)
    assert low < point < high
    assert (low, high) == M.bootstrap_ci(y, probs, _auc_metric, n_boot=200, seed=1)
    assert (low, high) != M.bootstrap_ci(y, probs, _auc_metric, n_boot=200, seed=2)
    y_big, probs_big = _binary_data(0, n=2000)
    low_big, high_big = M.bootstrap_ci(y_big, probs_big, _auc_metric, n_boot=200, seed=1)
    assert high_big - low_big < 0.6 * (high - low)


def test_bootstrap_ci_skips_nan_resamples():
    # Unstratified resamples of a 1-positive set often lack the positive -> nan AUC, skipped.
    y = np.array([1] + [0] * 9)
    probs = np.column_stack([np.zeros(10), np.linspace(1, 0, 10)])
    low, high = M.bootstrap_ci(y, probs, _auc_metric, n_boot=200, stratified=False)
    assert low == high == 1.0


def test_metrics_with_ci_binary():
    y, probs = _binary_data(0, n=600)
    start = time.perf_counter()
    out = M.metrics_with_ci(y, probs, n_boot=1000, seed=0)
    assert time.perf_counter() - start < 2.0  # ~0.07 s typically
    report = M.classification_report(y, probs)
    for name in M.BINARY_CI_METRICS:
        entry = out[name]
        assert entry["value"] == pytest.approx(report[name], abs=1e-12)
        assert entry["ci_low"] <= entry["value"] <= entry["ci_high"]
    assert out["n"] == 600 and out["threshold"] == 0.5
    assert out["confusion_matrix"] == report["confusion_matrix"]
    assert out["ece"] == pytest.approx(M.expected_calibration_error(y, probs))
    # Same resamples as bootstrap_ci -> identical AUC and sensitivity intervals.
    start = time.perf_counter()
    auc_ci = M.bootstrap_ci(y, probs, _auc_metric, n_boot=1000, seed=0)
    assert time.perf_counter() - start < 2.0  # ~0.2 s typically; loose for shared CI cores
    assert (out["auc"]["ci_low"], out["auc"]["ci_high"]) == pytest.approx(auc_ci, abs=1e-12)

    def sensitivity(yy, pp):
        return M.classification_report(yy, pp)["sensitivity"]

    sens_ci = M.bootstrap_ci(y, probs, sensitivity, n_boot=200, seed=0)
    out200 = M.metrics_with_ci(y, probs, n_boot=200, seed=0)
    assert (out200["sensitivity"]["ci_low"], out200["sensitivity"]["ci_high"]) == pytest.approx(sens_ci)
    json.dumps(M.to_jsonable(out))


def test_metrics_with_ci_positive_zero_and_threshold():
    y, probs = _binary_data(4, n=300)
    out = M.metrics_with_ci(1 - y, probs[:, ::-1], positive=0, threshold=0.3, n_boot=100)
    ref = M.metrics_with_ci(y, probs, positive=1, threshold=0.3, n_boot=100)
    for name in M.BINARY_CI_METRICS:
        assert out[name]["value"] == pytest.approx(ref[name]["value"])
    assert out["threshold"] == 0.3 and out["positive"] == 0


def test_metrics_with_ci_multiclass():
    y, probs = _multiclass_data(1, n=600)
    out = M.metrics_with_ci(y, probs, n_boot=1000)
    report = M.classification_report(y, probs)
    for name in MULTICLASS_HEADLINE_METRICS:
        assert out[name]["value"] == pytest.approx(report[name], abs=1e-12)
        assert out[name]["ci_low"] <= out[name]["value"] <= out[name]["ci_high"]
    assert out["threshold"] is None
    ovr_ci = M.bootstrap_ci(y, probs, M.roc_auc_ovr, n_boot=200, seed=0)
    out200 = M.metrics_with_ci(y, probs, n_boot=200, seed=0)
    assert (out200["macro_auc"]["ci_low"], out200["macro_auc"]["ci_high"]) == pytest.approx(ovr_ci)
    with pytest.raises(ValueError):
        M.metrics_with_ci(y, probs, threshold=0.5)  # thresholds are binary-only


def test_metrics_with_ci_no_bootstrap():
    y, probs = _binary_data(0, n=50)
    out = M.metrics_with_ci(y, probs, n_boot=0)
    assert math.isnan(out["auc"]["ci_low"]) and not math.isnan(out["auc"]["value"])


def test_to_jsonable():
    obj = {"a": np.float32(1.5), "b": [math.nan, np.inf], 3: np.arange(2), "c": (np.int64(2), True)}
    assert M.to_jsonable(obj) == {"a": 1.5, "b": [None, None], "3": [0, 1], "c": [2, True]}
    json.dumps(M.to_jsonable(obj), allow_nan=False)


def test_input_validation():
    with pytest.raises(ValueError):
        M.classification_report([0, 2], [[0.5, 0.5], [0.5, 0.5]])
    with pytest.raises(ValueError):
        M.roc_auc([0, 1], [0.1])
    with pytest.raises(ValueError):
        M.threshold_youden([1, 1], [0.1, 0.2])
    with pytest.raises(ValueError):
        M.threshold_for_sensitivity([0, 1], [0.1, 0.2], target=0.0)
    with pytest.raises(ValueError):
        M.apply_temperature([[1.0, 2.0]], 0.0)
    with pytest.raises(ValueError):
        M.nll([[1.0, 2.0]], [-1])
    with pytest.raises(ValueError):
        M.classification_report([0, 1], [[0.5, 0.5], [0.5, 0.5]], labels=["a", "a"])


# --------------------------------------------------------------------------- properties

_scores = st.lists(st.integers(-20, 20), min_size=2, max_size=40).map(lambda v: np.array(v) / 4.0)


@settings(max_examples=60, deadline=None, database=None)
@given(scores=_scores, data=st.data())
def test_auc_properties(scores, data):
    labels = np.array(data.draw(st.lists(st.integers(0, 1), min_size=scores.size, max_size=scores.size)))
    auc = M.roc_auc(labels, scores)
    if labels.min() == labels.max():
        assert math.isnan(auc)
        return
    assert 0.0 <= auc <= 1.0
    assert auc + M.roc_auc(labels, -scores) == pytest.approx(1.0, abs=1e-12)
    assert M.roc_auc(1 - labels, scores, positive=0) == auc
    for transform in (np.exp, lambda s: s**3 + 2 * s, lambda s: 3 * s + 7):
        assert M.roc_auc(labels, transform(scores)) == pytest.approx(auc, abs=1e-12)
    # Agrees with the area under our own ROC curve (trapezoid).
    fpr, tpr, _ = M.roc_curve(labels, scores)
    assert np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2) == pytest.approx(auc, abs=1e-12)


# --------------------------------------------------------------------------- scikit-learn parity


@pytest.mark.parametrize("seed", range(4))
def test_matches_sklearn(seed):
    skm = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(seed)
    n = 300
    y = rng.integers(0, 2, n)
    s = np.round(rng.uniform(size=n) + 0.4 * y, 2)  # ties
    assert M.roc_auc(y, s) == pytest.approx(skm.roc_auc_score(y, s), abs=1e-10)
    for drop in (True, False):
        ours = M.roc_curve(y, s, drop_intermediate=drop)
        theirs = skm.roc_curve(y, s, drop_intermediate=drop)
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, atol=1e-10)

    probs = np.column_stack([1 - np.clip(s, 0, 1), np.clip(s, 0, 1)])
    r = M.classification_report(y, probs)
    pred = (probs[:, 1] >= 0.5).astype(int)
    assert r["confusion_matrix"] == skm.confusion_matrix(y, pred).tolist()
    assert r["f1"] == pytest.approx(skm.f1_score(y, pred), abs=1e-10)
    assert r["precision"] == pytest.approx(skm.precision_score(y, pred, zero_division=0), abs=1e-10)
    assert r["sensitivity"] == pytest.approx(skm.recall_score(y, pred), abs=1e-10)
    assert r["specificity"] == pytest.approx(skm.recall_score(y, pred, pos_label=0), abs=1e-10)
    assert r["macro_f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"), abs=1e-10)

    # positive = 0
    assert M.roc_auc(y, -s, positive=0) == pytest.approx(skm.roc_auc_score(1 - y, -s), abs=1e-10)

    # multiclass
    ym, pm = _multiclass_data(seed, n=n, k=4)
    predm = pm.argmax(axis=1)
    rm = M.classification_report(ym, pm)
    assert rm["confusion_matrix"] == skm.confusion_matrix(ym, predm).tolist()
    assert rm["macro_f1"] == pytest.approx(skm.f1_score(ym, predm, average="macro"), abs=1e-10)
    assert rm["macro_precision"] == pytest.approx(
        skm.precision_score(ym, predm, average="macro", zero_division=0), abs=1e-10
    )
    assert rm["macro_recall"] == pytest.approx(skm.recall_score(ym, predm, average="macro"), abs=1e-10)
    assert rm["macro_auc"] == pytest.approx(
        skm.roc_auc_score(ym, pm, multi_class="ovr", average="macro"), abs=1e-10
    )


def test_fit_platt_recovers_the_generating_sigmoid_and_stays_finite_on_separable_data():
    rng = np.random.default_rng(0)
    scores = rng.normal(0, 3, 20000)
    y = (rng.random(20000) < 1 / (1 + np.exp(-(0.5 * scores - 1.0)))).astype(int)
    a, c = M.fit_platt(scores, y)
    assert a == pytest.approx(0.5, abs=0.02) and c == pytest.approx(-1.0, abs=0.05)
    a, c = M.fit_platt(np.r_[-np.ones(50), np.ones(50)], np.r_[np.zeros(50), np.ones(50)])
    assert np.isfinite([a, c]).all() and a > 0 and abs(c) < 1e-6
    with pytest.raises(ValueError):
        M.fit_platt([], [])
