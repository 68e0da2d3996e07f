"""Train -> calibrate -> describe: what `meddiag train`, the fine-tune dialog and the shipped-weights
script all run, so a model card always carries the same, honestly named figures.

Everything here is chosen on the validation set only: best epoch, temperature, operating threshold.
"""
from __future__ import annotations

import copy
import os
import platform
import re
import time
from dataclasses import dataclass, replace
from typing import Iterator, Sequence

import numpy as np
import torch
from torch import nn

from .. import __version__
from . import metrics, ood
from .data import BatchAugment, LabeledSet, MemberAugments, TensorDataset, batch_loader
from .input_statistics import input_statistics
from .models import ModelConfig, SeedEnsemble, create_model_from_config, member_kwargs
from .preprocess import preprocess_batch
from .robustness import DESCRIPTION as SHIFT_DESCRIPTION
from .robustness import scanner_shift
from .storage import ModelCard, load_weights
from .tasks import TASKS
from .jobs import CancelFlag
from .training import FitEnd, TrainConfig, evaluate, fit, seed_everything
from .training_events import TrainedModel

N_BOOT = 1000


def positive_index(labels: tuple[str, ...], task: str | None = None) -> int:
    """Index of the clinically positive class: the task's finding, else the second label."""
    spec = TASKS.get(task or "")
    if spec and spec.positive in labels:
        return labels.index(spec.positive)
    return 1


def align_labels(data: LabeledSet, labels: tuple[str, ...]) -> LabeledSet:
    """Re-express ``data``'s class ids in the order of ``labels`` (names must match; npz sets
    with numeric names are taken as already in that order)."""
    if data.label_names == tuple(labels):
        return data
    if all(n.isdigit() for n in data.label_names) and int(max(data.label_names)) < len(labels):
        return LabeledSet(tuple(labels), data.labels, data.images, data.paths, data.manifest)
    missing = sorted(set(data.label_names) - set(labels))
    if missing:
        raise ValueError(f"data classes {missing} are not among the model's labels {list(labels)}")
    mapping = np.array([labels.index(n) for n in data.label_names])
    return LabeledSet(tuple(labels), mapping[data.labels], data.images, data.paths, data.manifest)


@dataclass
class Calibration:
    """How raw logits become the probabilities and decision a user sees:
    softmax((logits + logit_bias) / temperature), positive if P(positive) >= threshold."""
    temperature: float
    threshold: float | None
    rule: str
    logit_bias: list[float] | None = None

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        return calibrated_probabilities(logits, self.logit_bias, self.temperature)


def _with_bias(logits: np.ndarray, logit_bias) -> np.ndarray:
    return np.asarray(logits, dtype=np.float64) + (np.asarray(logit_bias) if logit_bias is not None else 0.0)


def calibrated_probabilities(logits: np.ndarray, logit_bias, temperature: float) -> np.ndarray:
    return metrics.apply_temperature(_with_bias(logits, logit_bias), temperature)


def prior_correction(train_counts: Sequence[int]) -> list[float]:
    """Logit bias that undoes inverse-frequency class weighting: a model trained with class weights
    w_k learns posteriors scaled by w_k, so adding log(1 / w_k) restores the training prior."""
    counts = np.asarray(train_counts, dtype=np.float64)
    weights = counts.sum() / (len(counts) * np.maximum(counts, 1))
    return (-np.log(weights)).tolist()


def calibrate(logits: np.ndarray, labels: np.ndarray, positive: int, rule: str = "youden",
              target: float | None = None, logit_bias: list[float] | None = None) -> Calibration:
    """Calibration fitted on validation by NLL. Binary: Platt scaling, i.e. a temperature and a bias on
    the positive logit together (it also undoes the class weighting's shift). More classes: the
    prior correction ``logit_bias`` (kept only when it lowers validation NLL), then a temperature.
    Binary threshold by Youden's J (or a target sensitivity / specificity) on the calibrated
    validation probabilities, or ``cost``: the Bayes threshold 1 / (1 + R) on them when a missed
    positive costs R false alarms (fits nothing beyond the calibration)."""
    platt = _platt(logits, labels, positive) if logits.shape[1] == 2 else None
    if platt is not None:
        temperature, logit_bias = platt
    elif logit_bias is not None:
        def fitted_nll(bias):
            adjusted = _with_bias(logits, bias)
            return metrics.nll(adjusted, labels, metrics.fit_temperature(adjusted, labels))

        if fitted_nll(logit_bias) >= fitted_nll(None):
            logit_bias = None
    adjusted = _with_bias(logits, logit_bias)
    if platt is None:
        temperature = metrics.fit_temperature(adjusted, labels)
    if logits.shape[1] != 2:
        return Calibration(temperature, None, "argmax", logit_bias)
    scores = metrics.apply_temperature(adjusted, temperature)[:, positive]
    if rule == "youden":
        threshold = metrics.threshold_youden(labels, scores, positive=positive)
    elif rule == "sensitivity":
        threshold = metrics.threshold_for_sensitivity(labels, scores, target=target or 0.95, positive=positive)
    elif rule == "specificity":
        threshold = metrics.threshold_for_specificity(labels, scores, target=target or 0.95, positive=positive)
    elif rule == "cost":  # Bayes decision on calibrated probabilities: a missed positive costs ``target`` false alarms
        if not target or target <= 0:
            raise ValueError("the cost rule needs a positive cost ratio (missed positive : false alarm)")
        return Calibration(temperature, 1.0 / (1.0 + target), metrics.rule_name(rule, target), logit_bias)
    else:
        raise ValueError(f"unknown threshold rule {rule!r}")
    return Calibration(temperature, _between_scores(float(threshold), scores), metrics.rule_name(rule, target),
                       logit_bias)


