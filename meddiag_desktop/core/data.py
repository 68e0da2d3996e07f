"""Labelled image sets from three sources behind one type, stratified splits and augmentation.

Sources: a MedMNIST-style ``.npz`` (one split), a folder in ImageFolder layout (one sub-folder per
class, any format ``core.io`` reads) and a CSV of ``path,label`` rows. Every set carries a data
manifest (file hashes or npz hash + indices) that goes into the model card.
"""
from __future__ import annotations

import copy
import csv
import hashlib
import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from .io import ImageLoadError, load_image, sniff_format
from .models import ModelConfig
from .preprocess import normalize, prepare
from .storage import sha256_file


class DatasetError(ValueError):
    """A data source that cannot be used; ``str(err)`` says why."""


@dataclass
class LabeledSet:
    label_names: tuple[str, ...]
    labels: np.ndarray  # (N,) int64 class ids into label_names
    images: np.ndarray | None = None  # (N, H, W) uint8 in memory (npz sources) ...
    paths: list[str] | None = None  # ... or files loaded on demand (folder / CSV sources)
    manifest: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.labels)

    def class_counts(self) -> dict[str, int]:
        counts = np.bincount(self.labels, minlength=len(self.label_names))
        return {name: int(c) for name, c in zip(self.label_names, counts)}

    def array(self, index: int) -> np.ndarray:
        """Image ``index`` as float32 in [0, 1]; raises ImageLoadError for a bad file."""
        if self.images is not None:
            return self.images[index].astype(np.float32) / 255.0
        return load_image(self.paths[index]).array

    def subset(self, indices: Sequence[int], part: str) -> "LabeledSet":
        indices = np.asarray(indices, dtype=np.int64)
        manifest = dict(self.manifest, part=part, n=int(len(indices)))
        manifest["indices_sha256"] = hashlib.sha256(indices.tobytes()).hexdigest()
        if self.paths is not None:
            manifest["files"] = [self.manifest["files"][i] for i in indices] if "files" in self.manifest else None
        sub = replace(
            self,
            labels=self.labels[indices],
            images=None if self.images is None else self.images[indices],
            paths=None if self.paths is None else [self.paths[i] for i in indices],
            manifest=manifest,
        )
        sub.manifest["class_counts"] = sub.class_counts()
        return sub


def load_npz(path: str | os.PathLike, split: str = "train", label_names: Sequence[str] | None = None) -> LabeledSet:
    path = Path(path)
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DatasetError(f"cannot read {path.name}: {exc}") from exc
    with archive:
        if f"{split}_images" not in archive:
            splits = sorted(k[: -len("_images")] for k in archive.files if k.endswith("_images"))
            raise DatasetError(f"{path.name} has no {split!r} split (has: {', '.join(splits)})")
        images = archive[f"{split}_images"]
        labels = archive[f"{split}_labels"].ravel().astype(np.int64)
    if images.dtype != np.uint8 or images.ndim not in (3, 4):
        raise DatasetError(f"{path.name}: expected uint8 (N, H, W) images, got {images.dtype} {images.shape}")
    names = tuple(label_names) if label_names else tuple(str(i) for i in range(int(labels.max()) + 1))
    out = LabeledSet(names, labels, images=images)
    out.manifest = {"source": "npz", "file": path.name, "sha256": sha256_file(path), "split": split,
                    "n": len(labels), "class_counts": out.class_counts()}
    return out


def load_folder(path: str | os.PathLike, hash_files: bool = True) -> LabeledSet:
    """ImageFolder layout: ``root/<class name>/**/<image>``; classes sorted by name."""
    root = Path(path)
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder")
    class_dirs = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    names, files, labels = [], [], []
    for class_dir in class_dirs:
        members = sorted(
            p for p in class_dir.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
            and sniff_format(p) is not None
        )
        if members:
            names.append(class_dir.name)
            files += members
            labels += [len(names) - 1] * len(members)
    return _from_files(names, files, labels, {"source": "folder", "root": root.name}, root, hash_files)


