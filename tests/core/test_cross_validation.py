"""Cross-validated training for small sets (issue 15): folds, out-of-fold fitting, cards, fine-tune default."""
from __future__ import annotations

import json
import shutil
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from meddiag_desktop.core.cross_validation import (
    DEFAULT_FOLDS, SMALL_SET, cross_validate, folds_for, join, refit_out_of_fold, stratified_folds,
)
from meddiag_desktop.core.data import BatchAugment, load_npz
from meddiag_desktop.core.finetune import DataPlan, recipe_note, run_finetune
from meddiag_desktop.core.jobs import Progress
from meddiag_desktop.core.model_store import ModelStore
from meddiag_desktop.core.models import ModelConfig
from meddiag_desktop.core.ood import nested_refusal
from meddiag_desktop.core.metrics import rule_from_name, rule_name
from meddiag_desktop.core.pipeline import calibrate, describe, prior_correction
from meddiag_desktop.core.robustness import scanner_shift
from meddiag_desktop.core.storage import read_card, save_model
from meddiag_desktop.core.training import TrainConfig
from meddiag_desktop.core.training_events import (
    Comparison, CrossValidated, EpochEnd, FineTuneSpec, FitEnd, FoldEnd, StepEnd, TrainedModel,
)

CONFIG = ModelConfig(arch="cnn", task="toy", labels=("a", "b"), arch_kwargs={"widths": [4, 8, 8, 8]})
CFG = TrainConfig(epochs=1, batch_size=16, device="cpu", lr=5e-3)
WEIGHTS = Path(__file__).resolve().parents[2] / "weights"


def test_folds_are_stratified_seeded_and_cover_every_image_once():
    labels = np.array([0] * 147 + [1] * 399 + [0] * 21 + [1] * 57)  # breast: 624 images
    ids = stratified_folds(labels, 5, seed=0)
    assert ids.shape == labels.shape and set(ids.tolist()) == set(range(5))  # each image in exactly one fold
    sizes = np.bincount(ids)
    assert sizes.max() - sizes.min() <= 1
    for cls in (0, 1):
        per_fold = np.bincount(ids[labels == cls], minlength=5)
        assert per_fold.max() - per_fold.min() <= 1  # each class in proportion
    assert np.array_equal(ids, stratified_folds(labels, 5, seed=0))
    assert not np.array_equal(ids, stratified_folds(labels, 5, seed=1))


def test_small_sets_are_cross_validated_by_default():
    assert folds_for(624) == DEFAULT_FOLDS and folds_for(SMALL_SET) == 0
    assert folds_for(5000, 3) == 3 and folds_for(100, 0) == 0 and folds_for(100, 1) == 0


def run_cv(tiny_npz, **kwargs):
    train, val = load_npz(tiny_npz, "train", CONFIG.labels), load_npz(tiny_npz, "val", CONFIG.labels)
    return list(cross_validate("toy-cnn", CONFIG, train, val, CFG, 3, n_boot=50, **kwargs))


