"""Train -> calibrate -> describe: what `meddiag train`, the fine-tune dialog and the shipped-weights
script all run, so a model card always carries the same, honestly named figures.

Everything here is chosen on the validation set only: best epoch, temperature, operating threshold.
"""
from __future__ import annotations

import os
import platform
import threading
import time
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch
from torch import nn

from .. import __version__
from . import metrics
from .data import LabeledSet, TensorDataset, build_augment
from .models import ModelConfig, create_model_from_config
from .storage import ModelCard, load_weights
from .tasks import TASKS
from .training import FitEnd, TrainConfig, evaluate, fit

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
    temperature: float
    threshold: float | None
    rule: str


def calibrate(logits: np.ndarray, labels: np.ndarray, positive: int, rule: str = "youden",
              target: float | None = None) -> Calibration:
    """Temperature by NLL on validation; binary threshold by Youden's J (or a target sensitivity /
    specificity) on the calibrated validation probabilities."""
    temperature = metrics.fit_temperature(logits, labels)
    if logits.shape[1] != 2:
        return Calibration(temperature, None, "argmax")
    scores = metrics.apply_temperature(logits, temperature)[:, positive]
    if rule == "youden":
        threshold = metrics.threshold_youden(labels, scores, positive=positive)
    elif rule == "sensitivity":
        threshold = metrics.threshold_for_sensitivity(labels, scores, target=target or 0.95, positive=positive)
    elif rule == "specificity":
        threshold = metrics.threshold_for_specificity(labels, scores, target=target or 0.95, positive=positive)
    else:
        raise ValueError(f"unknown threshold rule {rule!r}")
    name = rule if rule == "youden" else f"{rule}>={target or 0.95:g}"
    return Calibration(temperature, float(threshold), name)


def describe(logits: np.ndarray, labels: np.ndarray, positive: int, temperature: float,
             threshold: float | None, n_boot: int = N_BOOT) -> dict:
    """Metrics with bootstrap 95 % CIs at the operating point, ECE before / after temperature."""
    binary = logits.shape[1] == 2
    probs = metrics.apply_temperature(logits, temperature)
    report = metrics.metrics_with_ci(labels, probs, positive=positive,
                                     threshold=(threshold if threshold is not None else 0.5) if binary else None,
                                     n_boot=n_boot)
    report["ece_uncalibrated"] = metrics.expected_calibration_error(labels, metrics.softmax(logits))
    report["temperature"] = float(temperature)
    report["nll"] = metrics.nll(logits, labels, temperature)
    return report


def hardware() -> dict:
    info = {"machine": platform.machine(), "cpu_count": os.cpu_count(), "torch": torch.__version__,
            "python": platform.python_version()}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


@dataclass
class TrainedModel:
    """The last event of ``train_model``: an unsaved model and its filled-in card."""
    model: nn.Module
    card: ModelCard
    fit: FitEnd


def train_model(model_id: str, config: ModelConfig, train: LabeledSet, val: LabeledSet, cfg: TrainConfig, *,
                base: ModelCard | None = None, augment: bool = True, threshold_rule: str = "youden",
                threshold_target: float | None = None, description: str = "", command: str = "",
                cancel: threading.Event | None = None, stop: threading.Event | None = None) -> Iterator:
    """Yield ``fit`` events, then a ``TrainedModel`` (or nothing more after a cancel)."""
    train, val = align_labels(train, config.labels), align_labels(val, config.labels)
    positive = positive_index(config.labels, config.task)
    cfg.positive = positive
    model = create_model_from_config(config)
    if base is not None:
        base_model = load_weights(base, "cpu")
        same_head = tuple(base.labels) == tuple(config.labels)
        state = {k: v for k, v in base_model.state_dict().items() if same_head or not k.startswith("head.")}
        model.load_state_dict(state, strict=same_head)
    train_set = TensorDataset(train, config, build_augment() if augment else None)
    val_set = TensorDataset(val, config)
    started = time.time()
    end = None
    for event in fit(model, train_set, val_set, cfg, cancel=cancel, stop=stop):
        yield event
        if isinstance(event, FitEnd):
            end = event
    if end is None or end.status == "cancelled":
        return
    cal = calibrate(end.val_logits, end.val_labels, positive, threshold_rule, threshold_target)
    validation = describe(end.val_logits, end.val_labels, positive, cal.temperature, cal.threshold)
    card = ModelCard(
        id=model_id, config=config, description=description, temperature=cal.temperature,
        threshold=cal.threshold, positive_label=config.labels[positive],
        metrics=metrics.to_jsonable({"validation": validation, "threshold_rule": cal.rule}),
        training={**cfg.to_dict(), "augment": augment, "command": command, "best_epoch": end.best_epoch,
                  "epochs_run": end.epochs_run, "status": end.status, "seconds": round(time.time() - started, 1),
                  "hardware": hardware(), "history": metrics.to_jsonable(end.history),
                  "skipped_files": [{"reason": r} for _, r in train_set.errors + val_set.errors]},
        data={"train": train.manifest, "val": val.manifest},
        base_model=base.id if base else None,
        app_version=__version__,
    )
    yield TrainedModel(model.cpu().eval(), card, end)


def evaluate_model(model: nn.Module, card: ModelCard, data: LabeledSet, n_boot: int = N_BOOT,
                   device: str | torch.device = "cpu") -> dict:
    """The card's model on ``data`` at the card's temperature and threshold."""
    data = align_labels(data, card.labels)
    loader = torch.utils.data.DataLoader(TensorDataset(data, card.config), batch_size=256)
    _, logits, labels = evaluate(model.to(device), loader, torch.device(device))
    positive = card.positive_index if card.positive_index is not None else positive_index(card.labels, card.task)
    return describe(logits, labels, positive, card.temperature, card.threshold, n_boot)
