"""Out-of-distribution detection: Mahalanobis distance on a model's penultimate features, and (cards
made since issue 15's modality check) on cheap statistics of the input image, plus a linear check
against the other shipped task's images.

Lee et al. (2018): class-conditional Gaussians with one shared covariance, fitted on the training
features; an image's score is its distance to the nearest class mean. The covariance is stored in
probabilistic-PCA form (top ``k`` eigenvectors + one residual variance) so the detector fits in
the JSON model card. The threshold is a percentile (default 99th) of in-distribution scores
(validation, or out-of-fold under cross-validation): about 1 % of genuine images are flagged, and
anything farther out is refused.

A detector with ``inputs`` (method ``METHOD_WITH_INPUTS``) scores three parts and keeps the largest:
the feature distance and the distance of the ``core.input_statistics`` vector (one Gaussian over all
training images), each divided by its own 99th in-distribution percentile (``scales``), and the
``modality`` check (a linear discriminant between the training images and another task's, 0 at the
training images' median, 1 halfway to the other task's). Cards without these fields score as before.
"""
from __future__ import annotations

import functools
import glob
import os
import warnings
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np
import torch

from . import metrics
from .input_statistics import input_statistics
from .paths import resource_path

METHOD = "mahalanobis-ppca"
METHOD_WITH_INPUTS = "mahalanobis-ppca+input-statistics"
GAUSSIAN_KEYS = ("means", "components", "variances")
PART_NAMES = ("features", "input statistics", "modality check")  # the columns of ``OODDetector.parts``
# Principal directions kept for the input-statistics Gaussian (of 85): chosen among 16 / 24 / 32 / 48 on
# the breast models' nested out-of-fold refusal and foreign refusal (README, "Trust and safety").
INPUT_COMPONENTS = 48


def _rounded(values) -> list:
    """6 significant digits keep the card readable."""
    return np.vectorize(lambda v: float(f"{v:.6g}"), otypes=[float])(np.asarray(values)).tolist()


@dataclass
class Gaussian:
    """Class-conditional Gaussians with one shared covariance in PPCA form."""
    means: np.ndarray  # (C, D) class means
    components: np.ndarray  # (k, D) top eigenvectors of the shared covariance
    variances: np.ndarray  # (k,) their eigenvalues
    residual_variance: float  # mean eigenvalue of the discarded directions

    def distance(self, x: np.ndarray) -> np.ndarray:
        """Distance to the nearest class mean (N,), in units of the training spread."""
        f = np.asarray(x, dtype=np.float64)
        best = np.full(len(f), np.inf)
        for mean in self.means:
            centred = f - mean
            proj = centred @ self.components.T
            residual = (centred ** 2).sum(1) - (proj ** 2).sum(1)
            d2 = (proj ** 2 / self.variances).sum(1) + np.maximum(residual, 0) / self.residual_variance
            best = np.minimum(best, d2)
        return np.sqrt(best)

    @classmethod
    def fit(cls, x: np.ndarray, labels: np.ndarray, k: int = 16) -> "Gaussian":
        f = np.asarray(x, dtype=np.float64)
        classes = np.unique(labels)
        means = np.stack([f[labels == c].mean(0) for c in classes])
        centred = f - means[np.searchsorted(classes, labels)]
        eigvals, eigvecs = np.linalg.eigh(centred.T @ centred / len(f))  # ascending
        eigvals = np.maximum(eigvals[::-1], 1e-8)
        eigvecs = eigvecs[:, ::-1]
        k = min(k, f.shape[1] - 1)
        floor = 1e-6 * eigvals[0]
        return cls(means, eigvecs[:, :k].T, np.maximum(eigvals[:k], floor), float(max(eigvals[k:].mean(), floor)))

    def to_dict(self) -> dict:
        return {**{key: _rounded(getattr(self, key)) for key in GAUSSIAN_KEYS},
                "residual_variance": self.residual_variance}

    @classmethod
    def from_dict(cls, d: Mapping) -> "Gaussian":
        return cls(*(np.asarray(d[key]) for key in GAUSSIAN_KEYS), float(d["residual_variance"]))