def test_cross_validation_fits_everything_on_out_of_fold_predictions(tiny_npz, tmp_path):
    events = run_cv(tiny_npz)
    [validated] = [e for e in events if isinstance(e, CrossValidated)]
    [trained] = [e for e in events if isinstance(e, TrainedModel)]
    folds = [e for e in events if isinstance(e, FoldEnd)]
    assert [f.fold for f in folds] == [1, 2, 3] and sum(f.n_held_out for f in folds) == 96
    # every image predicted once, by the fold that held it out
    assert validated.n == 96 and validated.logits.shape == (96, 2) and np.all(np.abs(validated.logits).sum(1) > 0)
    assert validated.labels.tolist() == np.concatenate([np.arange(64) % 2, np.arange(32) % 2]).tolist()
    # one long run for progress displays: epochs numbered across folds + refit; a single final FitEnd
    steps = [e for e in events if isinstance(e, StepEnd)]
    assert {e.epochs for e in steps} == {4} and [e.epoch for e in events if isinstance(e, EpochEnd)] == [1, 2, 3]
    assert sum(isinstance(e, FitEnd) for e in events) == 1 and sum(isinstance(e, Progress) for e in events) == 4
    card = trained.card
    cal = calibrate(validated.logits, validated.labels, 1, "youden", None, prior_correction([48, 48]))
    assert card.temperature == pytest.approx(cal.temperature) and card.threshold == pytest.approx(cal.threshold)
    summary = card.metrics["cross_validation"]
    assert card.metrics["validation"]["n"] == 96 and summary["text"] == "3-fold cross-validated, n = 96"
    assert card.metrics["validation"]["evaluation"] == summary["text"]
    assert card.ood["threshold"] == pytest.approx(summary["ood"]["threshold"])
    assert "out-of-fold" in card.ood["threshold_source"]
    assert set(summary["nested"]) >= {"accuracy", "sensitivity", "specificity", "ece"}
    assert card.metrics["shifted"]["n"] == 96 and "gamma" in card.metrics["shifted"]["shift"]
    # the shifted copies' out-of-fold logits are the shifted report's, under the clean calibration
    assert validated.shifted_logits.shape == (96, 2) and not np.array_equal(validated.shifted_logits, validated.logits)
    shifted = describe(validated.shifted_logits, validated.labels, 1, cal, 0)
    assert shifted["auc"]["value"] == pytest.approx(card.metrics["shifted"]["auc"]["value"])
    assert shifted["accuracy"]["value"] == pytest.approx(card.metrics["shifted"]["accuracy"]["value"])
    assert card.data["cross_validation"]["folds"] == 3 and card.data["train"]["n"] == 64
    # the card saves and reads back with all of it
    saved = save_model(trained.model, card, tmp_path)
    again = read_card(saved.path)
    assert again.metrics == json.loads(json.dumps(card.metrics)) and again.metric("auc").value == card.metric("auc").value
    # the out-of-fold predictions it stores refit calibration, figures and OOD detector as the run did
    stored = again.training["cross_validation"]["out_of_fold"]
    assert np.array_equal(stored["logits"], validated.logits) and np.shape(stored["ood_parts"]) == (96, 3)
    train, val = load_npz(tiny_npz, "train", CONFIG.labels), load_npz(tiny_npz, "val", CONFIG.labels)
    refitted = refit_out_of_fold(trained.model, again, train, val, n_boot=50)
    assert (refitted.temperature, refitted.threshold, refitted.logit_bias) == (card.temperature, card.threshold,
                                                                               card.logit_bias)
    assert refitted.metrics == again.metrics and refitted.ood == json.loads(json.dumps(card.ood))
    with pytest.raises(ValueError, match="not the ones"):
        refit_out_of_fold(trained.model, again, val, val)


def test_cross_validation_is_deterministic(tiny_npz):
    first, second = (next(e for e in run_cv(tiny_npz, refit=False) if isinstance(e, CrossValidated)) for _ in range(2))
    assert np.array_equal(first.logits, second.logits) and first.report == second.report
    assert first.summary == second.summary  # no timings in what goes into the card's metrics


def test_validating_every_few_epochs_reports_a_coarser_curve_and_trains_the_same_weights(tiny_npz):
    train, val = load_npz(tiny_npz, "train", CONFIG.labels), load_npz(tiny_npz, "val", CONFIG.labels)

    def cross_validated(every):
        cfg = TrainConfig(epochs=5, batch_size=16, device="cpu", eval_every=every)
        events = list(cross_validate("toy-cnn", CONFIG, train, val, cfg, 2, n_boot=0, refit=False))
        return next(e for e in events if isinstance(e, CrossValidated)), [e for e in events if isinstance(e, EpochEnd)]

    (each, each_epochs), (coarse, coarse_epochs) = cross_validated(1), cross_validated(2)
    assert np.array_equal(each.logits, coarse.logits)  # validation never touches the training
    curve = coarse.summary["mean_held_out_auc_by_epoch"]
    assert [a is None for a in curve] == [True, False, True, False, False]  # epochs 2, 4 and the last
    validated = [1, 3, 4]  # epochs 2, 4, 5: the same figures as when every epoch is validated
    assert [curve[i] for i in validated] == [each.summary["mean_held_out_auc_by_epoch"][i] for i in validated]
    # only validated epochs are reported (numbered across the two folds' runs)
    assert [e.epoch for e in coarse_epochs] == [2, 4, 5, 7, 9, 10] and len(each_epochs) == 10


def test_stop_ends_every_later_run_after_as_many_epochs(tiny_npz):
    train, val = load_npz(tiny_npz, "train", CONFIG.labels), load_npz(tiny_npz, "val", CONFIG.labels)
    stop = threading.Event()
    events = []
    for event in cross_validate("toy-cnn", CONFIG, train, val, TrainConfig(epochs=3, batch_size=16, device="cpu"), 2,
                                n_boot=0, stop=stop):
        events.append(event)
        if isinstance(event, EpochEnd) and event.epoch == 1:
            stop.set()
    folds = [e for e in events if isinstance(e, FoldEnd)]
    assert [f.metrics["epochs_run"] for f in folds] == [1, 1]
    assert isinstance(events[-1], TrainedModel) and events[-1].card.training["epochs_run"] == 1