def load_csv(path: str | os.PathLike, hash_files: bool = True) -> LabeledSet:
    """CSV with a ``path,label`` header; relative paths are relative to the CSV's folder."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"cannot read {path.name}: {exc}") from exc
    if not rows or not {"path", "label"} <= set(rows[0]):
        raise DatasetError(f"{path.name} needs a header with 'path' and 'label' columns and at least one row")
    names = sorted({r["label"] for r in rows})
    files = [(path.parent / r["path"]).resolve() for r in rows]
    labels = [names.index(r["label"]) for r in rows]
    return _from_files(names, files, labels, {"source": "csv", "file": path.name}, path.parent, hash_files)


def _from_files(names, files, labels, manifest, root: Path, hash_files: bool) -> LabeledSet:
    if len(names) < 2:
        raise DatasetError("need images of at least two classes")
    out = LabeledSet(tuple(names), np.asarray(labels, dtype=np.int64), paths=[os.fspath(f) for f in files])
    manifest["files"] = [
        {"path": _relative(f, root), "label": names[y], "sha256": sha256_file(f) if hash_files else None}
        for f, y in zip(files, labels)
    ]
    out.manifest = dict(manifest, n=len(out), class_counts=out.class_counts())
    return out


def _relative(file: Path, root: Path) -> str:
    try:
        return Path(file).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return Path(file).name


def open_dataset(path: str | os.PathLike, split: str = "train", label_names: Sequence[str] | None = None) -> LabeledSet:
    """Dispatch on the source: ``.npz`` file (choose ``split``), ``.csv`` file, or ImageFolder folder."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{path} does not exist")
    if path.is_dir():
        return load_folder(path)
    if path.suffix.lower() == ".npz":
        return load_npz(path, split, label_names)
    if path.suffix.lower() == ".csv":
        return load_csv(path)
    raise DatasetError(f"{path.name}: expected an .npz file, a .csv file or an ImageFolder folder")


def stratified_split(labels: np.ndarray, val_fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, val) with each class split in the same proportion (at least one val per class)."""
    if not 0.0 < val_fraction < 1.0:
        raise ValueError("val_fraction must be between 0 and 1")
    rng = np.random.default_rng(seed)
    train, val = [], []
    for cls in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == cls))
        n_val = min(len(members) - 1, max(1, round(len(members) * val_fraction)))
        val += members[:n_val].tolist()
        train += members[n_val:].tolist()
    return np.sort(np.asarray(train, dtype=np.int64)), np.sort(np.asarray(val, dtype=np.int64))


class BatchAugment:
    """Small rotation / translation / scale and brightness / contrast changes on a batch in [0, 1].

    The whole batch in a handful of tensor ops (one affine grid, one ``grid_sample``): per-sample
    transforms were ~30 ms of Python per batch of 64 - an eighth of a CPU training step, all of it
    holding the GIL the GUI thread needs. Random draws come from torch's global RNG (seeded by
    ``training.seed_everything``). No horizontal flip: chest X-rays are not left-right symmetric.
    """

    def __init__(self, strength: float = 1.0, gamma: float = 0.0, blur: float = 0.0, noise: float = 0.0,
                 contrast: float | None = None, hflip: float = 0.0) -> None:
        self.degrees, self.translate, self.scale = 10.0 * strength, 0.08 * strength, 0.1 * strength
        self.brightness = 0.2 * strength
        self.contrast = 0.2 * strength if contrast is None else contrast
        # another scanner / probe: gamma in exp(+-gamma), Gaussian blur of sigma up to ``blur`` px on
        # half the images, Gaussian noise of std up to ``noise``. All off (0) by default, drawing nothing.
        self.gamma, self.blur, self.noise = gamma, blur, noise
        self.hflip = hflip  # probability of a left-right flip (ultrasound; never for chest X-rays)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) in [0, 1] -> same shape, augmented, clamped to [0, 1]."""
        import torch.nn.functional as F

        n = x.shape[0]

        def uniform(*shape: int) -> torch.Tensor:
            return (torch.rand(*shape) * 2 - 1).to(x.device, x.dtype)

        angle = uniform(n) * math.radians(self.degrees)
        zoom = 1 + uniform(n) * self.scale
        shift = uniform(n, 2) * (2 * self.translate)  # grid units: the image spans [-1, 1]
        cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
        theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode="nearest", padding_mode="zeros", align_corners=False)
        if self.hflip:
            x = torch.where((torch.rand(n, 1, 1, 1) < self.hflip).to(x.device), x.flip(-1), x)
        x = (x * (1 + uniform(n, 1, 1, 1) * self.brightness)).clamp(0.0, 1.0)
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        x = ((x - mean) * (1 + uniform(n, 1, 1, 1) * self.contrast) + mean).clamp(0.0, 1.0)
        if self.gamma:
            x = x.clamp_min(1e-6) ** torch.exp(uniform(n, 1, 1, 1) * self.gamma)
        if self.blur:
            x = blur_batch(x, (torch.rand(n) * self.blur * (torch.rand(n) < 0.5)).to(x.device, x.dtype))
        if self.noise:
            x = (x + torch.randn_like(x) * (torch.rand(n, 1, 1, 1) * self.noise).to(x.device, x.dtype)).clamp(0.0, 1.0)
        return x