@dataclass
class ModalityCheck:
    """Linear discriminant (shared covariance) between a model's training images and another task's,
    on input statistics, rescaled: 0 at the training images' median, 1 at the boundary halfway
    between the two sets' means, larger towards the other task."""
    weights: np.ndarray  # (D,)
    bias: float
    other: str  # the images it was fitted against

    def score(self, statistics: np.ndarray) -> np.ndarray:
        return np.asarray(statistics, dtype=np.float64) @ self.weights + self.bias

    @classmethod
    def fit(cls, own: np.ndarray, other: np.ndarray, name: str, shrinkage: float = 1e-3) -> "ModalityCheck | None":
        """None when the two sets do not separate (the training median is not on the own side)."""
        own, other = np.asarray(own, dtype=np.float64), np.asarray(other, dtype=np.float64)
        mu_own, mu_other = own.mean(0), other.mean(0)
        cov = np.cov(np.concatenate([own - mu_own, other - mu_other]).T)
        cov += shrinkage * np.trace(cov) / len(cov) * np.eye(len(cov))
        w = np.linalg.solve(cov, mu_other - mu_own)
        c = -w @ (mu_own + mu_other) / 2  # 0 halfway between the means
        centre = float(np.median(own @ w + c))
        if not centre < 0:
            return None
        return cls(-w / centre, float(1 - c / centre), name)

    def to_dict(self) -> dict:
        return {"weights": _rounded(self.weights), "bias": self.bias, "other": self.other}

    @classmethod
    def from_dict(cls, d: Mapping) -> "ModalityCheck":
        return cls(np.asarray(d["weights"], dtype=np.float64), float(d["bias"]), str(d.get("other", "")))


@dataclass
class OODDetector:
    means: np.ndarray  # (C, D) class means of the penultimate features
    components: np.ndarray  # (k, D) top eigenvectors of the shared covariance
    variances: np.ndarray  # (k,) their eigenvalues
    residual_variance: float  # mean eigenvalue of the discarded directions
    threshold: float = float("inf")
    percentile: float = 99.0
    auroc: dict | None = None  # {"reference set": AUROC in-distribution vs it}
    flagged: dict | None = None  # {"reference set": fraction of it refused at the threshold}
    inputs: Gaussian | None = None  # on ``input_statistics``; None: a feature-only detector (older cards)
    scales: tuple[float, float] = (1.0, 1.0)  # divisors of the feature and input distances
    modality: ModalityCheck | None = None

    @property
    def features(self) -> Gaussian:
        return Gaussian(self.means, self.components, self.variances, self.residual_variance)

    @property
    def uses_inputs(self) -> bool:
        """Whether ``score`` needs the images' ``input_statistics`` besides the features."""
        return self.inputs is not None

    def parts(self, features: np.ndarray, statistics: np.ndarray | None = None) -> np.ndarray:
        """(N, P) unscaled part scores: feature distance, then input distance and modality check."""
        columns = [self.features.distance(features)]
        if self.inputs is not None:
            if statistics is None:
                raise ValueError("this OOD detector also needs the images' input statistics")
            columns.append(self.inputs.distance(statistics))
            if self.modality is not None:
                columns.append(self.modality.score(statistics))
        return np.stack(columns, axis=1)

    def score(self, features: np.ndarray, statistics: np.ndarray | None = None) -> np.ndarray:
        """(N,): the feature distance (feature-only detector), else the largest scaled part."""
        parts = self.parts(features, statistics)
        return parts[:, 0] if self.inputs is None else combine(parts, self.scales)

    def ratio(self, features: np.ndarray, statistics: np.ndarray | None = None) -> np.ndarray:
        """Score / threshold: > 1 means outside what the model was trained on."""
        return self.score(features, statistics) / self.threshold

    def to_dict(self) -> dict:
        out = {"method": METHOD if self.inputs is None else METHOD_WITH_INPUTS, **self.features.to_dict(),
               "threshold": self.threshold, "percentile": self.percentile, "auroc": self.auroc, "flagged": self.flagged}
        if self.inputs is not None:
            out.update(input_statistics=self.inputs.to_dict(), scales=[float(s) for s in self.scales],
                       modality=self.modality.to_dict() if self.modality is not None else None)
        return out

    @classmethod
    def from_dict(cls, d: Mapping) -> "OODDetector":
        if d.get("method") not in (METHOD, METHOD_WITH_INPUTS):
            raise ValueError(f"unknown OOD method {d.get('method')!r}")
        extended = d["method"] == METHOD_WITH_INPUTS
        g = Gaussian.from_dict(d)
        return cls(g.means, g.components, g.variances, g.residual_variance, float(d["threshold"]),
                   float(d.get("percentile", 99.0)),
                   d.get("auroc"), d.get("flagged"),
                   Gaussian.from_dict(d["input_statistics"]) if extended else None,
                   tuple(float(s) for s in d["scales"]) if extended else (1.0, 1.0),
                   ModalityCheck.from_dict(d["modality"]) if extended and d.get("modality") else None)


