"""K-fold cross-validated training for small labelled sets (below ``SMALL_SET`` images, or when asked).

Train and validation images are pooled and dealt into ``folds`` stratified, seeded folds, near-duplicate
images together in one (``near_duplicates``: a twin on both sides of a split is scored from memory). Each fold's
model trains on the other folds with the full schedule (no early stopping: the last epoch is kept, so
nothing is chosen on the images it is scored on) and predicts its held-out fold. The out-of-fold (OOF)
predictions of every image then fit the calibration and the operating threshold, and give the card's
metrics with bootstrap CIs; the fold detectors' held-out scores set the OOD threshold. The shipped
model is one refit on all images with the same schedule, which the OOF figures describe.

``cross_validate`` has the one job shape: a generator with keyword-only ``cancel`` / ``stop``. It yields
a ``Progress`` per run, the runs' ``StepEnd`` / ``EpochEnd`` numbered as one long run (fold f's epoch e
is epoch ``f * epochs + e`` of ``(folds + 1) * epochs``, so any progress display works unchanged), a
``FoldEnd`` per fold, ``CrossValidated`` when the folds are done, then the refit's ``FitEnd`` and the
``TrainedModel``. ``stop`` ends the current run and every later one after the same number of epochs.
"""
from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import replace
from typing import Iterator

import numpy as np
import torch

from .. import __version__
from . import metrics, ood
from .data import DatasetError, LabeledSet, TensorDataset, batch_loader
from .jobs import CancelFlag, Progress, any_of, is_cancelled
from .models import ModelConfig, ensemble_size
from .near_duplicates import describe_groups, grouped_stratified_folds, near_duplicate_groups
from .pipeline import (
    N_BOOT, Calibration, align_labels, augmenter, calibrate, describe, fit_ood, hardware, initial_model,
    other_task_statistics, positive_index, prior_correction,
)
from .robustness import DESCRIPTION as SHIFT_DESCRIPTION
from .robustness import scanner_shift
from .storage import ModelCard
from .training import TrainConfig, epoch_metrics, evaluate, fit
from .training_events import CrossValidated, EpochEnd, FitEnd, FoldEnd, StepEnd, TrainedModel, cv_text

SMALL_SET = 2000  # below this many labelled images, training is cross-validated by default
DEFAULT_FOLDS = 5
OOD_PERCENTILE = 99.0


def folds_for(n_images: int, requested: int | None = None) -> int:
    """Folds to use: ``requested`` (0 or 1: none), else ``DEFAULT_FOLDS`` below ``SMALL_SET`` images."""
    if requested is None:
        return DEFAULT_FOLDS if n_images < SMALL_SET else 0
    return int(requested) if requested >= 2 else 0


def stratified_folds(labels: np.ndarray, folds: int, seed: int = 0) -> np.ndarray:
    """The fold (0 .. folds-1) of every image: each class in a seeded random order, dealt round-robin
    where the previous class stopped, so every fold holds each class in proportion and fold sizes
    differ by at most one. The same labels and seed give the same folds."""
    labels = np.asarray(labels)
    if folds < 2 or len(labels) < folds:
        raise ValueError(f"cannot make {folds} folds of {len(labels)} images")
    rng = np.random.default_rng(seed)
    fold_ids = np.empty(len(labels), dtype=np.int64)
    dealt = 0
    for cls in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == cls))
        fold_ids[members] = (np.arange(len(members)) + dealt) % folds
        dealt += len(members)
    return fold_ids


