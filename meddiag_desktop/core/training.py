"""Training in the style of torchvision's reference scripts, driven by the ``fit`` generator.

``fit`` yields ``StepEnd`` / ``EpochEnd`` events and finally a ``FitEnd``; the CLI prints them, the
GUI worker forwards them as signals. ``cancel`` (a ``jobs.CancelFlag``) is checked before every batch:
the run ends within one batch and the model's initial weights are put back. ``stop`` ends the run
early but normally: the best epoch so far is restored, as after early stopping.
"""
from __future__ import annotations

import copy
import math
import random
import threading
import time
from dataclasses import asdict, dataclass, replace
from typing import Iterator

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from . import metrics
from .data import batch_loader, for_member
from .device import configure_torch, resolve_device
from .jobs import CancelFlag, any_of, is_cancelled
from .training_events import EpochEnd, FitEnd, StepEnd


@dataclass
class TrainConfig:
    epochs: int = 30
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.05
    optimizer: str = "adamw"  # "adamw" | "sgd" (momentum, as in the original seed)
    momentum: float = 0.9
    warmup_epochs: float = 1.0
    label_smoothing: float = 0.0
    class_weighting: bool = True  # inverse-frequency class weights in the loss
    patience: int = 8  # epochs without improvement before early stopping (0 = never)
    monitor: str = "loss"  # best epoch by validation "loss" (lower) or "auc" (higher)
    seed: int = 0
    device: str = "auto"
    amp: bool = True  # mixed precision, CUDA only
    ema_decay: float | None = None  # evaluate / keep an exponential moving average of the weights
    keep: str = "best"  # weights kept at the end: the "best" validated epoch, or the "last" one
    mixup: float = 0.0  # Beta(a, a) mixup of batch pairs (0 = off)
    backbone_lr: float = 1.0  # learning-rate factor of every layer but the head (< 1: fine-tune transferred features gently)
    positive: int = 1  # class index whose sensitivity is reported (binary tasks)
    # validate every N epochs (and the last one, and when stopped): where nothing is chosen by validation
    # (keep "last", no patience: cross-validation folds) the per-epoch curve is only reported, and a coarser one
    # saves up to a quarter of a scattering model's time. Patience counts validated epochs.
    eval_every: int = 1
    # seed ensembles: member i trains with ``member_settings[i % len]`` over these settings (cycled like the
    # model's ``variants``), e.g. ``[{}, {"label_smoothing": 0.1}]``; a single model ignores them
    member_settings: tuple[dict, ...] = ()

    def to_dict(self) -> dict:
        return asdict(self)

    def for_member(self, index: int) -> "TrainConfig":
        """Member ``index``'s settings: seed + index, with its ``member_settings`` entry applied."""
        settings = dict(self.member_settings[index % len(self.member_settings)]) if self.member_settings else {}
        if {"seed", "epochs", "member_settings"} & settings.keys():  # fit_members numbers members x epochs
            raise ValueError("member_settings cannot set a member's seed, epochs or member_settings")
        return replace(self, seed=self.seed + index, **settings)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def class_weights(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    counts = torch.bincount(labels, minlength=num_classes).float().clamp(min=1)
    return counts.sum() / (num_classes * counts)


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    def split(params: list, lr: float) -> list[dict]:  # weight decay on weight matrices / kernels only
        return [{"params": [p for p in params if p.ndim > 1], "weight_decay": cfg.weight_decay, "lr": lr},
                {"params": [p for p in params if p.ndim <= 1], "weight_decay": 0.0, "lr": lr}]

    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if cfg.backbone_lr == 1.0:
        groups = split([p for _, p in trainable], cfg.lr)
    else:
        groups = (split([p for n, p in trainable if not n.startswith("head.")], cfg.lr * cfg.backbone_lr)
                  + split([p for n, p in trainable if n.startswith("head.")], cfg.lr))
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=cfg.lr)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=True)
    raise ValueError(f"unknown optimizer {cfg.optimizer!r}")


