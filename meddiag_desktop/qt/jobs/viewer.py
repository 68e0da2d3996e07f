"""The main window's background work as plain job functions for ``workers.Job`` (no Qt in here).

Each function has the job signature ``fn(progress, cancel, *args)`` and runs in a worker thread.
Heavy modules (torch, pydicom, Pillow, numpy) are imported inside the functions - i.e. off the GUI
thread - so importing this module, and painting the window, stays cheap.

A :class:`ModelSession` belongs to the "models" lane: only jobs running on that lane touch it, one
at a time, so it needs no locks. The GUI only reads the immutable event records defined here.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ..display_names import card_sort_key, method_name
from ..reading_text import finding_class
from .loading import predictors_for_job

log = logging.getLogger(__name__)

PREFERRED_TASK = "pneumonia"


# ----------------------------------------------------------------------------- event records
@dataclass(frozen=True)
class SessionInfo:
    """What the "load models" job found: the task's models and where they run."""

    tasks: tuple[str, ...]
    task: str | None
    cards: tuple  # core.storage.ModelCard, CNN / RNN / Transformer first
    methods: dict[str, tuple[str, ...]]  # card id -> explanation methods, default first
    device: str  # torch device, e.g. "cpu", "cuda"
    device_label: str  # for people: "CPU", "GPU (NVIDIA ...)"
    requested: str  # auto | cpu | cuda
    cuda_available: bool
    fallback: str | None = None  # why the requested device is not used; None when it is
    errors: dict[str, str] = field(default_factory=dict)  # card id -> why it could not be loaded
    seconds: float = 0.0


@dataclass(frozen=True)
class Prediction:
    path: str
    model: str
    result: Any  # core.inference.Result
    device: str


@dataclass(frozen=True)
class PredictionFailed:
    path: str
    model: str | None  # None: the image itself could not be read
    error: str


@dataclass(frozen=True)
class HeatMap:
    path: str
    model: str
    method: str
    heatmap: Any  # float32 (H, W) in [0, 1], the image's own shape
    target: int
    target_label: str
    overlay: Any = None  # uint8 (H, W): ``heatmap`` as colour-table indices for display (``heat_indices``)


# ----------------------------------------------------------------------------- heat-map colours
# Quantising a heat-map to the colour table's 256 bins (a float pass per pixel: ~15 ms for a
# 2048 px radiograph, plus pyqtgraph's own rescale on every new map) is done in the models lane
# right after the map is computed: the GUI thread only wraps ready uint8 indices in an indexed
# QImage whose colour table is the image view's ``heat_lookup_table``.
HEAT_LEVELS = 256


def heat_indices(heatmap, n: int = HEAT_LEVELS):
    """[0, 1] (H, W) -> uint8 (H, W) colour-table indices: the same bins as pyqtgraph's float lookup
    with levels (0, 1), index = min(floor(v * n), n - 1); NaN -> 0."""
    import numpy as np

    index = np.nan_to_num(np.asarray(heatmap, np.float32) * n, nan=0.0)
    np.clip(index, 0, n - 1, out=index)
    return index.astype(np.uint8)


# ----------------------------------------------------------------------------- session
def _worker_threads(torch) -> int:
    """Leave one core to the GUI thread (we may have only two)."""
    return max(1, min(torch.get_num_threads(), (os.cpu_count() or 2) - 1))