def _platt(logits: np.ndarray, labels: np.ndarray, positive: int) -> tuple[float, list[float]] | None:
    """Platt's sigmoid(a * (z_pos - z_neg) + c) as softmax((z + bias) / T): T = 1 / a and the bias
    c / a on the positive logit. None when the fit is degenerate (a <= 0: no usable ranking)."""
    a, c = metrics.fit_platt(logits[:, positive] - logits[:, 1 - positive], labels == positive)
    if not (a > 1e-3 and np.isfinite(c)):
        return None
    bias = [0.0, 0.0]
    bias[positive] = c / a
    return 1.0 / a, bias


def _between_scores(threshold: float, scores: np.ndarray) -> float:
    """Move a threshold that sits on an observed score to the midpoint below it: the validation
    decisions stay the same, but float32 vs float64 rounding can no longer flip that sample."""
    below = scores[scores < threshold]
    return float((threshold + (below.max() if below.size else 0.0)) / 2)


def describe(logits: np.ndarray, labels: np.ndarray, positive: int, cal: Calibration, n_boot: int = N_BOOT) -> dict:
    """Metrics with bootstrap 95 % CIs at the operating point, ECE before / after calibration."""
    binary = logits.shape[1] == 2
    probs = cal.probabilities(logits)
    threshold = (cal.threshold if cal.threshold is not None else 0.5) if binary else None
    report = metrics.metrics_with_ci(labels, probs, positive=positive, threshold=threshold, n_boot=n_boot)
    report["ece_uncalibrated"] = metrics.expected_calibration_error(labels, metrics.softmax(logits))
    report["temperature"] = float(cal.temperature)
    report["logit_bias"] = cal.logit_bias
    report["nll"] = float(-np.mean(np.log(np.clip(probs[np.arange(len(labels)), labels], 1e-12, None))))
    return report


def card_calibration(card: ModelCard) -> Calibration:
    return Calibration(card.temperature, card.threshold, card.metrics.get("threshold_rule", ""), card.logit_bias)


def hardware() -> dict:
    info = {"machine": platform.machine(), "cpu_count": os.cpu_count(), "torch": torch.__version__,
            "python": platform.python_version()}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def initial_model(config: ModelConfig, seed: int, base: ModelCard | None = None,
                  start_from: nn.Module | None = None) -> nn.Module:
    """A fresh model seeded with ``seed`` (initial weights and a re-initialised head depend on it),
    with ``base``'s weights loaded when given (all but the head when the labels differ), or every layer
    but the head of ``start_from`` (a pretrained model in memory, e.g. ``core.pretext``)."""
    seed_everything(seed)
    model = create_model_from_config(config)
    if isinstance(model, SeedEnsemble):  # member i starts as a single model of seed + i
        for i, member in enumerate(model.members):
            seed_everything(seed + i)
            single = replace(config, arch_kwargs=member_kwargs(config.arch_kwargs, i))
            member.load_state_dict(create_model_from_config(single).state_dict())
    if base is not None:
        transfer_weights(model, load_weights(base, "cpu"), keep_head=tuple(base.labels) == tuple(config.labels),
                         source=base.id)
    if start_from is not None:
        transfer_weights(model, start_from, keep_head=False, source="the pretrained model")
    return model