def combine(parts: np.ndarray, scales: Sequence[float]) -> np.ndarray:
    """The largest part after dividing the two distances by their ``scales`` (the check is unscaled)."""
    scaled = np.array(parts, dtype=np.float64)
    scaled[:, :2] /= np.asarray(scales, dtype=np.float64)[: min(2, scaled.shape[1])]
    return scaled.max(axis=1)


def part_scales(parts: np.ndarray, percentile: float = 99.0) -> tuple[float, float]:
    """The feature and input distances' ``percentile`` over in-distribution images."""
    return tuple(float(np.percentile(parts[:, i], percentile)) for i in (0, 1))


def fit_detector(features: np.ndarray, labels: np.ndarray, val_features: np.ndarray,
                 percentile: float = 99.0, k: int = 16, threshold: float | None = None, *,
                 statistics: np.ndarray | None = None, val_statistics: np.ndarray | None = None,
                 other: tuple[str, np.ndarray] | None = None, scales: Sequence[float] | None = None) -> OODDetector:
    """Fit on training features (and, with ``statistics``, their input statistics and a modality check
    against ``other`` = (name, its statistics)); scales and threshold at ``percentile`` of the
    validation scores, or the given ``scales`` / ``threshold``."""
    g = Gaussian.fit(features, labels, k)
    detector = OODDetector(g.means, g.components, g.variances, g.residual_variance, percentile=percentile)
    if statistics is not None:
        detector.inputs = Gaussian.fit(statistics, np.zeros(len(statistics), int), INPUT_COMPONENTS)
        if other is not None:
            detector.modality = ModalityCheck.fit(statistics, other[1], other[0])
        detector.scales = tuple(scales) if scales is not None else \
            part_scales(detector.parts(val_features, val_statistics), percentile)
    detector.threshold = float(threshold if threshold is not None
                               else np.percentile(detector.score(val_features, val_statistics), percentile))
    return detector


def auroc(detector: OODDetector, in_features: np.ndarray, out_features: np.ndarray) -> float:
    """AUROC of the score for separating out-of-distribution (positive) from in-distribution."""
    return _auroc(detector.score(in_features), detector.score(out_features))


def _auroc(inside: np.ndarray, outside: np.ndarray) -> float:
    truth = np.concatenate([np.zeros(len(inside), int), np.ones(len(outside), int)])
    return float(metrics.roc_auc(truth, np.concatenate([inside, outside])))


@torch.inference_mode()
def extract_features(model: torch.nn.Module, batches, device: str | torch.device = "cpu") -> np.ndarray:
    """Penultimate features of every batch (an iterable of input tensors), (N, D)."""
    return extract(model, batches, device)[0]


Normalization = tuple[Sequence[float], Sequence[float]]  # the card's (mean, std)