def deal_folds(inputs, labels: np.ndarray, folds: int, seed: int = 0,
               keep_twins_together: bool = True) -> tuple[np.ndarray, dict]:
    """The fold of every image, near-duplicates together (``near_duplicates``), and what the card says of
    it. Where grouped folds are not possible (``grouped_stratified_folds`` says why), plain
    ``stratified_folds``, the reason recorded. ``keep_twins_together=False`` asks for plain folds (to compare
    with figures measured that way, e.g. a benchmark split drawn at random: they count memorised twins)."""
    groups = near_duplicate_groups(inputs)
    grouping = describe_groups(groups)
    if not keep_twins_together:
        return stratified_folds(labels, folds, seed), {**grouping, "grouped": False, "split_on_request": True,
                                                       "reason": "plain stratified folds asked for"}
    try:
        return grouped_stratified_folds(labels, groups, folds, seed), {**grouping, "grouped": True}
    except ValueError as exc:
        return stratified_folds(labels, folds, seed), {**grouping, "grouped": False, "reason": str(exc)}


def join(train: LabeledSet, val: LabeledSet) -> LabeledSet:
    """Train and validation as one set (same label names), its manifest listing both parts."""
    if train.label_names != val.label_names:
        raise DatasetError(f"train classes {train.label_names} differ from validation classes {val.label_names}")
    if train.images is not None and val.images is not None:
        images, paths = np.concatenate([train.images, val.images]), None
    elif train.paths is not None and val.paths is not None:
        images, paths = None, train.paths + val.paths
    else:
        raise DatasetError("cannot pool an npz split with image files for cross-validation")
    out = LabeledSet(train.label_names, np.concatenate([train.labels, val.labels]), images, paths)
    out.manifest = {"parts": [train.manifest, val.manifest], "n": len(out), "class_counts": out.class_counts()}
    if paths is not None:
        out.manifest["files"] = (train.manifest.get("files") or []) + (val.manifest.get("files") or [])
    return out


def _auc(record: dict) -> float | None:
    return record.get("auc", record.get("macro_auc"))


def mean_auc(records: list[dict]) -> float | None:
    """The folds' mean held-out AUC at one epoch; None where it was not validated (``eval_every``)."""
    aucs = [_auc(r) for r in records]
    return None if any(a is None for a in aucs) else float(np.mean(aucs))


def nested_check(logits: np.ndarray, labels: np.ndarray, fold_ids: np.ndarray, positive: int, rule: str,
                 target: float | None, bias) -> dict:
    """What the calibration and threshold rule give on images they were not fitted on: for each fold,
    calibrate on the other folds' OOF predictions, decide its own. Binary tasks only."""
    decided = np.zeros(len(labels), dtype=np.int64)
    probs = np.zeros(logits.shape)
    for f in np.unique(fold_ids):
        mine = fold_ids == f
        cal = calibrate(logits[~mine], labels[~mine], positive, rule, target, bias)
        probs[mine] = cal.probabilities(logits[mine])
        decided[mine] = metrics.predict_labels(probs[mine], positive=positive, threshold=cal.threshold)
    report = metrics.classification_report(labels, probs, positive=positive)
    cm = metrics.confusion_matrix(labels, decided, 2)
    tp, fn = cm[positive, positive], cm[positive, 1 - positive]
    tn, fp = cm[1 - positive, 1 - positive], cm[1 - positive, positive]
    return {"rule": rule, "accuracy": float((tp + tn) / len(labels)), "sensitivity": float(tp / max(tp + fn, 1)),
            "specificity": float(tn / max(tn + fp, 1)), "ece": metrics.expected_calibration_error(labels, probs),
            "auc": report.get("auc")}


