"""What the main window knows about its files, without Qt: the images read, each model's prediction
per file (a ``core.inference.Result`` or a :class:`PredictionFailure`), the heat-maps, the files that
could not be read, and the queue of files to predict in the background (prefetch).

The window fills it from its jobs' events (GUI thread only) and asks it what is missing.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from .display_names import family_name
from .jobs.viewer import Prediction, PredictionFailed
from .reading_text import result_summary


class LRUCache(OrderedDict):
    """Least-recently-used cache bounded by entries and by bytes (big DICOMs are hundreds of MB)."""

    def __init__(self, capacity: int, max_bytes: int, size_of: Callable[[Any], int]) -> None:
        super().__init__()
        self.capacity, self.max_bytes, self.size_of = capacity, max_bytes, size_of

    def put(self, key, value, keep=None) -> None:
        """Store ``value``; evict the oldest entries over the bounds, never ``key`` nor ``keep``."""
        self[key] = value
        self.move_to_end(key)
        total = sum(self.size_of(v) for v in self.values())
        for old in list(self):
            if len(self) <= self.capacity and total <= self.max_bytes:
                break
            if old != key and old != keep:
                total -= self.size_of(self[old])
                del self[old]


def image_bytes(loaded) -> int:
    return loaded.array.nbytes + loaded.raw.nbytes


def heatmap_bytes(heat) -> int:
    return heat.heatmap.nbytes + (heat.overlay.nbytes if heat.overlay is not None else 0)


@dataclass(frozen=True)
class PredictionFailure:
    """One model could not predict one file (the other models' results stand)."""

    error: str

    @property
    def text(self) -> str:
        return f"Failed: {self.error}"


class ViewerCache:
    def __init__(self) -> None:
        self.images = LRUCache(16, 768 << 20, image_bytes)  # path -> core.io.LoadedImage
        self.image_errors: dict[str, str] = {}  # path -> why it cannot be read
        self.results: dict[tuple[str, str], Any] = {}  # (path, model id) -> Result | PredictionFailure
        self.heatmaps = LRUCache(32, 256 << 20, heatmap_bytes)  # (path, model id, method) -> jobs.viewer.HeatMap
        self.prefetch_queue: list[str] = []

    # ------------------------------------------------------------------ predictions
    def record(self, event: Prediction | PredictionFailed) -> None:
        """Store a prediction job's event; ``PredictionFailed`` without a model: the file is unreadable."""
        if isinstance(event, Prediction):
            self.results[(event.path, event.model)] = event.result
        elif event.model is None:
            self.image_errors[event.path] = event.error
        else:
            self.results[(event.path, event.model)] = PredictionFailure(event.error)

    def missing(self, path: str, model_ids: Iterable[str]) -> list[str]:
        """The models that have no result for ``path`` yet."""
        return [i for i in model_ids if (path, i) not in self.results]

    def complete(self, path: str, model_ids: list[str]) -> bool:
        return bool(model_ids) and not self.missing(path, model_ids)

    def has_prediction(self, path: str, model_ids: Iterable[str]) -> bool:
        """At least one model predicted ``path`` (what a report needs)."""
        return path not in self.image_errors and any(
            (path, i) in self.results and not isinstance(self.results[(path, i)], PredictionFailure)
            for i in model_ids)

    def summary(self, path: str, cards) -> str:
        """One line per model that answered: "CNN: pneumonia (0.91)" or its failure."""
        lines = []
        for card in cards:
            result = self.results.get((path, card.id))
            if result is not None:
                text = result.text if isinstance(result, PredictionFailure) else result_summary(result)
                lines.append(f"{family_name(card.config.arch)}: {text}")
        return "\n".join(lines)

    def forget(self, path: str) -> None:
        """Drop everything known about ``path`` (removed from the list)."""
        self.images.pop(path, None)
        self.image_errors.pop(path, None)
        for cache in (self.results, self.heatmaps):
            for key in [k for k in cache if k[0] == path]:
                del cache[key]

    # ------------------------------------------------------------------ prefetch
    def queue_prefetch(self, paths: Iterable[str], current: str | None) -> None:
        """Predict these files in the background, in order (the one on screen is predicted anyway)."""
        self.prefetch_queue = [p for p in paths if p != current]

    def next_prefetch(self, model_ids: list[str], busy: Callable[[str], bool]) -> tuple[str, list[str]] | None:
        """(path, models missing) of the next queued file that needs predicting and is not ``busy``;
        None when the queue is empty."""
        while self.prefetch_queue:
            path = self.prefetch_queue.pop(0)
            missing = self.missing(path, model_ids)
            if missing and path not in self.image_errors and not busy(path):
                return path, missing
        return None