def test_old_cards_still_load(tmp_path):
    """Cards written before cross-validation and the robustness check (no ``cross_validation`` or
    ``shifted`` anywhere) load and report their metrics; the shipped cards load as they are."""
    for path in sorted(WEIGHTS.glob("*.json")):
        assert read_card(path).metric("auc") is not None
        data = json.loads(path.read_text())
        for part in ("metrics", "training", "data"):
            data[part].pop("cross_validation", None)
        data["metrics"].pop("shifted", None)
        (tmp_path / path.name).write_text(json.dumps(data))
        card = read_card(tmp_path / path.name)
        assert card.metric("auc") is not None and "cross_validation" not in card.metrics
        assert card.metric("auc").value == data["metrics"]["validation"]["auc"]["value"]


def test_fine_tuning_a_small_set_is_cross_validated_by_default(tiny_npz):
    spec = FineTuneSpec(data=str(tiny_npz), task="toy", epochs=1, batch_size=16, device="cpu", n_boot=50,
                        arch_kwargs={"widths": [4, 8, 8, 8]})
    events = list(run_finetune(spec, ModelStore([])))
    trained = next(e for e in events if isinstance(e, TrainedModel))
    comparison = events[-1]
    assert isinstance(comparison, Comparison)
    text = f"{DEFAULT_FOLDS}-fold cross-validated, n = 96"
    assert trained.card.metrics["validation"]["evaluation"] == text and trained.card.data["val_source"] == text
    assert comparison.new.report["n"] == 96 and sum(isinstance(e, FoldEnd) for e in events) == DEFAULT_FOLDS


def test_fine_tuning_keeps_the_base_models_operating_rule_unless_told(tiny_npz, tmp_path):
    assert rule_from_name("cost=1.5") == ("cost", 1.5) and rule_from_name("sensitivity>=0.9") == ("sensitivity", 0.9)
    assert rule_from_name("youden") == rule_from_name("argmax") == rule_from_name("") == ("youden", None)
    for rule, target in (("youden", None), ("cost", 1.5), ("sensitivity", 0.9), ("specificity", 0.85)):
        assert rule_from_name(rule_name(rule, target)) == (rule, target)  # the card's name reads back
    common = dict(data=str(tiny_npz), task="toy", epochs=1, batch_size=16, device="cpu", n_boot=20, cv=2,
                  arch_kwargs={"widths": [4, 8, 8, 8]})
    scratch = next(e for e in run_finetune(FineTuneSpec(**common), ModelStore([])) if isinstance(e, TrainedModel))
    assert scratch.card.metrics["threshold_rule"] == "youden"  # no base: Youden's J
    base = next(e for e in run_finetune(FineTuneSpec(**common, threshold_rule="cost", threshold_target=1.5),
                                        ModelStore([])) if isinstance(e, TrainedModel))
    save_model(base.model, replace(base.card, id="toy-base"), tmp_path)
    store = ModelStore([tmp_path])
    for rule, expected in (("base", "cost=1.5"), ("youden", "youden")):
        spec = FineTuneSpec(**common, base_id="toy-base", threshold_rule=rule)
        tuned = next(e for e in run_finetune(spec, store) if isinstance(e, TrainedModel))
        assert tuned.card.metrics["threshold_rule"] == expected
    assert tuned.card.threshold != 0.4 and base.card.threshold == pytest.approx(0.4)


