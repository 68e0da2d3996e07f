"""The plain records of a training run, torch-free (numpy only for type hints): the fine-tune request
(:class:`FineTuneSpec`), what the data looks like (:class:`DataSummary`), the ``fit`` events
(:class:`StepEnd`, :class:`EpochEnd`, :class:`FitEnd`), cross-validation's (:class:`FoldEnd`,
:class:`CrossValidated`), the result (:class:`TrainedModel`) and the
base-vs-new comparison (:class:`Evaluation`, :class:`Comparison`).

The window builds and reads these in its GUI thread without importing torch; ``core.training``,
``core.pipeline`` and ``core.finetune`` produce them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .metric_ci import headline_metrics

if TYPE_CHECKING:
    import numpy as np


# ------------------------------------------------------------------------------------------------ request
@dataclass(frozen=True)
class FineTuneSpec:
    """Everything the dialog's "Start" (or ``meddiag train``) decides."""

    data: str
    base_id: str | None = None  # None: train from scratch
    family: str = "cnn"  # from scratch
    task: str | None = None  # from scratch (default: "custom")
    new_labels: bool = False  # the user accepted a label set that differs from the base model's
    epochs: int = 10
    lr: float = 1e-3
    batch_size: int = 32
    val_fraction: float | None = None
    val_data: str | None = None
    use_val_folder: bool = True
    augment: bool = True
    device: str = "auto"
    seed: int = 0
    patience: int = 8
    threshold_rule: str = "base"  # the base model's rule (finetune.operating_rule); Youden's J without a base
    threshold_target: float | None = None
    img_size: int = 28
    arch_kwargs: dict = field(default_factory=dict)
    model_id: str = ""  # provisional ID of the result (the final one is chosen when saving)
    description: str = ""
    command: str = ""
    n_boot: int = 1000
    cv: int | None = None  # K-fold cross-validation: None = automatic (5 folds below 2 000 images), 0 = off


@dataclass(frozen=True)
class DataSummary:
    """What the dialog shows before training (and the CLI prints)."""

    labels: tuple[str, ...]
    train_counts: dict
    val_counts: dict
    val_source: str
    warnings: tuple[str, ...]
    relation: str | None  # vs the base model's labels: "same" | "subset" | "new"; None without a base
    base_labels: tuple[str, ...] | None = None
    folds: int = 0  # cross-validation folds by default for this many images (0: the train / validation split)

    @property
    def total_counts(self) -> dict:
        return {k: self.train_counts.get(k, 0) + self.val_counts.get(k, 0) for k in self.labels}


# ------------------------------------------------------------------------------------------------ fit events
@dataclass
class StepEnd:
    epoch: int
    epochs: int
    step: int
    steps: int
    loss: float
    lr: float
    eta_s: float


@dataclass
class EpochEnd:
    epoch: int
    epochs: int
    train_loss: float
    val_loss: float
    metrics: dict
    is_best: bool
    elapsed_s: float
    eta_s: float


@dataclass
class FitEnd:
    status: str  # "completed" | "early_stopped" | "stopped" | "cancelled"
    best_epoch: int
    epochs_run: int
    elapsed_s: float
    history: list[dict] = field(default_factory=list)
    val_logits: np.ndarray | None = None  # of the restored best model
    val_labels: np.ndarray | None = None


@dataclass(frozen=True)
class FoldEnd:
    """One cross-validation fold finished: its model's figures on its held-out images (uncalibrated,
    argmax), for progress displays; the card's figures come from all folds' predictions together."""
    fold: int  # 1-based
    folds: int
    n_held_out: int
    metrics: dict
    seconds: float


@dataclass(frozen=True)
class CrossValidated:
    """All folds finished (before the refit on all images): the out-of-fold figures the card will carry."""
    folds: int
    n: int
    report: dict  # pipeline.describe() of the out-of-fold predictions, calibrated
    summary: dict  # the card's metrics["cross_validation"]
    shifted: dict | None = None  # the same on the scanner-shifted copies (core.robustness)
    logits: np.ndarray | None = None  # (N, K) out-of-fold, uncalibrated
    labels: np.ndarray | None = None
    ood_scores: np.ndarray | None = None  # (N,) each image under its fold's detector
    shifted_logits: np.ndarray | None = None  # (N, K) out-of-fold on the scanner-shifted copies, uncalibrated
    fold_ids: np.ndarray | None = None  # (N,) the fold that held each image out

    @property
    def text(self) -> str:
        return cv_text(self.folds, self.n)


def cv_text(folds: int, n: int) -> str:
    """How a card names its figures, e.g. "5-fold cross-validated, n = 624"."""
    return f"{folds}-fold cross-validated, n = {n}"


@dataclass
class TrainedModel:
    """The last event of ``train_model``: an unsaved model and its filled-in card."""
    model: Any  # torch.nn.Module
    card: Any  # core.storage.ModelCard
    fit: FitEnd


# ------------------------------------------------------------------------------------------------ results
@dataclass(frozen=True)
class Evaluation:
    """One model on the validation set at its card's calibration and operating point."""

    model_id: str
    report: dict  # pipeline.describe(): headline metrics with CIs, ece, ece_uncalibrated, confusion matrix...
    reliability: dict  # {"calibrated": curve, "uncalibrated": curve} (metrics.reliability_curve, as lists)
    threshold: float | None
    temperature: float


@dataclass(frozen=True)
class Comparison:
    """Base vs fine-tuned model on the same validation set (base None: from scratch / new labels)."""

    labels: tuple[str, ...]
    positive: int | None
    new: Evaluation
    base: Evaluation | None
    base_note: str = ""  # why there is no base column
    out_of_fold: CrossValidated | None = None  # a cross-validated run's OOF predictions: the operating point's data

    def rows(self) -> list[tuple[str, dict | None, dict | None]]:
        return [(k, self.base.report.get(k) if self.base else None, self.new.report.get(k))
                for k in headline_metrics(len(self.labels))]