def out_of_fold_figures(oof, oof_shifted, ood_parts, ood_parts_shifted, labels, fold_ids, positive, bias,
                        rule: str, target: float | None, n_boot: int, percentile: float):
    """What the out-of-fold predictions give the card: the calibration and operating point, the clean and
    scanner-shifted reports, the OOD summary (part scales, threshold, refusals), the combined OOD score
    of every image and the nested check (binary tasks, else None)."""
    folds, n = len(np.unique(fold_ids)), len(labels)
    cal = calibrate(oof, labels, positive, rule, target, bias)
    report = {**describe(oof, labels, positive, cal, n_boot), "evaluation": cv_text(folds, n)}
    shifted = {**describe(oof_shifted, labels, positive, cal, n_boot), "shift": SHIFT_DESCRIPTION,
               "evaluation": cv_text(folds, n)}
    scales = ood.part_scales(ood_parts, percentile)
    scores = ood.combine(ood_parts, scales)
    threshold = float(np.percentile(scores, percentile))
    refused_by_part = ood_parts / np.array([*scales, 1.0][:ood_parts.shape[1]]) > threshold
    ood_summary = {"percentile": percentile, "threshold": threshold, "scales": list(scales),
                   "refused_in_distribution": float((scores > threshold).mean()),
                   "refused_in_distribution_nested": ood.nested_refusal(scores, fold_ids, percentile),
                   "refused_by_part": dict(zip(ood.PART_NAMES, refused_by_part.mean(0).tolist())),
                   "refused_scanner_shifted": float((ood.combine(ood_parts_shifted, scales) > threshold).mean())}
    nested = nested_check(oof, labels, fold_ids, positive, rule, target, bias) if oof.shape[1] == 2 else None
    return cal, report, shifted, ood_summary, scores, nested


class _Runs:
    """Renumbers the fit events of run ``r`` of ``runs`` as one long run and tracks an ETA."""

    def __init__(self, runs: int, epochs: int) -> None:
        self.runs, self.epochs, self.started = runs, epochs, time.perf_counter()

    def events(self, run: int, events: Iterator, stop_after: int | None, stop: threading.Event) -> Iterator:
        """Forward ``events``: StepEnd / EpochEnd renumbered (the refit's EpochEnd, with nothing to
        validate, is dropped); returns the FitEnd. Sets ``stop`` once ``stop_after`` epochs are done."""
        run_start, offset, total = time.perf_counter(), run * self.epochs, self.runs * self.epochs
        for event in events:
            later = self.runs - run - 1
            if isinstance(event, StepEnd):
                eta = event.eta_s + later * (time.perf_counter() - run_start + event.eta_s)
                yield replace(event, epoch=offset + event.epoch, epochs=total, eta_s=eta)
            elif isinstance(event, EpochEnd):
                if stop_after is not None and event.epoch >= stop_after:
                    stop.set()  # fit checks ``stop`` right after this event
                if event.metrics:
                    eta = event.eta_s + later * (event.elapsed_s + event.eta_s)
                    yield replace(event, epoch=offset + event.epoch, epochs=total, eta_s=eta)
            elif isinstance(event, FitEnd):
                return event
        return None


