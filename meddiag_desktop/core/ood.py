"""Out-of-distribution detection: Mahalanobis distance on a model's penultimate features.

Lee et al. (2018): class-conditional Gaussians with one shared covariance, fitted on the training
features; an image's score is its distance to the nearest class mean. The covariance is stored in
probabilistic-PCA form (top ``k`` eigenvectors + one residual variance) so the detector fits in
the JSON model card. The threshold is a percentile (default 99th) of validation in-distribution
scores: about 1 % of genuine images are flagged, and anything farther out is refused.
"""
from __future__ import annotations

import functools
import glob
import os
import warnings
from dataclasses import asdict, dataclass
from typing import Iterable, Mapping

import numpy as np
import torch

from . import metrics
from .paths import resource_path

METHOD = "mahalanobis-ppca"


@dataclass
class OODDetector:
    means: np.ndarray  # (C, D) class means
    components: np.ndarray  # (k, D) top eigenvectors of the shared covariance
    variances: np.ndarray  # (k,) their eigenvalues
    residual_variance: float  # mean eigenvalue of the discarded directions
    threshold: float = float("inf")
    percentile: float = 99.0
    auroc: dict | None = None  # {"reference set": AUROC in-distribution vs it}
    flagged: dict | None = None  # {"reference set": fraction of it refused at the threshold}

    def score(self, features: np.ndarray) -> np.ndarray:
        """Distance to the nearest class mean (N,), in units of the training spread."""
        f = np.asarray(features, dtype=np.float64)
        best = np.full(len(f), np.inf)
        for mean in self.means:
            centred = f - mean
            proj = centred @ self.components.T
            residual = (centred ** 2).sum(1) - (proj ** 2).sum(1)
            d2 = (proj ** 2 / self.variances).sum(1) + np.maximum(residual, 0) / self.residual_variance
            best = np.minimum(best, d2)
        return np.sqrt(best)

    def ratio(self, features: np.ndarray) -> np.ndarray:
        """Score / threshold: > 1 means outside what the model was trained on."""
        return self.score(features) / self.threshold

    def to_dict(self) -> dict:
        d = asdict(self)
        for key in ("means", "components", "variances"):  # 6 significant digits keep the card readable
            d[key] = np.vectorize(lambda v: float(f"{v:.6g}"), otypes=[float])(d[key]).tolist()
        return {"method": METHOD, **d}

    @classmethod
    def from_dict(cls, d: Mapping) -> "OODDetector":
        if d.get("method") != METHOD:
            raise ValueError(f"unknown OOD method {d.get('method')!r}")
        return cls(np.asarray(d["means"]), np.asarray(d["components"]), np.asarray(d["variances"]),
                   float(d["residual_variance"]), float(d["threshold"]), float(d.get("percentile", 99.0)),
                   d.get("auroc"), d.get("flagged"))


def fit_detector(features: np.ndarray, labels: np.ndarray, val_features: np.ndarray,
                 percentile: float = 99.0, k: int = 16, threshold: float | None = None) -> OODDetector:
    """Fit on training features; threshold at ``percentile`` of the validation scores (or ``threshold``)."""
    f = np.asarray(features, dtype=np.float64)
    classes = np.unique(labels)
    means = np.stack([f[labels == c].mean(0) for c in classes])
    centred = f - means[np.searchsorted(classes, labels)]
    cov = centred.T @ centred / len(f)
    eigvals, eigvecs = np.linalg.eigh(cov)  # ascending
    eigvals = np.maximum(eigvals[::-1], 1e-8)
    eigvecs = eigvecs[:, ::-1]
    k = min(k, f.shape[1] - 1)
    floor = 1e-6 * eigvals[0]
    detector = OODDetector(means, eigvecs[:, :k].T, np.maximum(eigvals[:k], floor),
                           float(max(eigvals[k:].mean(), floor)), percentile=percentile)
    detector.threshold = float(threshold if threshold is not None
                               else np.percentile(detector.score(val_features), percentile))
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
    model.eval()
    out = [model.forward_features(x.to(device)).float().cpu().numpy() for x in batches]
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def reference_sets(task: str, limit: int = 500) -> dict[str, list[np.ndarray]]:
    """Images a ``task`` model must call foreign, for the AUROC in its card: the other shipped
    datasets' validation images, pydicom's bundled CT / MR / US / RGB test files and noise.
    Sources missing from an installation (datasets stay out of the app bundle) are skipped."""
    sets: dict[str, list[np.ndarray]] = {}
    for path in sorted(glob.glob(str(resource_path("datasets", "*_trainval.npz")))):
        name = os.path.basename(path).split("_")[0]  # e.g. breastmnist
        if name.startswith(task):
            continue
        with np.load(path, allow_pickle=False) as archive:
            images = archive["val_images"][:limit]
        sets[f"{name} validation"] = [im.astype(np.float32) / 255.0 for im in images]
    dicoms = _pydicom_test_images()
    if dicoms:
        sets["pydicom test images (CT, MR, US, RGB)"] = list(dicoms)
    rng = np.random.default_rng(0)
    sets["uniform noise"] = [rng.random((64, 64), dtype=np.float32) for _ in range(50)]
    return sets


