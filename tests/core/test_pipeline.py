"""train -> calibrate -> describe: label alignment, operating points, honest card contents."""
from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from meddiag_desktop.core import metrics
from meddiag_desktop.core.data import LabeledSet, load_npz
from meddiag_desktop.core.models import ModelConfig
from meddiag_desktop.core.pipeline import (
    TrainedModel, _with_bias, align_labels, calibrate, calibrated_probabilities, describe, evaluate_model, positive_index,
    prior_correction, recalibrate, train_model,
)
from meddiag_desktop.core.storage import load_weights, save_model
from meddiag_desktop.core.training import TrainConfig
from meddiag_desktop.core.training_events import FitEnd, StepEnd

CONFIG = ModelConfig(arch="cnn", task="toy", labels=("a", "b"), arch_kwargs={"widths": [4, 8, 8, 8]})


def overconfident_logits(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    margin = rng.normal(1.0, 1.0, n) * np.where(y == 1, 1, -1)
    return np.stack([-margin, margin], 1) * 4.0, y  # 4x too confident


def test_positive_class_comes_from_the_task():
    assert positive_index(("malignant", "normal-benign"), "breast") == 0
    assert positive_index(("normal", "pneumonia"), "pneumonia") == 1
    assert positive_index(("x", "y"), None) == 1


def test_align_labels_maps_by_name_and_refuses_unknown_classes():
    data = LabeledSet(("pneumonia", "normal"), np.array([0, 1, 1]))
    aligned = align_labels(data, ("normal", "pneumonia"))
    assert aligned.label_names == ("normal", "pneumonia") and aligned.labels.tolist() == [1, 0, 0]
    numeric = LabeledSet(("0", "1"), np.array([0, 1]))
    assert align_labels(numeric, ("normal", "pneumonia")).labels.tolist() == [0, 1]
    with pytest.raises(ValueError, match="not among the model's labels"):
        align_labels(LabeledSet(("cat", "dog"), np.array([0, 1])), ("normal", "pneumonia"))


def test_calibration_lowers_ece_and_picks_an_operating_point():
    logits, y = overconfident_logits()
    cal = calibrate(logits, y, positive=1)
    assert 2.5 < cal.temperature < 6 and 0 < cal.threshold < 1 and cal.rule == "youden"
    report = describe(logits, y, 1, cal, n_boot=100)
    assert report["ece"] < report["ece_uncalibrated"] and report["ece"] < 0.03
    sens = calibrate(logits, y, positive=1, rule="sensitivity", target=0.97)
    scores = sens.probabilities(logits)[:, 1]
    assert (scores[y == 1] >= sens.threshold).mean() >= 0.97 and sens.rule == "sensitivity>=0.97"


def test_the_cost_rule_is_the_bayes_threshold_on_calibrated_probabilities():
    logits, y = overconfident_logits()
    youden = calibrate(logits, y, positive=1)
    cost = calibrate(logits, y, positive=1, rule="cost", target=1.5)
    assert cost.threshold == pytest.approx(0.4) and cost.rule == "cost=1.5"
    assert (cost.temperature, cost.logit_bias) == (youden.temperature, youden.logit_bias)  # only the threshold differs
    cheap_misses = calibrate(logits, y, positive=1, rule="cost", target=0.5)
    probs = cost.probabilities(logits)[:, 1]
    assert (probs >= cost.threshold).sum() > (probs >= cheap_misses.threshold).sum()  # costlier misses: more calls
    with pytest.raises(ValueError, match="cost ratio"):
        calibrate(logits, y, positive=1, rule="cost", target=None)


def test_train_model_fills_an_honest_card_that_saves_and_reloads(tiny_npz, tmp_path):
    train, val = load_npz(tiny_npz, "train", CONFIG.labels), load_npz(tiny_npz, "val", CONFIG.labels)
    cfg = TrainConfig(epochs=2, batch_size=16, device="cpu", lr=5e-3)
    events = list(train_model("toy-cnn", CONFIG, train, val, cfg, command="pytest"))
    trained = events[-1]
    assert isinstance(trained, TrainedModel) and any(isinstance(e, FitEnd) for e in events)
    card = trained.card
    assert card.positive_label == "b" and card.training["command"] == "pytest"
    assert card.data["train"]["split"] == "train" and card.data["val"]["n"] == 32
    assert card.metrics["validation"]["n"] == 32 and card.training["best_epoch"] in (1, 2)
    saved = save_model(trained.model, card, tmp_path)
    again = evaluate_model(load_weights(saved), saved, val, n_boot=50)
    assert again["accuracy"]["value"] == pytest.approx(card.metrics["validation"]["accuracy"]["value"])


def test_cancelled_training_produces_no_model(tiny_npz):
    cancel = threading.Event()
    train, val = load_npz(tiny_npz, "train", CONFIG.labels), load_npz(tiny_npz, "val", CONFIG.labels)
    events = []
    for event in train_model("x", CONFIG, train, val, TrainConfig(epochs=3, batch_size=16, device="cpu"),
                             cancel=cancel):
        events.append(event)
        if isinstance(event, StepEnd):
            cancel.set()
    assert events[-1].status == "cancelled" and not any(isinstance(e, TrainedModel) for e in events)


def test_prior_correction_undoes_class_weighting():
    # weights N / (K * n_k) = (2, 2/3) for counts (25, 75): bias = -log(w)
    np.testing.assert_allclose(prior_correction([25, 75]), [-np.log(2.0), -np.log(2 / 3)])
    # a model whose weighted posterior is 0.5 / 0.5 really sees the 25 / 75 training prior
    probs = calibrated_probabilities(np.zeros((1, 2)), prior_correction([25, 75]), 1.0)
    np.testing.assert_allclose(probs, [[0.25, 0.75]])


def test_recalibrate_keeps_weights_and_refits_operating_point(tiny_npz, tmp_path):
    train, val = load_npz(tiny_npz, "train", CONFIG.labels), load_npz(tiny_npz, "val", CONFIG.labels)
    trained = list(train_model("toy-cnn", CONFIG, train, val, TrainConfig(epochs=1, batch_size=16, device="cpu")))[-1]
    card = save_model(trained.model, trained.card, tmp_path)
    sha = card.sha256
    card = recalibrate(load_weights(card), card, val, rule="sensitivity", target=1.0)
    assert card.metrics["threshold_rule"] == "sensitivity>=1" and card.sha256 == sha
    assert card.metrics["validation"]["sensitivity"]["value"] == 1.0


def test_binary_platt_scaling_undoes_a_shift_and_overconfidence():
    logits, y = overconfident_logits()
    plain = calibrate(logits, y, positive=1)
    shifted = logits + np.array([1.5, -1.5])  # a model biased towards class 0, as class weighting does
    fixed = calibrate(shifted, y, positive=1, logit_bias=[-9.0, 9.0])  # a wrong prior guess is ignored
    np.testing.assert_allclose(fixed.probabilities(shifted), plain.probabilities(logits), atol=1e-3)
    assert fixed.logit_bias[0] == 0.0 and fixed.logit_bias[1] - plain.logit_bias[1] == pytest.approx(3.0, abs=0.01)
    # the fitted (T, bias) is the NLL optimum: nudging either makes validation NLL worse
    best = metrics.nll(_with_bias(shifted, fixed.logit_bias), y, fixed.temperature)
    for dt, db in ((0.05, 0), (-0.05, 0), (0, 0.05), (0, -0.05)):
        nudged = _with_bias(shifted, [0.0, fixed.logit_bias[1] + db])
        assert metrics.nll(nudged, y, fixed.temperature + dt) > best


def test_prior_correction_is_kept_only_when_it_lowers_validation_nll():
    rng = np.random.default_rng(0)  # three classes: temperature plus the class-weighting correction
    y = rng.integers(0, 3, 3000)
    logits = rng.normal(0, 1, (3000, 3)) + 3 * np.eye(3)[y]
    assert calibrate(logits, y, positive=1, logit_bias=[-2.0, 2.0, 0.0]).logit_bias is None
    shifted = logits + np.array([1.5, -1.5, 0.0])
    assert calibrate(shifted, y, positive=1, logit_bias=[-1.5, 1.5, 0.0]).logit_bias == [-1.5, 1.5, 0.0]


def test_threshold_does_not_sit_on_a_validation_score():
    logits, y = overconfident_logits()
    cal = calibrate(logits, y, positive=1)
    scores = cal.probabilities(logits)[:, 1]
    assert np.abs(scores - cal.threshold).min() > 0
    # same decisions as the observed-score threshold Youden's J picked
    exact = metrics.threshold_youden(y, scores, positive=1)
    assert np.array_equal(scores >= exact, scores >= cal.threshold)


def test_training_is_reproducible_from_the_seed_alone(tiny_npz):
    train, val = load_npz(tiny_npz, "train", CONFIG.labels), load_npz(tiny_npz, "val", CONFIG.labels)
    cfg = dict(epochs=1, batch_size=16, device="cpu")
    first = list(train_model("a", CONFIG, train, val, TrainConfig(**cfg)))[-1]
    np.random.random(10), torch.rand(100)  # disturb the global generators between the runs
    second = list(train_model("b", CONFIG, train, val, TrainConfig(**cfg)))[-1]
    for (k, v), w in zip(first.model.state_dict().items(), second.model.state_dict().values()):
        assert torch.equal(v, w), k