def cross_validate(model_id: str, config: ModelConfig, train: LabeledSet, val: LabeledSet, cfg: TrainConfig,
                   folds: int = DEFAULT_FOLDS, *, base: ModelCard | None = None, augment: bool | dict | list = True,
                   threshold_rule: str = "youden", threshold_target: float | None = None, description: str = "",
                   command: str = "", ood_percentile: float = OOD_PERCENTILE, n_boot: int = N_BOOT,
                   refit: bool = True, fold_seed: int | None = None, start_from: torch.nn.Module | None = None,
                   keep_twins_together: bool = True,
                   cancel: CancelFlag | None = None, stop: CancelFlag | None = None) -> Iterator:
    """Cross-validate ``config`` on train + val, then refit on all of it (see the module docstring).
    ``fold_seed`` (default ``cfg.seed``) deals the folds, so models of other seeds can share them;
    ``keep_twins_together=False``: plain stratified folds (``deal_folds``).
    ``start_from``: a pretrained model whose layers (not its head) start every run (``initial_model``)."""
    train, val = align_labels(train, config.labels), align_labels(val, config.labels)
    positive = positive_index(config.labels, config.task)
    cfg = replace(cfg, positive=positive, keep="last", patience=0)
    everything = TensorDataset(join(train, val), config)
    labels = everything.labels.numpy()
    smallest = int(np.bincount(labels, minlength=config.num_classes)[np.unique(labels)].min())
    n, folds = len(labels), min(int(folds), smallest)  # every fold holds every class
    if folds < 2:
        raise DatasetError(f"cross-validation needs at least 2 images of every class (the smallest has {smallest})")
    fold_seed = cfg.seed if fold_seed is None else fold_seed
    fold_ids, grouping = deal_folds(everything.inputs, labels, folds, fold_seed, keep_twins_together)
    augment_batch = augmenter(augment)
    shifted_all = everything.subset(range(n))
    shifted_all.inputs = scanner_shift(shifted_all.inputs)
    oof, oof_shifted = np.zeros((n, config.num_classes)), np.zeros((n, config.num_classes))
    ood_parts, other = None, other_task_statistics(config)
    normalization = (config.mean, config.std)
    runs = _Runs(folds + 1 if refit else folds, cfg.epochs * ensemble_size(config.arch_kwargs))  # fit's epoch count
    stop_after, stopping = None, threading.Event()
    per_fold, fold_seconds, histories, started = [], [], [], time.time()

    def run_one(run: int, model, train_part, held_part):
        nonlocal stop_after
        stopping.clear()
        flag = any_of(stop, stopping) if stop_after is None else stopping  # after a stop: same epoch count
        events = fit(model, train_part, held_part, cfg, cancel=cancel, stop=flag)
        end = yield from runs.events(run, events, stop_after, stopping)
        if end is not None and end.status == "stopped" and stop_after is None:
            stop_after = max(end.epochs_run, 1)  # every later run ends after as many epochs
        return end

    for fold in range(folds):
        yield Progress(fold, runs.runs, f"Cross-validation: fold {fold + 1} of {folds}")
        held, rest = np.flatnonzero(fold_ids == fold), np.flatnonzero(fold_ids != fold)
        model = initial_model(config, cfg.seed, base, start_from)
        end = yield from run_one(fold, model, everything.subset(rest, augment_batch), everything.subset(held))
        if end is None or end.status == "cancelled" or is_cancelled(cancel):
            yield FitEnd("cancelled", 0, 0, time.time() - started)
            return
        oof[held] = end.val_logits
        model = model.cpu().eval()
        _, oof_shifted[held], _ = evaluate(model, batch_loader(shifted_all.subset(held), 256), torch.device("cpu"))
        fitted = ood.extract(model, (x for x, _ in batch_loader(everything.subset(rest), 256)), "cpu", normalization)
        scored = ood.extract(model, (x for x, _ in batch_loader(everything.subset(held), 256)), "cpu", normalization)
        shifted_scored = ood.extract(model, (x for x, _ in batch_loader(shifted_all.subset(held), 256)), "cpu",
                                     normalization)
        parts, shifted_parts = ood.held_out_parts(fitted, labels[rest], scored, shifted_scored, other=other)
        if ood_parts is None:
            ood_parts, ood_parts_shifted = np.zeros((n, parts.shape[1])), np.zeros((n, parts.shape[1]))
        ood_parts[held], ood_parts_shifted[held] = parts, shifted_parts
        record = {"fold": fold + 1, "n": int(len(held)), "epochs_run": end.epochs_run,
                  "best_epoch_held_out": end.best_epoch, **epoch_metrics(end.val_logits, labels[held], positive)}
        per_fold.append(record)  # no timings in the metrics: a rerun reproduces them bit for bit
        fold_seconds.append(round(end.elapsed_s, 1))
        histories.append(end.history)
        yield FoldEnd(fold + 1, folds, len(held), record, end.elapsed_s)

    bias = prior_correction(np.bincount(labels, minlength=config.num_classes)) if cfg.class_weighting else None
    cal, report, shifted, ood_summary, ood_scores, nested = out_of_fold_figures(
        oof, oof_shifted, ood_parts, ood_parts_shifted, labels, fold_ids, positive, bias, threshold_rule,
        threshold_target, n_boot, ood_percentile)
    ood_threshold, ood_scales = ood_summary["threshold"], tuple(ood_summary["scales"])
    common = min(len(h) for h in histories)
    summary = {
        "text": cv_text(folds, n), "folds": folds, "n": n, "seed": fold_seed, "stratified": True,
        "near_duplicates": grouping, "per_fold": per_fold,
        "mean_held_out_auc_by_epoch": [mean_auc([h[e] for h in histories]) for e in range(common)],
        "ood": ood_summary, "shipped": "one refit on all images with the same schedule, last epoch kept",
    }
    if nested is not None:
        summary["nested"] = nested
    summary = metrics.to_jsonable(summary)
    yield CrossValidated(folds, n, metrics.to_jsonable(report), summary, metrics.to_jsonable(shifted), oof, labels,
                         ood_scores, oof_shifted, fold_ids)
    if not refit:
        return

    yield Progress(folds, runs.runs, f"Training the final model on all {n} images")
    model = initial_model(config, cfg.seed, base, start_from)
    end = yield from run_one(folds, model, everything.subset(range(n), augment_batch), None)
    if end is None or end.status == "cancelled" or is_cancelled(cancel):
        yield FitEnd("cancelled", 0, 0, time.time() - started)
        return
    yield replace(end, elapsed_s=time.time() - started)
    card = _card(model_id, config, cal, report, summary, shifted, cfg, end, augment, command, description,
                 base, train, val, fold_ids, time.time() - started)
    out_of_fold = {"labels": labels.tolist(), "fold_ids": fold_ids.tolist(), "logits": oof.tolist(),
                   "shifted_logits": oof_shifted.tolist(), "ood_parts": ood_parts.tolist(),
                   "shifted_ood_parts": ood_parts_shifted.tolist(),
                   "ood_part_names": list(ood.PART_NAMES)}  # unscaled; refits without retraining
    card = replace(card, training={**card.training, "cross_validation": {
        **card.training["cross_validation"], "fold_seconds": fold_seconds, "out_of_fold": out_of_fold}})
    model = model.cpu().eval()
    card = replace(card, ood=fit_ood(model, card, everything, None, threshold=ood_threshold,
                                     in_distribution_scores=ood_scores, percentile=ood_percentile, scales=ood_scales,
                                     other=other))
    yield TrainedModel(model, card, end)