def transfer_weights(model: nn.Module, base: nn.Module, *, keep_head: bool, source: str = "the base model") -> None:
    """Start ``model`` from ``base``'s weights: every layer, the head too when ``keep_head`` (same classes).
    A single ``base`` starts each member of a seed ensemble alike. Raises ``ValueError`` naming the
    layers when the architectures differ (a missing, extra or differently shaped tensor)."""
    if isinstance(model, SeedEnsemble) and not isinstance(base, SeedEnsemble):
        for member in model.members:
            transfer_weights(member, base, keep_head=keep_head, source=source)
        return
    head = re.compile(r"(members\.\d+\.)?head\.")
    wanted = {k: v.shape for k, v in model.state_dict().items() if keep_head or not head.match(k)}
    state = {k: v for k, v in base.state_dict().items() if keep_head or not head.match(k)}
    problems = [f"{k} missing" for k in wanted if k not in state]
    problems += [f"{k} not in the model" for k in state if k not in wanted]
    problems += [f"{k} {tuple(state[k].shape)} vs {tuple(shape)}" for k, shape in wanted.items()
                 if k in state and state[k].shape != shape]
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise ValueError(f"cannot start from {source}: its architecture differs: {'; '.join(problems[:3])}{more}")
    model.load_state_dict(state, strict=keep_head)


def augmenter(augment: bool | dict | list | None) -> BatchAugment | MemberAugments | None:
    """The training augmentation: True = the default ranges, a dict = ``BatchAugment`` keywords, a list
    of those = one per seed-ensemble member (``MemberAugments``, cycled like the model's ``variants``)."""
    if isinstance(augment, list):
        return MemberAugments([augmenter(one) for one in augment])
    if isinstance(augment, dict):
        return BatchAugment(**augment)
    return BatchAugment() if augment else None


def shifted_report(model: nn.Module, data: TensorDataset, positive: int, cal: Calibration,
                   n_boot: int = N_BOOT) -> dict:
    """``describe`` on the scanner-shifted copy of ``data`` (``core.robustness``), same calibration."""
    shifted = data.subset(range(len(data)))
    shifted.inputs = scanner_shift(shifted.inputs)
    _, logits, labels = evaluate(model, batch_loader(shifted, 256), torch.device("cpu"))
    return {**describe(logits, labels, positive, cal, n_boot), "shift": SHIFT_DESCRIPTION}


def train_model(model_id: str, config: ModelConfig, train: LabeledSet, val: LabeledSet, cfg: TrainConfig, *,
                base: ModelCard | None = None, augment: bool | dict | list = True, threshold_rule: str = "youden",
                threshold_target: float | None = None, description: str = "", command: str = "",
                start_from: nn.Module | None = None, cancel: CancelFlag | None = None,
                stop: CancelFlag | None = None) -> Iterator:
    """Yield ``fit`` events, then a ``TrainedModel`` (or nothing more after a cancel). ``start_from``: a
    pretrained model whose layers (not its head) start the run (``initial_model``)."""
    train, val = align_labels(train, config.labels), align_labels(val, config.labels)
    positive = positive_index(config.labels, config.task)
    cfg.positive = positive
    model = initial_model(config, cfg.seed, base, start_from)
    train_set = TensorDataset(train, config, augmenter(augment))
    val_set = TensorDataset(val, config)
    started = time.time()
    end = None
    for event in fit(model, train_set, val_set, cfg, cancel=cancel, stop=stop):
        yield event
        if isinstance(event, FitEnd):
            end = event
    if end is None or end.status == "cancelled":
        return
    bias = prior_correction(np.bincount(train_set.labels.numpy(), minlength=config.num_classes)) \
        if cfg.class_weighting else None
    cal = calibrate(end.val_logits, end.val_labels, positive, threshold_rule, threshold_target, bias)
    validation = describe(end.val_logits, end.val_labels, positive, cal)
    card = ModelCard(
        id=model_id, config=config, description=description, temperature=cal.temperature,
        threshold=cal.threshold, logit_bias=cal.logit_bias, positive_label=config.labels[positive],
        metrics=metrics.to_jsonable({"validation": validation, "threshold_rule": cal.rule}),
        training={**cfg.to_dict(), "augment": augment, "command": command, "best_epoch": end.best_epoch,
                  "epochs_run": end.epochs_run, "status": end.status, "seconds": round(time.time() - started, 1),
                  "hardware": hardware(), "history": metrics.to_jsonable(end.history),
                  "skipped_files": [{"reason": r} for _, r in train_set.errors + val_set.errors]},
        data={"train": train.manifest, "val": val.manifest},
        base_model=base.id if base else None,
        app_version=__version__,
    )
    model = model.cpu().eval()
    shifted = shifted_report(model, val_set, positive, cal)
    card = replace(card, ood=fit_ood(model, card, train_set, val_set),
                   metrics={**card.metrics, "shifted": metrics.to_jsonable(shifted)})
    yield TrainedModel(model, card, end)