def test_fine_tuning_a_seed_ensemble_keeps_each_members_augmentation_and_settings(tiny_npz, tmp_path):
    common = dict(data=str(tiny_npz), task="toy", epochs=1, batch_size=16, device="cpu", n_boot=20, cv=2, lr=3e-3,
                  arch_kwargs={"widths": [4, 8, 8, 8], "members": 2})
    base = next(e for e in run_finetune(FineTuneSpec(**common), ModelStore([])) if isinstance(e, TrainedModel))
    recipe = [{"hflip": 0.5}, True]
    save_model(base.model, replace(base.card, id="toy-ensemble", training={
        **base.card.training, "augment": recipe, "member_settings": [{}, {"label_smoothing": 0.1, "lr": 9.0}]}), tmp_path)
    store = ModelStore([tmp_path])
    assert recipe_note(FineTuneSpec(**common, base_id="toy-ensemble"), store.find("toy-ensemble")) == (
        'keeps toy-ensemble\'s recipe: augmentation [{"hflip": 0.5}, "default"]; '
        'per-member settings [{}, {"label_smoothing": 0.1}]')
    for cv in (2, 0):  # the cross-validated path and the plain split
        spec = FineTuneSpec(**{**common, "cv": cv}, base_id="toy-ensemble", val_fraction=0.3)
        tuned = next(e for e in run_finetune(spec, store) if isinstance(e, TrainedModel))
        assert tuned.card.training["augment"] == recipe
        assert list(tuned.card.training["member_settings"]) == [{}, {"label_smoothing": 0.1}]  # the user's lr stays
        assert tuned.card.training["lr"] == 3e-3
    plain = next(e for e in run_finetune(FineTuneSpec(**common, base_id="toy-ensemble", augment=False), store)
                 if isinstance(e, TrainedModel))
    assert plain.card.training["augment"] is False
    assert base.card.training["augment"] is True and not base.card.training["member_settings"]  # no base: defaults


def test_join_pools_train_and_validation(tiny_npz):
    train, val = load_npz(tiny_npz, "train"), load_npz(tiny_npz, "val")
    both = join(train, val)
    assert len(both) == 96 and both.manifest["parts"][1]["split"] == "val"


def test_nested_refusal_and_scanner_shift():
    scores = np.concatenate([np.arange(100.0), np.arange(100.0)])
    assert nested_refusal(scores, np.repeat([0, 1], 100), 99.0) == pytest.approx(0.01)
    x = torch.rand(4, 1, 28, 28)
    assert torch.equal(scanner_shift(x), scanner_shift(x)) and not torch.equal(scanner_shift(x), x)
    y = BatchAugment(gamma=0.3, blur=0.8, noise=0.03)(x)
    assert y.shape == x.shape and 0 <= y.min() and y.max() <= 1
    assert torch.allclose(BatchAugment(strength=0.0, hflip=1.0)(x), x.flip(-1))
    torch.manual_seed(0)
    plain = BatchAugment()(x)
    torch.manual_seed(0)
    assert torch.equal(BatchAugment(gamma=0.0, blur=0.0, noise=0.0, hflip=0.0)(x), plain)  # off: no extra draws


def test_the_operating_point_picker_refits_on_the_out_of_fold_predictions():
    """recalibrate_out_of_fold: the same fit cross_validate makes (Youden), a sensitivity target that
    holds on the out-of-fold predictions, every image counted, the card's threshold and figures updated."""
    from meddiag_desktop.core.finetune import recalibrate_out_of_fold
    from meddiag_desktop.core.models import ModelConfig
    from meddiag_desktop.core.pipeline import calibrate, prior_correction
    from meddiag_desktop.core.storage import ModelCard
    from meddiag_desktop.core.training_events import CrossValidated

    rng = np.random.default_rng(0)
    labels = np.array([0] * 80 + [1] * 40)  # class 1 = the finding (the second label), the minority
    logits = np.stack([np.zeros(labels.size), np.where(labels == 1, 1.0, -1.0) + rng.normal(0, 1.2, labels.size)], 1)
    validated = CrossValidated(5, labels.size, {}, {}, None, logits, labels)
    config = ModelConfig(arch="cnn", task="demo", labels=("normal", "abnormal"))
    card = ModelCard(id="demo-cnn@new", config=config, temperature=1.0, threshold=0.5, training={"class_weighting": True},
                     metrics={"validation": {"evaluation": "stale"}})

    youden, evaluation = recalibrate_out_of_fold(card, validated, "youden", None, n_boot=50)
    positive = 1
    expected = calibrate(logits, labels, positive, "youden", None, prior_correction(np.bincount(labels)))
    assert youden.threshold == pytest.approx(expected.threshold) and youden.temperature == pytest.approx(expected.temperature)
    assert youden.metrics["validation"]["evaluation"] == "5-fold cross-validated, n = 120"
    assert sum(map(sum, evaluation.report["confusion_matrix"])) == 120 and evaluation.threshold == youden.threshold

    strict, evaluation = recalibrate_out_of_fold(card, validated, "sensitivity", 0.95, n_boot=50)
    assert strict.metrics["threshold_rule"] == "sensitivity>=0.95" and strict.threshold < youden.threshold
    assert evaluation.report["sensitivity"]["value"] >= 0.95 and card.threshold == 0.5  # the input card untouched