def _card(model_id, config, cal: Calibration, report, summary, shifted, cfg, end: FitEnd, augment, command,
          description, base, train, val, fold_ids, seconds) -> ModelCard:
    folds, n = summary["folds"], summary["n"]
    return ModelCard(
        id=model_id, config=config, description=description, temperature=cal.temperature,
        threshold=cal.threshold, logit_bias=cal.logit_bias, positive_label=config.labels[cfg.positive],
        metrics=metrics.to_jsonable({"validation": report, "threshold_rule": cal.rule, "cross_validation": summary,
                                     "shifted": shifted}),
        training={**cfg.to_dict(), "augment": augment, "command": command, "best_epoch": end.epochs_run,
                  "epochs_run": end.epochs_run, "status": end.status, "seconds": round(seconds, 1),
                  "hardware": hardware(), "history": metrics.to_jsonable(end.history),
                  "cross_validation": {"folds": folds, "seed": summary["seed"], "refit": "all images, last epoch kept"}},
        data={"train": train.manifest, "val": val.manifest,
              "cross_validation": {"folds": folds, "n": n, "seed": summary["seed"],
                                   "near_duplicates": summary["near_duplicates"],
                                   "fold_ids_sha256": hashlib.sha256(fold_ids.tobytes()).hexdigest()}},
        base_model=base.id if base else None,
        app_version=__version__,
    )