class ModelSession:
    """Loaded predictors for the active task. Used only by jobs on the models lane."""

    def __init__(self, store: Any = None) -> None:
        self._store_spec = store  # a ModelStore, a list of model folders, or None (shipped + user)
        self.store = None
        self.device = "cpu"
        self.cards: dict[str, Any] = {}
        self.predictors: dict[str, Any] = {}

    def _model_store(self):
        from meddiag_desktop.core.model_store import ModelStore

        if self.store is None:
            spec = self._store_spec
            self.store = spec if isinstance(spec, ModelStore) else ModelStore(
                None if spec is None else [Path(p) for p in spec])
        return self.store

    def open(self, requested: str, task: str | None, progress, cancel) -> SessionInfo | None:
        start = time.perf_counter()
        progress(0, None, "Loading PyTorch…")
        import torch

        from meddiag_desktop.core.device import cuda_available
        from meddiag_desktop.core.explain import available_methods

        torch.set_num_threads(_worker_threads(torch))
        all_cards = self._model_store().active_cards()  # the active version per (task, family)
        tasks = tuple(sorted({c.task for c in all_cards}))
        if task not in tasks:
            task = PREFERRED_TASK if PREFERRED_TASK in tasks else (tasks[0] if tasks else None)
        cards = sorted((c for c in all_cards if c.task == task), key=card_sort_key)
        loaded = predictors_for_job(progress, cancel, cards, requested, keep_going=True)
        if loaded is None:
            return None  # cancelled
        for card_id, error in loaded.errors.items():
            log.error("model %s could not be loaded: %s", card_id, error)
        device, fallback = str(loaded.device), loaded.fallback
        if fallback:
            log.warning("device %s requested: %s", requested, fallback)
        self.cards = {c.id: c for c in cards}
        self.predictors, self.device = {p.card.id: p for p in loaded.predictors}, device
        label = "CPU" if device == "cpu" else f"GPU ({torch.cuda.get_device_name(loaded.device)})"
        log.info("task %s: %d model(s) on %s", task, len(loaded.predictors), label)
        return SessionInfo(
            tasks=tasks, task=task, cards=tuple(cards),
            methods={c.id: tuple(available_methods(c.config.arch)) for c in cards},
            device=device, device_label=label, requested=requested, cuda_available=cuda_available(),
            fallback=fallback, errors=dict(loaded.errors), seconds=time.perf_counter() - start)

    def predictor(self, card_id: str):
        try:
            return self.predictors[card_id]
        except KeyError:
            raise LookupError(f"model {card_id!r} is not loaded") from None


# ----------------------------------------------------------------------------- job functions
def load_models(progress, cancel, session: ModelSession, requested: str, task: str | None) -> SessionInfo | None:
    return session.open(requested, task, progress, cancel)


def warm_up_io(progress, cancel) -> None:
    import meddiag_desktop.core.io  # noqa: F401 - numpy, Pillow, pydicom: ~1 s of imports


def open_image(progress, cancel, path: str):
    """-> core.io.LoadedImage; raises ImageLoadError with a short, path-free reason."""
    from meddiag_desktop.core.io import load_image

    return load_image(path)


def predict(progress, cancel, session: ModelSession, path: str, image, card_ids) -> Iterator:
    """Yield a Prediction (or PredictionFailed) per model. ``image`` None: read the file here."""
    if image is None:
        from meddiag_desktop.core.io import ImageLoadError, load_image

        try:
            image = load_image(path).array
        except ImageLoadError as exc:
            yield PredictionFailed(path, None, str(exc))
            return
    for i, card_id in enumerate(card_ids):
        if cancel.is_set():
            return
        progress(i, len(card_ids), "Predicting…")
        try:
            predictor = session.predictor(card_id)
            result = predictor.result_at(path, predictor.score_arrays([image]), 0)
            yield Prediction(path, card_id, result, str(predictor.device))
        except Exception as exc:  # one model failing must not hide the others
            log.error("model %s failed on %s: %s", card_id, os.path.basename(path), exc)
            yield PredictionFailed(path, card_id, str(exc) or type(exc).__name__)


def explain_image(progress, cancel, session: ModelSession, path: str, image, card_id: str, method: str) -> HeatMap:
    """The heat-map of ``method`` for the card's finding class (``reading_text.finding_class``: e.g.
    pneumonia even when the decision is normal), or for the predicted class of a card without one."""
    from meddiag_desktop.core.explain import explain

    predictor = session.predictor(card_id)
    progress(0, None, f"Computing {method_name(method)}…")
    result = explain(predictor.model, predictor.card.config, image, method=method,
                     target=finding_class(predictor.card), cancel=cancel)
    overlay = heat_indices(result.heatmap)
    return HeatMap(path, card_id, result.method, result.heatmap, result.target, predictor.card.labels[result.target],
                   overlay)


def export_dicom(progress, cancel, session: ModelSession, path: str, results, sc_models, out_dir: str):
    """File → Export DICOM results…: ``core.dicom_results`` SR (every result) and the captures of
    ``sc_models`` (model id -> heat-map method) for ``path``; returns its ``DicomOutput`` records."""
    from meddiag_desktop.core.dicom_results.writer import write_dicom_results

    progress(0, None, "Writing DICOM results…")
    return write_dicom_results(path, results, list(session.predictors.values()), out_dir, sc_models=sc_models)