def card_logits(model: nn.Module, card: ModelCard, data: LabeledSet,
                device: str | torch.device = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """(logits, labels) of the card's model on ``data``, its labels aligned to the card's."""
    data = align_labels(data, card.labels)
    _, logits, labels = evaluate(model.to(device), batch_loader(TensorDataset(data, card.config), 256),
                                 torch.device(device))
    return logits, labels


def describe_card(logits: np.ndarray, labels: np.ndarray, card: ModelCard, n_boot: int = N_BOOT) -> dict:
    """Metrics of ``logits`` with the card's calibration and threshold."""
    positive = card.positive_index if card.positive_index is not None else positive_index(card.labels, card.task)
    return describe(logits, labels, positive, card_calibration(card), n_boot)


def evaluate_model(model: nn.Module, card: ModelCard, data: LabeledSet, n_boot: int = N_BOOT,
                   device: str | torch.device = "cpu") -> dict:
    """The card's model on ``data`` with the card's calibration and threshold."""
    return describe_card(*card_logits(model, card, data, device), card, n_boot)


def recalibrate(model: nn.Module, card: ModelCard, val: LabeledSet, rule: str = "youden",
                target: float | None = None, device: str | torch.device = "cpu") -> ModelCard:
    """Refit the card's calibration and operating point on ``val`` (weights untouched) and
    re-describe its validation metrics and their scanner-shifted counterpart; returns the updated
    card (not saved)."""
    logits, labels = card_logits(model, card, val, device)
    positive = positive_index(card.labels, card.task)
    counts = card.data.get("train", {}).get("class_counts")
    bias = prior_correction([counts[name] for name in card.labels]) \
        if counts and card.training.get("class_weighting", True) else None
    cal = calibrate(logits, labels, positive, rule, target, bias)
    shifted = shifted_report(model.to(device), TensorDataset(align_labels(val, card.labels), card.config), positive, cal)
    return replace(card, temperature=cal.temperature, threshold=cal.threshold, logit_bias=cal.logit_bias,
                   metrics=metrics.to_jsonable({**card.metrics, "validation": describe(logits, labels, positive, cal),
                                                "threshold_rule": cal.rule, "shifted": shifted}))


def refit_ood(model: nn.Module, card: ModelCard, train: LabeledSet, val: LabeledSet) -> ModelCard:
    """Refit the card's OOD detector (weights untouched); returns the updated card (not saved)."""
    return replace(card, ood=fit_ood(model, card, train, val))


def _inputs(data: TensorDataset, batch_size: int = 256) -> Iterator[torch.Tensor]:
    for x, _ in batch_loader(data, batch_size):
        yield x


def fit_ood(model: nn.Module, card: ModelCard, train: TensorDataset | LabeledSet,
            val: TensorDataset | LabeledSet | None, references: dict[str, list[np.ndarray]] | None = None, *,
            threshold: float | None = None, in_distribution_scores: np.ndarray | None = None,
            percentile: float = 99.0, scales: tuple[float, float] | None = None,
            other: tuple[str, np.ndarray] | None = None) -> dict:
    """The card's out-of-distribution detector (``core.ood``): Mahalanobis on penultimate features and on
    the input statistics of the un-augmented training images, plus a modality check against ``other``
    = (name, input statistics) (default: ``other_task_statistics``: the other shipped task's training
    images, when installed); scales and threshold at the 99th percentile of validation scores (or the ``scales`` /
    ``threshold`` / ``in_distribution_scores`` a cross-validation estimated out-of-fold), AUROC against
    the reference sets (default: ``ood.reference_sets(task)``)."""
    train, val = (d if d is None or isinstance(d, TensorDataset)
                  else TensorDataset(align_labels(d, card.labels), card.config) for d in (train, val))
    plain_train = copy.copy(train)
    plain_train.augment = None  # the same cached inputs, without augmentation
    references = ood.reference_sets(card.task) if references is None else references
    other = other_task_statistics(card.config) if other is None else other
    detector = ood.calibrate_detector(
        model, _inputs(plain_train), plain_train.labels.numpy(), _inputs(val) if val is not None else None,
        {name: [preprocess_batch(arrays, card.config)] for name, arrays in references.items()}, percentile,
        threshold=threshold, in_distribution_scores=in_distribution_scores,
        normalization=(card.config.mean, card.config.std), scales=scales, other=other)
    out = detector.to_dict()
    if in_distribution_scores is not None:
        out["threshold_source"] = f"{percentile:g}th percentile of out-of-fold scores (n = {len(in_distribution_scores)})"
    return out


def other_task_statistics(config: ModelConfig) -> tuple[str, np.ndarray] | None:
    """(name, input statistics) of the images the modality check is fitted against, for ``config``'s task."""
    other = ood.modality_references(config.task)
    if other is None:
        return None
    return other[0], input_statistics(preprocess_batch(other[1], config), config.mean, config.std)
