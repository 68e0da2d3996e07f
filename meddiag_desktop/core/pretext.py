"""Self-supervised pretraining for small labelled sets: rotation prediction (Gidaris et al. 2018).

Every image, turned by 0 / 90 / 180 / 270 degrees, is labelled by its turn; a model of the target's
architecture learns to tell the turn, which needs no diagnosis labels, so images of other tasks (and
unlabelled ones) can teach its layers. The target model then starts from them
(``pipeline.initial_model(start_from=...)``: every layer but the head). ``rotation_pretext`` has the
one job shape: it trains the model in place and yields ``fit``'s events.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Iterator

import numpy as np
from torch import nn

from .data import BatchAugment, LabeledSet, TensorDataset
from .jobs import CancelFlag
from .models import ModelConfig, member_kwargs
from .training import TrainConfig, fit

ROTATIONS = ("rot0", "rot90", "rot180", "rot270")


def rotated(images: np.ndarray) -> LabeledSet:
    """(N, H, W) images -> 4N: all turned by 0, then all by 90, 180, 270 degrees, labelled by the turn."""
    if images.ndim != 3 or images.shape[1] != images.shape[2]:
        raise ValueError(f"rotation needs square (N, H, W) images, not {images.shape}")
    turned = np.concatenate([np.rot90(images, k, axes=(1, 2)) for k in range(len(ROTATIONS))])
    labels = np.repeat(np.arange(len(ROTATIONS), dtype=np.int64), len(images))
    return LabeledSet(ROTATIONS, labels, np.ascontiguousarray(turned))


def pretext_config(config: ModelConfig) -> ModelConfig:
    """The pretext model of ``config``: one model (not an ensemble) of the same architecture, input size and
    normalisation, whose head tells the four turns."""
    return replace(config, task="pretext", labels=ROTATIONS, arch_kwargs=member_kwargs(config.arch_kwargs))


def rotation_pretext(model: nn.Module, config: ModelConfig, images: np.ndarray, cfg: TrainConfig, *,
                     cancel: CancelFlag | None = None) -> Iterator:
    """Train ``model`` (built from ``pretext_config``) in place to tell the turn of ``images`` (uint8, with the
    default training augmentation), ``cfg.epochs`` epochs, last epoch kept; yields ``fit``'s events."""
    data = TensorDataset(rotated(images), config)
    train = data.subset(range(len(data)), BatchAugment())
    yield from fit(model, train, None, replace(cfg, patience=0, keep="last"), cancel=cancel)
