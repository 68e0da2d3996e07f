"""Predictor: a model card + verified weights -> calibrated class probabilities.

``Result`` is the record every front end shares (CLI JSON, scan CSV, the window). A file that
cannot be read is a normal ``Result`` with ``status="error"``, never an exception that ends a job.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Iterable, Iterator, Sequence

import numpy as np
import torch

from .device import configure_torch, resolve_device
from .io import ImageLoadError, load_image
from .preprocess import preprocess, preprocess_batch
from .storage import ModelCard, ModelStore, load_weights


@dataclass
class Result:
    path: str
    model: str
    status: str  # "ok" | "error"
    error: str | None = None
    label: str | None = None  # decision at the card's operating point (binary) or the top class
    probability: float | None = None  # calibrated probability of ``label``
    probabilities: dict[str, float] | None = None

    def to_dict(self) -> dict:
        return asdict(self)


class Predictor:
    def __init__(self, card: ModelCard, device: str | torch.device = "auto") -> None:
        configure_torch()
        self.card = card
        self.device = device if isinstance(device, torch.device) else resolve_device(device)
        self.model = load_weights(card, self.device)

    @classmethod
    def from_id(cls, model_id: str, device: str = "auto", store: ModelStore | None = None) -> "Predictor":
        return cls((store or ModelStore()).find(model_id), device)

    @property
    def config(self):
        return self.card.config

    def preprocess(self, array: np.ndarray) -> torch.Tensor:
        return preprocess(array, self.card.config)

    @torch.inference_mode()
    def logits(self, batch: torch.Tensor) -> torch.Tensor:
        return self.model(batch.to(self.device, non_blocking=True)).float().cpu()

    def probabilities(self, batch: torch.Tensor) -> np.ndarray:
        """Calibrated probabilities softmax((logits + logit_bias) / T), (N, num_classes)."""
        logits = self.logits(batch)
        if self.card.logit_bias is not None:
            logits = logits + torch.tensor(self.card.logit_bias, dtype=logits.dtype)
        return torch.softmax(logits / self.card.temperature, dim=1).numpy()

    def predict_arrays(self, arrays: Sequence[np.ndarray]) -> np.ndarray:
        return self.probabilities(preprocess_batch(arrays, self.card.config))

    def decide(self, probs: np.ndarray) -> tuple[str, float]:
        """Label at the operating point (binary cards with a threshold), else the top class."""
        labels, pos = self.card.labels, self.card.positive_index
        if self.card.threshold is not None and pos is not None and len(labels) == 2:
            index = pos if probs[pos] >= self.card.threshold else 1 - pos
        else:
            index = int(np.argmax(probs))
        return labels[index], float(probs[index])

    def make_result(self, path: str, probs: np.ndarray) -> Result:
        label, probability = self.decide(probs)
        return Result(
            path=path, model=self.card.id, status="ok", label=label, probability=probability,
            probabilities={name: float(p) for name, p in zip(self.card.labels, probs)},
        )

    def error_result(self, path: str, error: str) -> Result:
        return Result(path=path, model=self.card.id, status="error", error=error)


def predict_files(paths: Iterable[str | os.PathLike], predictors: Sequence[Predictor],
                  batch_size: int = 32) -> Iterator[Result]:
    """Load each file once, run every predictor on it; yields one Result per (file, model), in
    input order. Unreadable files become error results and the rest go on."""
    pending: list[tuple[str, np.ndarray | str]] = []

    def flush() -> Iterator[Result]:
        good = [a for _, a in pending if not isinstance(a, str)]
        probs = {p.card.id: iter(p.predict_arrays(good)) for p in predictors} if good else {}
        for path, item in pending:
            for predictor in predictors:
                if isinstance(item, str):
                    yield predictor.error_result(path, item)
                else:
                    yield predictor.make_result(path, next(probs[predictor.card.id]))
        pending.clear()

    for path in paths:
        path = os.fspath(path)
        try:
            pending.append((path, load_image(path).array))
        except ImageLoadError as exc:
            pending.append((path, str(exc)))
        if len(pending) >= batch_size:
            yield from flush()
    yield from flush()