def _input_parts(everything: TensorDataset, labels: np.ndarray, fold_ids: np.ndarray,
                 config: ModelConfig) -> tuple[np.ndarray, np.ndarray]:
    """The model-independent OOD parts of every image (clean, scanner-shifted), out of fold, batched as
    ``cross_validate`` batches them: only the feature part needs the fold models."""
    shifted_all = everything.subset(range(len(labels)))
    shifted_all.inputs = scanner_shift(shifted_all.inputs)
    other, normalization = other_task_statistics(config), (config.mean, config.std)
    clean, shifted = None, None
    for fold in np.unique(fold_ids):
        held, rest = np.flatnonzero(fold_ids == fold), np.flatnonzero(fold_ids != fold)
        sets = [ood.batch_statistics((x for x, _ in batch_loader(data.subset(indices), 256)), normalization)
                for data, indices in ((everything, rest), (everything, held), (shifted_all, held))]
        parts, shifted_parts = ood.held_out_input_parts(*sets, other=other)
        if clean is None:
            clean, shifted = np.zeros((len(labels), parts.shape[1])), np.zeros((len(labels), parts.shape[1]))
        clean[held], shifted[held] = parts, shifted_parts
    return clean, shifted


def refit_out_of_fold(model, card: ModelCard, train: LabeledSet, val: LabeledSet, rule: str = "youden",
                      target: float | None = None, n_boot: int = N_BOOT) -> ModelCard:
    """Refit a cross-validated card's calibration, operating point, OOF figures and OOD detector from the
    out-of-fold predictions it stores (``training.cross_validation.out_of_fold``: logits and the feature
    part of the OOD scores; the model-independent parts are recomputed from the images), weights
    untouched: what a retrain with this code would give them, without training the folds again. Returns the updated card (not
    saved); raises ``ValueError`` for a card without them or data that are not the ones it was trained on."""
    stored = card.training.get("cross_validation", {}).get("out_of_fold")
    if not stored or "ood_parts" not in stored:
        raise ValueError(f"{card.id}: the card stores no out-of-fold predictions - retrain it instead")
    config = card.config
    train, val = align_labels(train, config.labels), align_labels(val, config.labels)
    everything = TensorDataset(join(train, val), config)
    labels = everything.labels.numpy()
    cv = card.data["cross_validation"]
    grouping = cv.get("near_duplicates")
    if grouping is None:  # cards from before the grouping
        fold_ids = stratified_folds(labels, cv["folds"], cv["seed"])
    else:
        together = not grouping.get("split_on_request", False)
        fold_ids = deal_folds(everything.inputs, labels, cv["folds"], cv["seed"], together)[0]
    if labels.tolist() != stored["labels"] or hashlib.sha256(fold_ids.tobytes()).hexdigest() != cv["fold_ids_sha256"]:
        raise ValueError(f"{card.id}: these images are not the ones the card was cross-validated on")
    positive = positive_index(config.labels, config.task)
    bias = prior_correction(np.bincount(labels, minlength=config.num_classes)) \
        if card.training.get("class_weighting", True) else None
    summary = card.metrics["cross_validation"]
    percentile = summary.get("ood", {}).get("percentile", OOD_PERCENTILE)
    parts = [np.column_stack([np.asarray(stored[key], dtype=np.float64)[:, 0], inputs]) for key, inputs in
             zip(("ood_parts", "shifted_ood_parts"), _input_parts(everything, labels, fold_ids, config))]
    cal, report, shifted, ood_summary, ood_scores, nested = out_of_fold_figures(
        np.asarray(stored["logits"]), np.asarray(stored["shifted_logits"]), *parts, labels, fold_ids, positive, bias,
        rule, target, n_boot, percentile)
    summary = {**summary, "ood": ood_summary, **({"nested": nested} if nested is not None else {})}
    card = replace(card, temperature=cal.temperature, threshold=cal.threshold, logit_bias=cal.logit_bias,
                   metrics=metrics.to_jsonable({**card.metrics, "validation": report, "threshold_rule": cal.rule,
                                                "cross_validation": summary, "shifted": shifted}))
    detector = fit_ood(model.cpu().eval(), card, everything, None, threshold=ood_summary["threshold"],
                       in_distribution_scores=ood_scores, percentile=percentile, scales=tuple(ood_summary["scales"]))
    return replace(card, ood=detector)
