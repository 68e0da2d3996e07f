"""A scan's forward-and-result step, spawn-safe: decoded files + predictors -> rows.

``predict_decoded`` is the one forward of every scan engine (the calling process, a worker process,
a Ray actor). For CPU scans of small files the local process engine runs it in its worker
processes too: each loads the models once (``load_worker_models``, from the cards: the weights'
files, checked by sha256 again), then decodes, preprocesses and predicts a whole batch of paths
(``predict_paths``); only the rows travel back. The batches are the scan's own, so the rows are
the same whichever process computes them. Models that share an input share its stacked tensor and
the OOD check's input statistics.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np
import torch

from .inference import Predictor, Result
from .input_statistics import input_statistics
from .scan_decode import ConfigKey, DecodedFile, config_key, decode_files, input_configs

__all__ = ["ScanResult", "can_predict_in_workers", "load_worker_models", "predict_decoded", "predict_paths"]


@dataclass
class ScanResult(Result):
    """A ``Result`` plus what the audit trail needs: the input's and the weights' sha256."""

    file_sha256: str | None = None  # None when the file cannot be read
    model_sha256: str | None = None


def predict_decoded(batch: Sequence[DecodedFile], predictors: Sequence[Predictor]) -> list[ScanResult]:
    """Rows for a batch of decoded files (file then predictor order): each distinct model input is
    stacked once, every model runs once. The one forward-and-result step of every scan engine."""
    good = [item for item in batch if item.error is None]
    stacked: dict[ConfigKey, torch.Tensor] = {}
    statistics: dict[ConfigKey, np.ndarray] = {}  # the OOD check's input statistics, once per input too
    per_model: list[Iterator[ScanResult]] = []  # each model's rows of the good files, in file order
    for predictor in predictors if good else ():
        config = predictor.card.config
        key = config_key(config)
        if key not in stacked:
            stacked[key] = torch.from_numpy(np.stack([item.inputs[key] for item in good]))
        if predictor.uses_input_statistics and key not in statistics:
            statistics[key] = input_statistics(stacked[key], config.mean, config.std)
        scores = predictor.scores(stacked[key], statistics.get(key))
        made = predictor.results([item.path for item in good], scores, cls=ScanResult)
        weights = predictor.card.sha256 or None
        for row, item in zip(made, good):
            row.file_sha256, row.model_sha256 = item.sha256, weights
        per_model.append(iter(made))
    rows = []
    for item in batch:
        if item.error is None:
            rows += [next(made) for made in per_model]
            continue
        for predictor in predictors:
            row = predictor.error_result(item.path, item.error, cls=ScanResult)
            row.file_sha256, row.model_sha256 = item.sha256, predictor.card.sha256 or None
            rows.append(row)
    return rows


def can_predict_in_workers(predictors: Sequence[Predictor]) -> bool:
    """True when a worker process can rebuild every predictor from its card: plain ``Predictor``
    objects on the CPU whose weights are files (a GPU forward stays in the scan's process)."""
    return all(type(p) is Predictor and p.device.type == "cpu" and p.card.path is not None
               and p.card.weights_path.is_file() for p in predictors)


class _Loaded:
    predictors: list[Predictor] = []
    configs: dict = {}


def load_worker_models(cards: Sequence) -> None:
    """Worker-process initializer: the scan's models, once per process, on the CPU."""
    _Loaded.predictors = [Predictor(card, "cpu") for card in cards]
    _Loaded.configs = input_configs(_Loaded.predictors)


def predict_paths(paths: Sequence[str]) -> list[ScanResult]:
    """A batch of paths decoded and predicted with the models ``load_worker_models`` loaded."""
    return predict_decoded(decode_files(paths, _Loaded.configs), _Loaded.predictors)
