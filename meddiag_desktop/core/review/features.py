"""Feature vectors for the review queue's diversity step: near-duplicates lie close together.

``ModelFeatures(card)``: the model's penultimate features (``forward_features``, what ``core.ood`` fits on)
of the image as the model sees it. ``PixelFeatures()``: the image downsampled to 16 x 16 and
standardised (zero mean, unit spread), when no model is at hand. Either is L2-normalised. A file that
cannot be read gets no vector (the diversity step then treats it as unlike every other).
"""
from __future__ import annotations

from typing import Protocol, Sequence

import numpy as np

from ..io import ImageLoadError, load_image

__all__ = ["FeatureSource", "ModelFeatures", "PixelFeatures"]

PIXEL_SIZE = 16


class FeatureSource(Protocol):
    name: str  # what the vectors are, for the queue's summary

    def __call__(self, paths: Sequence[str]) -> dict[str, np.ndarray]: ...


def _unit(vector: np.ndarray) -> np.ndarray:
    vector = np.asarray(vector, dtype=np.float64).ravel()
    norm = np.linalg.norm(vector)
    return vector / norm if norm > 0 else vector


def _arrays(paths: Sequence[str]):
    for path in paths:
        try:
            yield path, load_image(path).array
        except (ImageLoadError, OSError, MemoryError):
            continue


class PixelFeatures:
    """16 x 16 block means of the (grey) image, standardised, L2-normalised."""

    name = f"{PIXEL_SIZE}x{PIXEL_SIZE} standardised pixels"

    def __call__(self, paths: Sequence[str]) -> dict[str, np.ndarray]:
        out = {}
        for path, array in _arrays(paths):
            grey = array.mean(axis=-1) if array.ndim == 3 else array
            out[path] = _unit(_standardise(_downsample(grey, PIXEL_SIZE)))
        return out


def _downsample(image: np.ndarray, size: int) -> np.ndarray:
    rows = np.array_split(np.arange(image.shape[0]), size) if image.shape[0] >= size else None
    cols = np.array_split(np.arange(image.shape[1]), size) if image.shape[1] >= size else None
    if rows is None or cols is None:  # smaller than the grid: nearest neighbour up
        ys = np.linspace(0, image.shape[0] - 1, size).round().astype(int)
        xs = np.linspace(0, image.shape[1] - 1, size).round().astype(int)
        return image[np.ix_(ys, xs)].astype(np.float64)
    return np.array([[image[r[0]:r[-1] + 1, c[0]:c[-1] + 1].mean() for c in cols] for r in rows])


def _standardise(block: np.ndarray) -> np.ndarray:
    spread = block.std()
    return (block - block.mean()) / spread if spread > 0 else block - block.mean()


class ModelFeatures:
    """Penultimate features of the model ``card`` (weights loaded on first use, on ``device``)."""

    def __init__(self, card, device: str = "cpu", batch_size: int = 64) -> None:
        self.card, self.device, self.batch_size = card, device, batch_size
        self.name = f"penultimate features of {card.id}"
        self._model = None

    def __call__(self, paths: Sequence[str]) -> dict[str, np.ndarray]:
        import torch

        from ..preprocess import preprocess
        from ..storage import load_weights

        if self._model is None:
            self._model = load_weights(self.card, self.device).eval()
        loaded = [(path, preprocess(array, self.card.config)) for path, array in _arrays(paths)]
        out = {}
        with torch.inference_mode():
            for start in range(0, len(loaded), self.batch_size):
                chunk = loaded[start:start + self.batch_size]
                batch = torch.stack([x for _, x in chunk]).to(self.device)
                features = self._model.forward_features(batch).float().cpu().numpy()
                out.update({path: _unit(f) for (path, _), f in zip(chunk, features)})
        return out