def cosine_with_warmup(optimizer, total_steps: int, warmup_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def train_steps(model, loader, criterion, optimizer, scheduler, device, scaler=None,
                cancel: CancelFlag | None = None, mixup: float = 0.0) -> Iterator[tuple[int, float, int]]:
    """One pass over ``loader``, yielding (step, loss, batch size) after every optimiser step.
    ``mixup`` > 0 blends each batch with a shuffled copy of itself (Zhang et al. 2018)."""
    model.train()
    for step, (x, y) in enumerate(loader):
        if is_cancelled(cancel):
            return
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with torch.autocast(device.type, enabled=scaler is not None):
            if mixup > 0:
                lam = float(np.random.beta(mixup, mixup))
                order = torch.randperm(len(y))
                out = model(lam * x + (1 - lam) * x[order])
                loss = lam * criterion(out, y) + (1 - lam) * criterion(out, y[order])
            else:
                loss = criterion(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()
        scheduler.step()
        yield step, loss.item(), len(y)


def train_one_epoch(model, loader, criterion, optimizer, scheduler, device, scaler=None,
                    cancel: CancelFlag | None = None) -> float:
    """torchvision-style epoch: returns the mean training loss (nan if cancelled before any batch)."""
    total = seen = 0
    for _, loss, n in train_steps(model, loader, criterion, optimizer, scheduler, device, scaler, cancel):
        total, seen = total + loss * n, seen + n
    return total / seen if seen else float("nan")


@torch.inference_mode()
def evaluate(model: nn.Module, loader: DataLoader, device: torch.device) -> tuple[float, np.ndarray, np.ndarray]:
    """Mean (unweighted) cross-entropy, logits (N, K) and labels (N,) over ``loader``."""
    model.eval()
    logits, labels = [], []
    for x, y in loader:
        logits.append(model(x.to(device)).float().cpu())
        labels.append(y)
    all_logits, all_labels = torch.cat(logits), torch.cat(labels)
    loss = nn.functional.cross_entropy(all_logits, all_labels).item()
    return loss, all_logits.numpy(), all_labels.numpy()


def epoch_metrics(logits: np.ndarray, labels: np.ndarray, positive: int) -> dict:
    probs = torch.softmax(torch.from_numpy(logits), 1).numpy()
    report = metrics.classification_report(labels, probs, positive=positive)
    keys = ("accuracy", "sensitivity", "specificity", "auc") if probs.shape[1] == 2 else ("accuracy", "macro_f1", "macro_auc")
    return {k: report[k] for k in keys if k in report}


def fit(model: nn.Module, train_set: Dataset, val_set: Dataset | None, cfg: TrainConfig, *,
        cancel: CancelFlag | None = None, stop: CancelFlag | None = None) -> Iterator:
    """Train ``model`` in place; yields StepEnd, EpochEnd and finally FitEnd. ``stop`` ends the run
    early keeping the best epoch; ``cancel`` ends it with the initial weights put back.
    ``cfg.keep == "last"`` keeps the last epoch's weights (the best epoch is then only reported);
    without ``val_set`` (a refit on all data) nothing is validated and the last epoch is kept.
    A seed ensemble (a model with ``members``) trains member by member (``fit_members``)."""
    if hasattr(model, "members"):
        return (yield from fit_members(model, train_set, val_set, cfg, cancel=cancel, stop=stop))
    configure_torch()
    seed_everything(cfg.seed)
    device = resolve_device(cfg.device)
    model.to(device)
    initial_state = copy.deepcopy(model.state_dict())
    generator = torch.Generator().manual_seed(cfg.seed)
    train_loader = batch_loader(train_set, cfg.batch_size, shuffle=True, drop_last=len(train_set) > cfg.batch_size,
                                generator=generator, pin_memory=device.type == "cuda")
    val_loader = batch_loader(val_set, 256) if val_set is not None else None
    keep_last = cfg.keep == "last" or val_loader is None
    num_classes = model.head.out_features
    weight = class_weights(train_set.labels, num_classes).to(device) if cfg.class_weighting else None
    criterion = nn.CrossEntropyLoss(weight=weight, label_smoothing=cfg.label_smoothing)
    optimizer = make_optimizer(model, cfg)
    steps = len(train_loader)
    scheduler = cosine_with_warmup(optimizer, cfg.epochs * steps, int(cfg.warmup_epochs * steps))
    scaler = torch.amp.GradScaler("cuda") if cfg.amp and device.type == "cuda" else None
    ema = None
    if cfg.ema_decay:
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema_decay), use_buffers=True)
    judged = ema.module if ema is not None else model  # the weights that are validated and kept

    start, history = time.perf_counter(), []
    best_score, best_epoch, best_state, stale = -math.inf, 0, None, 0
    status = "completed"
    for epoch in range(1, cfg.epochs + 1):
        total = seen = 0
        interrupt = any_of(cancel, stop)
        for step, loss, n in train_steps(model, train_loader, criterion, optimizer, scheduler, device, scaler,
                                         interrupt, cfg.mixup):
            total, seen = total + loss * n, seen + n
            if ema is not None:
                ema.update_parameters(model)
            done = (epoch - 1) * steps + step + 1
            eta = (time.perf_counter() - start) / done * (cfg.epochs * steps - done)
            yield StepEnd(epoch, cfg.epochs, step + 1, steps, loss, optimizer.param_groups[0]["lr"], eta)
        if is_cancelled(cancel):
            model.load_state_dict(initial_state)
            yield FitEnd("cancelled", 0, epoch - 1, time.perf_counter() - start, history)
            return
        if not seen:  # stopped before this epoch trained on anything
            status = "stopped"
            break
        train_loss = total / seen if seen else float("nan")
        validated = val_loader is not None and (epoch % max(1, cfg.eval_every) == 0 or epoch == cfg.epochs
                                                or is_cancelled(stop))
        if val_loader is None:
            val_loss, scores, score = float("nan"), {}, float(epoch)
        elif validated:
            val_loss, val_logits, val_labels = evaluate(judged, val_loader, device)
            scores = epoch_metrics(val_logits, val_labels, cfg.positive)
            score = -val_loss if cfg.monitor == "loss" else scores.get("auc", scores.get("macro_auc", -val_loss))
        else:  # draw what iterating the validation loader draws (DataLoader seeds its iterator from the
            # global generator), so the augmentation stream - and the weights - do not depend on ``eval_every``
            torch.empty((), dtype=torch.int64).random_()
            val_loss, scores, score = float("nan"), {}, -math.inf
        is_best = score > best_score
        if is_best:
            best_score, best_epoch, stale = score, epoch, 0
            if not keep_last:
                best_state = copy.deepcopy(judged.state_dict())
        elif validated:
            stale += 1
        if keep_last:
            best_state = judged.state_dict()  # loaded below: copies the EMA weights into the model
        elapsed = time.perf_counter() - start
        record = {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss, **scores}
        history.append(record)
        yield EpochEnd(epoch, cfg.epochs, train_loss, val_loss, scores, is_best, elapsed,
                       elapsed / epoch * (cfg.epochs - epoch))
        if is_cancelled(stop):
            status = "stopped"
            break
        if cfg.patience and stale >= cfg.patience:
            status = "early_stopped"
            break

    if best_state is None:  # stopped before the first epoch finished: keep the untouched model
        best_state = initial_state
    model.load_state_dict(best_state)
    if val_loader is None:
        yield FitEnd(status, len(history), len(history), time.perf_counter() - start, history)
        return
    _, val_logits, val_labels = evaluate(model, val_loader, device)
    yield FitEnd(status, best_epoch, len(history), time.perf_counter() - start, history, val_logits, val_labels)



