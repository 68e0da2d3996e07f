"""One way to load predictors for a set of model cards, shared by the CLI and the window.

``load_predictors`` is a job (see ``core.jobs``): it yields a ``Progress`` before each model and
finally one :class:`LoadedModels`; when ``cancel`` is set it ends without that last event.

* ``keep_going=False`` (the CLI): the first failure raises (``DeviceError`` for a CUDA request
  without a GPU, ``ModelStorageError`` for damaged weights...).
* ``keep_going=True`` (the window): a model that fails is recorded in ``errors`` and the others
  load; a CUDA request without a GPU, or a GPU that refuses every model, falls back to the CPU and
  says why in ``fallback``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator, Sequence

import torch

from .device import choose, resolve_device
from .inference import Predictor
from .jobs import CancelFlag, Progress, is_cancelled
from .storage import ModelCard

__all__ = ["LoadedModels", "load_predictors"]


@dataclass(frozen=True)
class LoadedModels:
    predictors: tuple[Predictor, ...]  # in card order, failed ones left out
    errors: dict[str, str] = field(default_factory=dict)  # card id -> why it could not be loaded
    device: torch.device = torch.device("cpu")
    fallback: str | None = None  # why ``device`` is not the one requested; None when it is


def load_predictors(cards: Iterable[ModelCard], requested_device: str = "auto", *, cancel: CancelFlag | None = None,
                    keep_going: bool = False) -> Iterator[Progress | LoadedModels]:
    """A ``Progress`` per model, then ``LoadedModels``; see the module docstring."""
    cards = list(cards)
    if keep_going:
        device, fallback = choose(requested_device)
    else:
        device, fallback = resolve_device(requested_device), None
    loaded = yield from _load(cards, device, cancel, keep_going)
    if loaded is None:
        return
    predictors, errors = loaded
    if keep_going and device.type != "cpu" and errors and not predictors:  # the GPU refused every model
        fallback = f"The GPU could not run the models ({next(iter(errors.values()))}) - using the CPU instead."
        device = torch.device("cpu")
        loaded = yield from _load(cards, device, cancel, keep_going)
        if loaded is None:
            return
        predictors, errors = loaded
    yield LoadedModels(tuple(predictors), errors, device, fallback)


def _load(cards: Sequence[ModelCard], device: torch.device, cancel: CancelFlag | None,
          keep_going: bool) -> Iterator[Progress]:
    """Yields progress; returns (predictors, errors), or None when cancelled."""
    predictors, errors = [], {}
    for i, card in enumerate(cards):
        if is_cancelled(cancel):
            return None
        yield Progress(i, len(cards), f"Loading {card.id}…")
        try:
            predictors.append(Predictor(card, device))
        except Exception as exc:  # damaged weights, GPU out of memory...: that model only
            if not keep_going:
                raise
            errors[card.id] = str(exc)
    return predictors, errors