def warm_up() -> None:
    """Decode the reference DICOMs now (cached for the process), e.g. while a user is still choosing
    data: the OOD fit at the end of a training run then does not run their JPEG decoders, which
    hold the GIL, while the window is in use."""
    _pydicom_test_images()


@functools.lru_cache(maxsize=1)
def _pydicom_test_images() -> tuple[np.ndarray, ...]:
    """pydicom's bundled test files, decoded once per process (some JPEG decoders hold the GIL)."""
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
                images.append(load_image(path).array)
            except ImageLoadError:
                pass
    return tuple(images)


def calibrate_detector(model: torch.nn.Module, train_batches: Iterable[torch.Tensor],
                       train_labels: np.ndarray, val_batches: Iterable[torch.Tensor] | None,
                       references: Mapping[str, Iterable[torch.Tensor]], percentile: float = 99.0,
                       device: str | torch.device = "cpu", *, threshold: float | None = None,
                       in_distribution_scores: np.ndarray | None = None) -> OODDetector:
    """Fit on training features, threshold on validation, AUROC against every reference set.

    Cross-validated training passes the ``threshold`` and the ``in_distribution_scores`` it estimated
    out-of-fold (each fold's detector scoring that fold's held-out images) instead of ``val_batches``."""
    train = extract_features(model, train_batches, device)
    if in_distribution_scores is None:
        val = extract_features(model, val_batches, device)
        detector = fit_detector(train, train_labels, val, percentile)
        val_scores = detector.score(val)
    else:
        val_scores = np.asarray(in_distribution_scores, dtype=np.float64)
        detector = fit_detector(train, train_labels, train[:0], percentile, threshold=threshold)
    if threshold is not None:
        detector.threshold = float(threshold)
    detector.auroc, detector.flagged = {}, {}
    for name, batches in references.items():
        foreign = detector.score(extract_features(model, batches, device))
        detector.auroc[name] = round(_auroc(val_scores, foreign), 4)
        detector.flagged[name] = round(float((foreign > detector.threshold).mean()), 4)
    detector.flagged["validation (in-distribution)"] = round(float((val_scores > detector.threshold).mean()), 4)
    return detector


def held_out_scores(train_features: np.ndarray, train_labels: np.ndarray, held_out_features: np.ndarray,
                    k: int = 16) -> np.ndarray:
    """Scores of held-out images under a detector fitted on the training part (one CV fold)."""
    return fit_detector(train_features, train_labels, held_out_features[:0], k=k, threshold=0.0).score(held_out_features)


def nested_refusal(scores: np.ndarray, fold_ids: np.ndarray, percentile: float) -> float:
    """In-distribution refusal expected on new images: each fold's held-out scores against the
    threshold taken (at ``percentile``) from the other folds' held-out scores."""
    refused = [scores[fold_ids == f] > np.percentile(scores[fold_ids != f], percentile) for f in np.unique(fold_ids)]
    return float(np.concatenate(refused).mean())