def fit_members(model: nn.Module, train_set: Dataset, val_set: Dataset | None, cfg: TrainConfig, *,
                cancel: CancelFlag | None = None, stop: CancelFlag | None = None) -> Iterator:
    """``fit`` for a seed ensemble: member i trains exactly as a single model of ``cfg.for_member(i)`` (seed
    ``cfg.seed + i``, its ``member_settings``) and its own augmentation where ``train_set`` has a
    ``MemberAugments`` (``data.for_member``);
    the events are numbered as one run of members x epochs, the history is the members' mean per
    epoch, the FitEnd's logits are the ensemble's. After ``stop`` every later member ends after as
    many epochs as the stopped one; ``cancel`` puts every member's initial weights back."""
    members, device = list(model.members), resolve_device(cfg.device)
    initial_state = copy.deepcopy(model.state_dict())
    total, start = cfg.epochs * len(members), time.perf_counter()
    ends, stop_after, enough = [], None, threading.Event()
    for i, member in enumerate(members):
        offset, later = i * cfg.epochs, len(members) - i - 1
        enough.clear()
        flag, end = (stop if stop_after is None else enough), None
        for event in fit(member, for_member(train_set, i), val_set, cfg.for_member(i), cancel=cancel, stop=flag):
            if isinstance(event, StepEnd):
                yield replace(event, epoch=offset + event.epoch, epochs=total,
                              eta_s=event.eta_s + later * (time.perf_counter() - start) / (i + 1))
            elif isinstance(event, EpochEnd):
                if stop_after is not None and event.epoch >= stop_after:
                    enough.set()
                yield replace(event, epoch=offset + event.epoch, epochs=total, elapsed_s=time.perf_counter() - start,
                              eta_s=event.eta_s + later * event.elapsed_s / event.epoch * cfg.epochs)
            elif isinstance(event, FitEnd):
                end = event
        if end is None or end.status == "cancelled":
            model.load_state_dict(initial_state)
            yield FitEnd("cancelled", 0, 0, time.perf_counter() - start, [])
            return
        if end.status == "stopped" and stop_after is None:
            stop_after = max(end.epochs_run, 1)
        ends.append(end)
    common = min(len(end.history) for end in ends)
    history = [{key: float(np.mean([end.history[e][key] for end in ends])) for key in ends[0].history[e]
                if all(isinstance(end.history[e].get(key), (int, float)) for end in ends)} for e in range(common)]
    status = "stopped" if stop_after is not None else ends[0].status
    best_epoch = int(round(np.mean([end.best_epoch for end in ends])))
    elapsed = time.perf_counter() - start
    if val_set is None:
        yield FitEnd(status, best_epoch, common, elapsed, history)
        return
    _, val_logits, val_labels = evaluate(model.to(device), batch_loader(val_set, 256), device)
    yield FitEnd(status, best_epoch, common, elapsed, history, val_logits, val_labels)