def blur_batch(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian blur of each image of (B, C, H, W) with its own ``sigma`` (B,) in px (0: none)."""
    import torch.nn.functional as F

    radius = 2
    offsets = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    kernels = torch.exp(-offsets[None] ** 2 / (2 * sigma.clamp_min(1e-3)[:, None] ** 2))
    kernels = kernels / kernels.sum(1, keepdim=True)  # (B, 5); sigma ~0 gives the identity
    b, c, h, w = x.shape
    flat = x.reshape(1, b * c, h, w)
    weight = kernels.repeat_interleave(c, 0)
    flat = F.conv2d(F.pad(flat, (radius, radius, 0, 0), mode="replicate"), weight[:, None, None, :], groups=b * c)
    flat = F.conv2d(F.pad(flat, (0, 0, radius, radius), mode="replicate"), weight[:, None, :, None], groups=b * c)
    return flat.reshape(b, c, h, w)


class MemberAugments:
    """One augmentation per seed-ensemble member, like the model's ``variants``: member i trains with
    ``augments[i % len]`` (``None``: none). ``training.fit_members`` hands each member its own
    (``for_member``); called on a batch directly, as for a single model, it is member 0's."""

    def __init__(self, augments: Sequence[BatchAugment | None]) -> None:
        if not augments:
            raise ValueError("MemberAugments needs at least one augmentation")
        self.augments = list(augments)

    def of(self, index: int) -> BatchAugment | None:
        return self.augments[index % len(self.augments)]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        first = self.of(0)
        return x if first is None else first(x)


def for_member(dataset: Dataset, index: int) -> Dataset:
    """The training set of ensemble member ``index``: ``dataset`` itself unless its augmentation is a
    ``MemberAugments``, else a shallow copy (same cached tensors) with that member's augmentation."""
    augment = getattr(dataset, "augment", None)
    if not isinstance(augment, MemberAugments):
        return dataset
    out = copy.copy(dataset)
    out.augment = augment.of(index)
    return out


class TensorDataset(Dataset):
    """Model inputs for a LabeledSet: ``prepare`` once (cached), augment, then ``normalize``.

    Read it through ``batch_loader``: a batch is one indexing of the cached tensor, augmented and
    normalised as a whole (``__getitems__``), not ``batch_size`` Python calls.
    Files that fail to load are dropped up front and listed in ``errors`` (path, reason).
    """

    def __init__(self, data: LabeledSet, config: ModelConfig,
                 augment: BatchAugment | MemberAugments | None = None) -> None:
        self.config, self.augment = config, augment
        prepared, keep, self.errors = [], [], []
        for i in range(len(data)):
            try:
                prepared.append(prepare(data.array(i), config))
                keep.append(i)
            except ImageLoadError as exc:
                self.errors.append((data.paths[i] if data.paths else str(i), str(exc)))
        if not prepared:
            raise DatasetError("no readable images in the data set")
        self.inputs = torch.stack(prepared)
        self.labels = torch.from_numpy(data.labels[keep])

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, indices: Sequence[int],
               augment: BatchAugment | MemberAugments | None = None) -> "TensorDataset":
        """The cached inputs of ``indices`` (no re-preparing), with their own augmentation."""
        index = torch.as_tensor(np.asarray(indices), dtype=torch.long)
        out = copy.copy(self)
        out.inputs, out.labels, out.augment, out.errors = self.inputs[index], self.labels[index], augment, []
        return out

    def __getitems__(self, indices: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        index = torch.as_tensor(indices, dtype=torch.long)
        x = self.inputs[index]
        if self.augment is not None:
            x = self.augment(x)
        return normalize(x, self.config), self.labels[index]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.__getitems__([index])
        return x[0], y[0]


def _whole_batch(batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    return batch  # __getitems__ already returns the batch tensors


def batch_loader(dataset: TensorDataset, batch_size: int, shuffle: bool = False, drop_last: bool = False,
                 generator: torch.Generator | None = None, pin_memory: bool = False) -> DataLoader:
    """A DataLoader that fetches each batch with one ``dataset.__getitems__`` call."""
    return DataLoader(dataset, batch_size, shuffle=shuffle, drop_last=drop_last, generator=generator,
                      pin_memory=pin_memory, collate_fn=_whole_batch)
