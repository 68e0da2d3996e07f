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
from .input_statistics import input_statistics
from .io import ImageLoadError, load_image
from .ood import OODDetector
from .preprocess import preprocess, preprocess_batch
from .storage import ModelCard, load_weights
from .model_store import ModelStore


@dataclass
class Result:
    path: str
    model: str
    status: str  # "ok" | "error"
    error: str | None = None
    label: str | None = None  # decision at the card's operating point (binary) or the top class
    probability: float | None = None  # calibrated probability of ``label``
    probabilities: dict[str, float] | None = None
    ood_score: float | None = None  # OOD distance / the card's threshold: > 1 is outside the training data
    in_distribution: bool | None = None  # None: the model has no OOD detector

    @property
    def refused(self) -> bool:
        """True when the image is outside what the model was trained on: no label is given."""
        return self.in_distribution is False

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self, percent=lambda p: f"{100 * p:.1f} %") -> str:
        """One line for lists and logs: the decision, the refusal or the error; ``percent`` formats
        the probability (the window passes its "> 99 %" rule)."""
        if self.status != "ok":
            return f"error: {self.error}"
        if self.refused:
            return f"outside training data (OOD score {self.ood_score:.2f})"
        return f"{self.label} {percent(self.probability)}"


class Predictor:
    def __init__(self, card: ModelCard, device: str | torch.device = "auto") -> None:
        configure_torch()
        self.card = card
        self.device = device if isinstance(device, torch.device) else resolve_device(device)
        self.model = load_weights(card, self.device)
        self.ood = OODDetector.from_dict(card.ood) if card.ood else None

    @classmethod
    def from_id(cls, model_id: str, device: str = "auto", store: ModelStore | None = None) -> "Predictor":
        return cls((store or ModelStore()).find(model_id), device)

    @property
    def config(self):
        return self.card.config

    def preprocess(self, array: np.ndarray) -> torch.Tensor:
        return preprocess(array, self.card.config)

    @torch.inference_mode()
    def forward(self, batch: torch.Tensor,
                statistics: np.ndarray | None = None) -> tuple[torch.Tensor, np.ndarray | None]:
        """Logits (N, C) and, when the card has an OOD detector, its score ratios (N,). ``statistics``:
        the batch's ``input_statistics`` when the caller has them (models sharing an input share them)."""
        x = batch.to(self.device, non_blocking=True)
        if self.ood is None:
            return self.model(x).float().cpu(), None
        features = self.model.forward_features(x)  # eval mode: forward == head(forward_features)
        if not self.ood.uses_inputs:
            statistics = None
        elif statistics is None:
            statistics = input_statistics(batch, self.config.mean, self.config.std)
        return self.model.head(features).float().cpu(), self.ood.ratio(features.float().cpu().numpy(), statistics)

    @property
    def uses_input_statistics(self) -> bool:
        return self.ood is not None and self.ood.uses_inputs

    def calibrate(self, logits: torch.Tensor) -> np.ndarray:
        """Calibrated probabilities softmax((logits + logit_bias) / T), (N, num_classes)."""
        if self.card.logit_bias is not None:
            logits = logits + torch.tensor(self.card.logit_bias, dtype=logits.dtype)
        return torch.softmax(logits / self.card.temperature, dim=1).numpy()

    def scores(self, batch: torch.Tensor, statistics: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """Calibrated probabilities and OOD ratios (None without a detector) of a prepared batch."""
        logits, ood = self.forward(batch, statistics)
        return self.calibrate(logits), ood

    def probabilities(self, batch: torch.Tensor) -> np.ndarray:
        return self.scores(batch)[0]

    def score_arrays(self, arrays: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray | None]:
        return self.scores(preprocess_batch(arrays, self.card.config))

    def predict_arrays(self, arrays: Sequence[np.ndarray]) -> np.ndarray:
        return self.score_arrays(arrays)[0]

    def decisions(self, probs: np.ndarray) -> np.ndarray:
        """Label index per row of ``probs`` (N, C): the operating point (binary cards with a
        threshold, compared in the probabilities' dtype), else the top class."""
        labels, pos = self.card.labels, self.card.positive_index
        if self.card.threshold is not None and pos is not None and len(labels) == 2:
            return np.where(probs[:, pos] >= self.card.threshold, pos, 1 - pos)
        return np.argmax(probs, axis=1)

    def decide(self, probs: np.ndarray) -> tuple[str, float]:
        """Label at the operating point (binary cards with a threshold), else the top class."""
        probs = np.asarray(probs)
        index = int(self.decisions(probs[None])[0])
        return self.card.labels[index], float(probs[index])

    def results(self, paths: Sequence[str], scores: tuple[np.ndarray, np.ndarray | None], *,
                cls: type[Result] = Result) -> list[Result]:
        """The decision for every row of a batch's ``scores()`` (row i is ``paths[i]``); an image
        outside the training distribution gets no label. ``cls``: a ``Result`` subclass to build
        (its extra fields keep their defaults). One pass over the batch: a scan makes thousands."""
        probs, ood = np.asarray(scores[0]), scores[1]
        labels, model = self.card.labels, self.card.id
        inside = [None] * len(paths) if ood is None else (np.asarray(ood) <= 1.0).tolist()
        ood_scores = [None] * len(paths) if ood is None else [round(v, 4) for v in np.asarray(ood).tolist()]
        rows = probs.tolist()  # Python floats, as float() of each element gives
        out = []
        for path, row, index, ins, score in zip(paths, rows, self.decisions(probs).tolist(), inside, ood_scores):
            label, probability = (labels[index], row[index]) if ins is not False else (None, None)
            out.append(cls(path=path, model=model, status="ok", label=label, probability=probability,
                           probabilities=dict(zip(labels, row)), ood_score=score, in_distribution=ins))
        return out

    def make_result(self, path: str, probs: np.ndarray, ood_ratio: float | None = None, *,
                    cls: type[Result] = Result) -> Result:
        """``results`` for one image."""
        ood = None if ood_ratio is None else np.asarray([ood_ratio])
        return self.results([path], (np.asarray(probs)[None], ood), cls=cls)[0]

    def result_at(self, path: str, scores: tuple[np.ndarray, np.ndarray | None], row: int, *,
                  cls: type[Result] = Result) -> Result:
        """``make_result`` for row ``row`` of a batch's ``scores()``."""
        probs, ood = scores
        return self.make_result(path, probs[row], None if ood is None else ood[row], cls=cls)

    def error_result(self, path: str, error: str, *, cls: type[Result] = Result) -> Result:
        return cls(path=path, model=self.card.id, status="error", error=error)


def predict_files(paths: Iterable[str | os.PathLike], predictors: Sequence[Predictor],
                  batch_size: int = 32) -> Iterator[Result]:
    """Load each file once, run every predictor on it; yields one Result per (file, model), in
    input order. Unreadable files become error results and the rest go on."""
    pending: list[tuple[str, np.ndarray | str]] = []

    def flush() -> Iterator[Result]:
        good = [a for _, a in pending if not isinstance(a, str)]
        scores = {p.card.id: p.score_arrays(good) for p in predictors} if good else {}
        row = 0
        for path, item in pending:
            for predictor in predictors:
                if isinstance(item, str):
                    yield predictor.error_result(path, item)
                else:
                    yield predictor.result_at(path, scores[predictor.card.id], row)
            row += not isinstance(item, str)
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