@torch.inference_mode()
def extract(model: torch.nn.Module, batches, device: str | torch.device = "cpu",
            normalization: Normalization | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Penultimate features (N, D) of every batch (an iterable of normalised input tensors) and, given
    the card's ``normalization``, the batches' ``input_statistics`` (else None)."""
    model.eval()
    features, statistics = [], []
    for x in batches:
        features.append(model.forward_features(x.to(device)).float().cpu().numpy())
        if normalization is not None:
            statistics.append(input_statistics(x, *normalization))
    if not features:
        return np.zeros((0, 0), np.float32), None if normalization is None else input_statistics(torch.zeros(0), (), ())
    return np.concatenate(features), None if normalization is None else np.concatenate(statistics)


PYDICOM_SET = "pydicom test images (CT, MR, US, RGB)"


def reference_sets(task: str, limit: int = 500) -> dict[str, list[np.ndarray]]:
    """Images a ``task`` model must call foreign, for the AUROC in its card: the other shipped
    datasets' validation images, pydicom's bundled CT / MR / US / RGB test files (all of them, then each
    kind alone) and noise. Sources missing from an installation (datasets stay out of the app bundle)
    are skipped."""
    sets = {f"{name} validation": images for name, images in _other_datasets(task, "val_images", limit).items()}
    dicoms = _pydicom_test_images()
    if dicoms:
        sets[PYDICOM_SET] = [image for _, image in dicoms]
        for kind in ("CT", "MR", "US", "RGB photograph"):
            sets[f"pydicom {kind}"] = [image for k, image in dicoms if k == kind]
    rng = np.random.default_rng(0)
    sets["uniform noise"] = [rng.random((64, 64), dtype=np.float32) for _ in range(50)]
    return sets


def modality_references(task: str, limit: int = 5000) -> tuple[str, list[np.ndarray]] | None:
    """The other shipped datasets' *training* images, which the modality check is fitted against
    (their validation images stay for the card's figures); None when no other dataset is installed."""
    found = _other_datasets(task, "train_images", limit)
    if not found:
        return None
    return " + ".join(f"{name} train" for name in found), [im for images in found.values() for im in images]


def _other_datasets(task: str, key: str, limit: int) -> dict[str, list[np.ndarray]]:
    out = {}
    for path in sorted(glob.glob(str(resource_path("datasets", "*_trainval.npz")))):
        name = os.path.basename(path).split("_")[0]  # e.g. breastmnist
        if name.startswith(task):
            continue
        with np.load(path, allow_pickle=False) as archive:
            images = archive[key][:limit]
        out[name] = [im.astype(np.float32) / 255.0 for im in images]
    return out


def warm_up() -> None:
    """Decode the reference DICOMs now (cached for the process), e.g. while a user is still choosing
    data: the OOD fit at the end of a training run then does not run their JPEG decoders, which
    hold the GIL, while the window is in use."""
    _pydicom_test_images()


@functools.lru_cache(maxsize=1)
def _pydicom_test_images() -> tuple[tuple[str, np.ndarray], ...]:
    """pydicom's bundled test files as (kind, image), decoded once per process (some JPEG decoders
    hold the GIL). Kind: the Modality (CT, MR, US), "RGB photograph" for other colour images, else "other"."""
    from .io import ImageLoadError, load_image

    try:
        import pydicom
    except ImportError:
        return ()
    folder = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")
    images = []
    with warnings.catch_warnings():  # pydicom's test files are deliberately odd
        warnings.simplefilter("ignore")
        for path in sorted(glob.glob(os.path.join(folder, "*.dcm"))):
            try:
                array = load_image(path).array
                modality = str(getattr(pydicom.dcmread(path, stop_before_pixels=True, force=True), "Modality", ""))
            except (ImageLoadError, OSError, ValueError):
                continue
            kind = modality if modality in ("CT", "MR", "US") else "RGB photograph" if array.ndim == 3 else "other"
            images.append((kind, array))
    return tuple(images)


def calibrate_detector(model: torch.nn.Module, train_batches: Iterable[torch.Tensor],
                       train_labels: np.ndarray, val_batches: Iterable[torch.Tensor] | None,
                       references: Mapping[str, Iterable[torch.Tensor]], percentile: float = 99.0,
                       device: str | torch.device = "cpu", *, threshold: float | None = None,
                       in_distribution_scores: np.ndarray | None = None, normalization: Normalization | None = None,
                       other: tuple[str, np.ndarray] | None = None,
                       scales: Sequence[float] | None = None) -> OODDetector:
    """Fit on training features, threshold on validation, AUROC against every reference set.

    With the card's ``normalization`` the detector also scores the images' input statistics and,
    given ``other`` = (name, input statistics of another task's training images), checks against those.
    Cross-validated training passes the ``threshold``, ``scales`` and the ``in_distribution_scores`` it
    estimated out-of-fold (each fold's detector scoring that fold's held-out images) instead of
    ``val_batches``."""
    train, train_stats = extract(model, train_batches, device, normalization)
    other_stats = other if normalization is not None else None
    if in_distribution_scores is None:
        val, val_stats = extract(model, val_batches, device, normalization)
        detector = fit_detector(train, train_labels, val, percentile, statistics=train_stats, val_statistics=val_stats,
                                other=other_stats)
        val_scores = detector.score(val, val_stats)
    else:
        val_scores = np.asarray(in_distribution_scores, dtype=np.float64)
        detector = fit_detector(train, train_labels, train[:0], percentile, threshold=threshold, statistics=train_stats,
                                other=other_stats, scales=scales)
    if threshold is not None:
        detector.threshold = float(threshold)
    detector.auroc, detector.flagged = {}, {}
    for name, batches in references.items():
        foreign = detector.score(*extract(model, batches, device, normalization if detector.uses_inputs else None))
        detector.auroc[name] = round(_auroc(val_scores, foreign), 4)
        detector.flagged[name] = round(float((foreign > detector.threshold).mean()), 4)
    detector.flagged["validation (in-distribution)"] = round(float((val_scores > detector.threshold).mean()), 4)
    return detector


def held_out_scores(train_features: np.ndarray, train_labels: np.ndarray, held_out_features: np.ndarray,
                    k: int = 16) -> np.ndarray:
    """Scores of held-out images under a feature-only detector fitted on the training part (one CV fold)."""
    return Gaussian.fit(train_features, train_labels, k).distance(held_out_features)


def held_out_parts(train: tuple[np.ndarray, np.ndarray], train_labels: np.ndarray,
                   *held_out: tuple[np.ndarray, np.ndarray], other: tuple[str, np.ndarray] | None = None,
                   k: int = 16) -> list[np.ndarray]:
    """Unscaled part scores (N, P) of each set of held-out images under a detector fitted on the training
    part (one CV fold); ``train`` and every ``held_out`` set are (features, input statistics)."""
    features = Gaussian.fit(train[0], train_labels, k)
    inputs = held_out_input_parts(train[1], *(statistics for _, statistics in held_out), other=other)
    return [np.column_stack([features.distance(f), parts]) for (f, _), parts in zip(held_out, inputs)]


def held_out_input_parts(train_statistics: np.ndarray, *held_out_statistics: np.ndarray,
                         other: tuple[str, np.ndarray] | None = None,
                         k: int = INPUT_COMPONENTS) -> list[np.ndarray]:
    """The model-independent columns of ``held_out_parts`` (input distance, modality check): they need
    no fold model, so a stored card's can be recomputed from its images."""
    inputs = Gaussian.fit(train_statistics, np.zeros(len(train_statistics), int), k)
    check = ModalityCheck.fit(train_statistics, other[1], other[0]) if other is not None else None
    out = []
    for statistics in held_out_statistics:
        columns = [inputs.distance(statistics)]
        if other is not None:  # a check that did not separate the sets never fires
            columns.append(check.score(statistics) if check is not None else np.zeros(len(statistics)))
        out.append(np.stack(columns, axis=1))
    return out


def batch_statistics(batches: Iterable[torch.Tensor], normalization: Normalization) -> np.ndarray:
    """``input_statistics`` of every batch (an iterable of normalised input tensors), (N, 85)."""
    out = [input_statistics(x, *normalization) for x in batches]
    return np.concatenate(out) if out else input_statistics(torch.zeros(0), (), ())


def nested_refusal(scores: np.ndarray, fold_ids: np.ndarray, percentile: float) -> float:
    """In-distribution refusal expected on new images: each fold's held-out scores against the
    threshold taken (at ``percentile``) from the other folds' held-out scores."""
    refused = [scores[fold_ids == f] > np.percentile(scores[fold_ids != f], percentile) for f in np.unique(fold_ids)]
    return float(np.concatenate(refused).mean())
