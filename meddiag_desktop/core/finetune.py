"""Fine-tuning, shared by the fine-tune dialog (in its worker) and ``meddiag train``: the data plan,
the checks shown before training, the label decision, the run itself (``core.pipeline.train_model``)
and the base-vs-new comparison on the same validation set. Qt-free.

``run_finetune`` yields the ``fit`` events (StepEnd / EpochEnd / FitEnd), a ``Progress`` while it
compares, the ``TrainedModel`` with its final card (never changed afterwards) and finally a
:class:`Comparison` - or nothing after FitEnd when the run was cancelled.
"""
from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from . import metrics
from .data import DatasetError, LabeledSet, load_folder, load_npz, open_dataset, stratified_split
from .jobs import CancelFlag, Progress, is_cancelled
from .model_store import ModelStore
from .models import ModelConfig
from .cross_validation import cross_validate, folds_for, join
from .pipeline import (
    align_labels, calibrate, calibrated_probabilities, card_logits, describe, describe_card, positive_index,
    prior_correction, recalibrate, train_model,
)
from .metric_ci import MetricCI, format_metric_ci
from .metric_ci import format_metric as _num
from .storage import ModelCard, load_weights
from .tasks import TASKS
from .training import TrainConfig
from .versions import new_version_id, version_stem
from .training_events import Comparison, CrossValidated, DataSummary, Evaluation, FineTuneSpec, TrainedModel

MIN_PER_CLASS = 20
MAX_IMBALANCE = 4.0


class LabelMismatch(ValueError):
    """The data's classes are not the base model's labels; the user must confirm a new label set."""


# ------------------------------------------------------------------------------------------------ data
@dataclass
class DataPlan:
    train: LabeledSet
    val: LabeledSet
    val_source: str  # for people: "val/ sub-folder", "stratified 20 % split", "the npz's val split"...


def _without_class(data: LabeledSet, name: str) -> LabeledSet:
    """``data`` minus one class (e.g. a ``val`` folder next to the class folders)."""
    drop = data.label_names.index(name)
    keep = np.flatnonzero(data.labels != drop)
    sub = data.subset(keep, data.manifest.get("part", "all"))
    names = tuple(n for n in data.label_names if n != name)
    remap = np.array([names.index(n) if n in names else -1 for n in data.label_names])
    out = replace(sub, label_names=names, labels=remap[sub.labels])
    out.manifest = {k: v for k, v in sub.manifest.items() if k not in ("part", "indices_sha256")}
    out.manifest["class_counts"] = out.class_counts()
    return out


def _with_part(data: LabeledSet, part: str) -> LabeledSet:
    data.manifest = dict(data.manifest, part=part)
    return data


def load_training_data(path: str | Path, *, val_fraction: float | None = None, val_data: str | Path | None = None,
                       use_val_folder: bool = True, seed: int = 0,
                       label_names: Sequence[str] | None = None) -> DataPlan:
    """Train and validation sets from one source:

    * an ``.npz``: its own ``train`` / ``val`` splits (unless a fraction or separate data is given);
    * a folder with ``train/`` and ``val/`` sub-folders, or class folders next to a ``val/`` folder
      (ImageFolder layout inside each): those as they are;
    * otherwise (folder, CSV ``path,label``) a stratified split with ``val_fraction`` (default 0.2).
    """
    path = Path(path)
    if path.suffix.lower() == ".npz" and val_data is None and val_fraction is None:
        return DataPlan(load_npz(path, "train", label_names), load_npz(path, "val", label_names), "the npz's val split")
    if val_data is not None:
        return DataPlan(_with_part(open_dataset(path, "train", label_names), "train"),
                        _with_part(open_dataset(val_data, "val", label_names), "val"), "separate validation data")
    if path.is_dir() and use_val_folder and (path / "val").is_dir():
        val = _with_part(load_folder(path / "val"), "val")
        if (path / "train").is_dir():
            return DataPlan(_with_part(load_folder(path / "train"), "train"), val, "val/ sub-folder")
        full = load_folder(path)
        if "val" in full.label_names:
            full = _without_class(full, "val")
        if len(full.label_names) < 2:
            raise DatasetError("need training images of at least two classes next to the val/ folder")
        return DataPlan(_with_part(full, "train"), val, "val/ sub-folder")
    data = open_dataset(path, "train", label_names)
    fraction = 0.2 if val_fraction is None else val_fraction
    train_idx, val_idx = stratified_split(data.labels, fraction, seed)
    return DataPlan(data.subset(train_idx, "train"), data.subset(val_idx, "val"),
                    f"stratified {100 * fraction:.0f} % split")


def match_label_case(data: LabeledSet, labels: Sequence[str]) -> LabeledSet:
    """Rename the data's classes to the model's spelling when they differ only in case ("Normal")."""
    lookup = {name.lower(): name for name in labels}
    renamed = tuple(lookup.get(n.lower(), n) for n in data.label_names)
    if renamed == data.label_names or len(set(renamed)) != len(renamed):
        return data
    return replace(data, label_names=renamed)


def label_relation(data_labels: Sequence[str], model_labels: Sequence[str]) -> str:
    """"same" (maps onto the model's labels), "subset" (some labels have no images) or "new"."""
    data, model = set(data_labels), set(model_labels)
    if data == model or (all(n.isdigit() for n in data) and max(int(n) for n in data) < len(model_labels)):
        return "same"
    if data < model:
        return "subset"
    return "new"


def data_warnings(train: LabeledSet, val: LabeledSet, min_per_class: int = MIN_PER_CLASS,
                  max_ratio: float = MAX_IMBALANCE) -> list[str]:
    train_counts, val_counts = train.class_counts(), val.class_counts()
    totals = {k: train_counts.get(k, 0) + val_counts.get(k, 0) for k in train.label_names}
    out = []
    tiny = [f"{k} ({n})" for k, n in totals.items() if n < min_per_class]
    if tiny:
        out.append(f"Very few images: {', '.join(tiny)} - fewer than {min_per_class} per class; the metrics "
                   "will be unreliable and the model may overfit.")
    present = [n for n in totals.values() if n > 0]
    if len(present) >= 2 and max(present) > max_ratio * min(present):
        big = max(totals, key=totals.get)
        small = min((k for k in totals if totals[k] > 0), key=totals.get)
        out.append(f"Imbalanced classes: {big} {totals[big]} vs {small} {totals[small]} (more than "
                   f"{max_ratio:g}:1); the loss is class-weighted, but check sensitivity and specificity.")
    missing = [k for k, n in val_counts.items() if n == 0]
    if missing:
        out.append(f"The validation set has no images of {', '.join(missing)}.")
    return out


def summarize(plan: DataPlan, base_labels: Sequence[str] | None = None) -> DataSummary:
    relation = label_relation(plan.train.label_names, base_labels) if base_labels else None
    warnings = data_warnings(plan.train, plan.val)
    if relation == "subset":
        absent = [n for n in base_labels if n not in plan.train.label_names]
        warnings.append(f"No images of {', '.join(absent)}: the model keeps that label but learns nothing new "
                        "about it.")
    return DataSummary(tuple(plan.train.label_names), plan.train.class_counts(), plan.val.class_counts(),
                       plan.val_source, tuple(warnings), relation, tuple(base_labels) if base_labels else None,
                       folds_for(len(plan.train) + len(plan.val)))


# ------------------------------------------------------------------------------------------------ request
def model_config(base: ModelCard | None, data_labels: Sequence[str], spec: FineTuneSpec) -> ModelConfig:
    """The new model's config: the base's, with the data's labels when the user accepted new ones."""
    if base is None:
        return ModelConfig(arch=spec.family, task=spec.task or "custom", labels=tuple(data_labels),
                           img_size=spec.img_size, arch_kwargs=dict(spec.arch_kwargs))
    relation = label_relation(data_labels, base.labels)
    if relation in ("same", "subset"):
        return base.config
    if not spec.new_labels:
        raise LabelMismatch(f"data classes {list(data_labels)} differ from {base.id}'s labels {list(base.labels)}; "
                            "confirm the new label set to re-initialise the classifier head")
    return replace(base.config, labels=tuple(data_labels))


# the settings the dialog / CLI choose: a base model's per-member settings never override them
SPEC_SETTINGS = frozenset({"epochs", "lr", "batch_size", "device", "seed", "patience"})


def train_config(spec: FineTuneSpec, base: ModelCard | None = None) -> TrainConfig:
    """The run's settings: the spec's, plus a seed-ensemble base's per-member regularisation (its
    ``member_settings``, e.g. label smoothing on the hybrid members), so each member is fine-tuned the
    way it was trained."""
    recorded = (base.training.get("member_settings") or ()) if base is not None else ()
    member_settings = tuple({k: v for k, v in dict(entry).items() if k not in SPEC_SETTINGS} for entry in recorded)
    return TrainConfig(epochs=spec.epochs, lr=spec.lr, batch_size=spec.batch_size, device=spec.device,
                       seed=spec.seed, patience=spec.patience, member_settings=member_settings)


def recipe_augment(spec: FineTuneSpec, base: ModelCard | None) -> bool | dict | list:
    """The run's augmentation: none when switched off, else the base model's recorded one (a seed
    ensemble's per-member list, e.g. left-right flips for the wide breast CNNs), else the default."""
    if not spec.augment:
        return False
    recorded = base.training.get("augment", True) if base is not None else True
    return recorded if isinstance(recorded, (dict, list)) else True


def recipe_note(spec: FineTuneSpec, base: ModelCard | None) -> str:
    """One line on what the run keeps of the base model's own recipe ("" when nothing special)."""
    if base is None:
        return ""
    augment, settings = recipe_augment(spec, base), train_config(spec, base).member_settings
    parts = []
    if isinstance(augment, list):  # per member; True / False: the default augmentation / none
        augment = [("default" if a else "none") if isinstance(a, bool) else a for a in augment]
    if isinstance(augment, (dict, list)):
        parts.append(f"augmentation {json.dumps(augment)}")
    if any(settings):
        parts.append(f"per-member settings {json.dumps(list(settings))}")
    return f"keeps {base.id}'s recipe: {'; '.join(parts)}" if parts else ""


def prepare(spec: FineTuneSpec, store: ModelStore | None = None, plan: DataPlan | None = None):
    """(base card or None, config, plan) for ``spec``; raises DatasetError / LabelMismatch / ModelNotFoundError."""
    store = store or ModelStore()
    base = store.find(spec.base_id) if spec.base_id else None
    names = None
    if base is None and spec.task:
        names = TASKS[spec.task].labels if spec.task in TASKS else None
    elif base is not None:
        names = base.labels
    if plan is None:
        plan = load_training_data(spec.data, val_fraction=spec.val_fraction, val_data=spec.val_data,
                                  use_val_folder=spec.use_val_folder, seed=spec.seed, label_names=names)
    if base is not None:
        plan = DataPlan(match_label_case(plan.train, base.labels), match_label_case(plan.val, base.labels),
                        plan.val_source)
    config = model_config(base, plan.train.label_names, spec)
    missing = sorted(set(plan.val.label_names) - set(config.labels))
    if missing and label_relation(plan.val.label_names, config.labels) != "same":
        raise DatasetError(f"validation classes {missing} are not among the training classes")
    return base, config, plan


# ------------------------------------------------------------------------------------------------ results
def evaluate_version(model, card: ModelCard, val: LabeledSet, n_boot: int = 1000, device: str = "cpu") -> Evaluation:
    """``pipeline.evaluate_model`` (metrics with bootstrap CIs) plus the reliability diagram before /
    after calibration."""
    logits, labels = card_logits(model, card, val, device)  # one pass serves the metrics and the curves
    report = describe_card(logits, labels, card, n_boot)
    curves = {"uncalibrated": metrics.reliability_curve(labels, metrics.softmax(logits), n_bins=10),
              "calibrated": metrics.reliability_curve(
                  labels, calibrated_probabilities(logits, card.logit_bias, card.temperature), n_bins=10)}
    return Evaluation(card.id, metrics.to_jsonable(report), metrics.to_jsonable(curves), card.threshold,
                      float(card.temperature))


def compare(base_model, base: ModelCard | None, model, card: ModelCard, val: LabeledSet,
            n_boot: int = 1000, device: str = "cpu") -> Comparison:
    new = evaluate_version(model, card, val, n_boot, device)
    positive = positive_index(card.labels, card.task) if len(card.labels) == 2 else None
    if base is None:
        return Comparison(card.labels, positive, new, None, "trained from scratch")
    if tuple(base.labels) != tuple(card.labels):
        return Comparison(card.labels, positive, new, None, f"{base.id} has other labels ({', '.join(base.labels)})")
    return Comparison(card.labels, positive, new, evaluate_version(base_model, base, val, n_boot, device))


def plan_folds(spec: FineTuneSpec, plan: DataPlan) -> int:
    """Cross-validation folds for this run (0: a plain train / validation split): ``spec.cv``, else
    5 folds when train + validation hold fewer than ``cross_validation.SMALL_SET`` images."""
    return folds_for(len(plan.train) + len(plan.val), spec.cv)


def run_finetune(spec: FineTuneSpec, store: ModelStore | None = None, *, cancel: CancelFlag | None = None,
                 stop: CancelFlag | None = None, plan: DataPlan | None = None) -> Iterator:
    """Fine-tune (or train from scratch): fit events, a Progress, the TrainedModel, then a Comparison.
    Small sets (``plan_folds``) are cross-validated: see :func:`run_cross_validated`."""
    store = store or ModelStore()
    base, config, plan = prepare(spec, store, plan)
    if plan_folds(spec, plan):
        yield from run_cross_validated(spec, store, base, config, plan, cancel=cancel, stop=stop)
        return
    cfg = train_config(spec, base)
    model_id, description = _names(spec, base, config)
    trained = None
    rule, target = operating_rule(spec, base)
    for event in train_model(model_id, config, plan.train, plan.val, cfg, base=base,
                             augment=recipe_augment(spec, base), threshold_rule=rule, threshold_target=target,
                             description=description, command=spec.command, cancel=cancel, stop=stop):
        if isinstance(event, TrainedModel):
            trained = event  # yielded below, with its final card
        else:
            yield event
    if trained is None or is_cancelled(cancel):
        return
    yield Progress(0, None, "Comparing with the base model (bootstrap CIs)…")
    card = replace(trained.card, data={**trained.card.data, "val_source": plan.val_source, "source": Path(spec.data).name},
                   training={**trained.card.training, "val_fraction": spec.val_fraction})
    base_model = load_weights(base, "cpu") if base is not None else None
    comparison = compare(base_model, base, trained.model, card, plan.val, spec.n_boot)
    if comparison.base is not None:
        card = replace(card, metrics={**card.metrics, "base_validation": {"model": base.id, **comparison.base.report}})
    yield replace(trained, card=card)
    yield comparison


def operating_rule(spec: FineTuneSpec, base: ModelCard | None) -> tuple[str, float | None]:
    """The threshold rule the run fits: the spec's, or for ``"base"`` (the default) the base model's, so a
    fine-tuned version keeps its decision policy (a breast model's cost-weighted one); Youden's J without a base."""
    if spec.threshold_rule != "base":
        return spec.threshold_rule, spec.threshold_target
    return metrics.rule_from_name(str(base.metrics.get("threshold_rule", ""))) if base is not None else ("youden", None)


def _names(spec: FineTuneSpec, base: ModelCard | None, config: ModelConfig) -> tuple[str, str]:
    model_id = spec.model_id or f"{(base.id.split('@')[0] if base else f'{config.task}-{config.arch}')}@new"
    description = spec.description or (
        f"{base.id} fine-tuned on {Path(spec.data).name}" if base else f"{config.arch} trained on {Path(spec.data).name}")
    return model_id, description


def run_cross_validated(spec: FineTuneSpec, store: ModelStore, base: ModelCard | None, config: ModelConfig,
                        plan: DataPlan, *, cancel: CancelFlag | None = None,
                        stop: CancelFlag | None = None) -> Iterator:
    """``run_finetune`` on a small set: K-fold cross-validation over train + validation
    (``core.cross_validation``), the final model refitted on all images. Its comparison puts the new
    model's out-of-fold figures next to the base model's on the same images (none of which either
    was fitted on)."""
    folds = plan_folds(spec, plan)
    model_id, description = _names(spec, base, config)
    trained = validated = None
    rule, target = operating_rule(spec, base)
    for event in cross_validate(model_id, config, plan.train, plan.val, train_config(spec, base), folds, base=base,
                                augment=recipe_augment(spec, base), threshold_rule=rule,
                                threshold_target=target, description=description,
                                command=spec.command, n_boot=spec.n_boot, cancel=cancel, stop=stop):
        if isinstance(event, TrainedModel):
            trained = event
        elif isinstance(event, CrossValidated):
            validated = event
        else:
            yield event
    if trained is None or validated is None or is_cancelled(cancel):
        return
    yield Progress(0, None, f"Comparing with the base model on all {validated.n} images (bootstrap CIs)…")
    card = replace(trained.card, data={**trained.card.data, "val_source": validated.text,
                                       "source": Path(spec.data).name},
                   training={**trained.card.training, "val_fraction": spec.val_fraction})
    new = out_of_fold_evaluation(card, validated, validated.report)
    positive = positive_index(card.labels, card.task) if len(card.labels) == 2 else None
    if base is None:
        comparison = Comparison(card.labels, positive, new, None, "trained from scratch", validated)
    elif tuple(base.labels) != tuple(card.labels):
        comparison = Comparison(card.labels, positive, new, None,
                                f"{base.id} has other labels ({', '.join(base.labels)})", validated)
    else:
        everything = join(align_labels(plan.train, card.labels), align_labels(plan.val, card.labels))
        comparison = Comparison(card.labels, positive, new,
                                evaluate_version(load_weights(base, "cpu"), base, everything, spec.n_boot),
                                out_of_fold=validated)
        card = replace(card, metrics={**card.metrics, "base_validation": {"model": base.id, **comparison.base.report}})
    yield replace(trained, card=card)
    yield comparison


def out_of_fold_evaluation(card: ModelCard, validated: CrossValidated, report: dict) -> Evaluation:
    """The Evaluation of a cross-validated run: ``report`` (figures of the OOF predictions at the card's
    calibration) and the reliability diagram of the same predictions before / after calibration."""
    curves = {"uncalibrated": metrics.reliability_curve(validated.labels, metrics.softmax(validated.logits), n_bins=10),
              "calibrated": metrics.reliability_curve(
                  validated.labels, calibrated_probabilities(validated.logits, card.logit_bias, card.temperature),
                  n_bins=10)}
    return Evaluation(card.id, report, metrics.to_jsonable(curves), card.threshold, float(card.temperature))


def recalibrate_out_of_fold(card: ModelCard, validated: CrossValidated, rule: str, target: float | None,
                            n_boot: int = 1000) -> tuple[ModelCard, Evaluation]:
    """``recalibrate_version`` for a cross-validated run: calibration and operating point refitted on
    the out-of-fold predictions (the final model has seen every image, so its own predictions of them
    cannot choose a threshold), as ``cross_validate`` fitted the first one."""
    positive = positive_index(card.labels, card.task)
    counts = np.bincount(validated.labels, minlength=len(card.labels))
    bias = prior_correction(counts) if card.training.get("class_weighting", True) else None
    cal = calibrate(validated.logits, validated.labels, positive, rule, target, bias)
    report = metrics.to_jsonable({**describe(validated.logits, validated.labels, positive, cal, n_boot),
                                  "evaluation": validated.text})
    updated = replace(card, temperature=cal.temperature, threshold=cal.threshold, logit_bias=cal.logit_bias,
                      metrics={**card.metrics, "validation": report, "threshold_rule": cal.rule})
    return updated, out_of_fold_evaluation(updated, validated, report)


def recalibrate_version(model, card: ModelCard, val: LabeledSet, rule: str, target: float | None,
                        n_boot: int = 1000) -> tuple[ModelCard, Evaluation]:
    """A copy of ``card`` with the operating point (and temperature) refitted on ``val``, and its evaluation."""
    updated = recalibrate(model, card, val, rule, target)
    return updated, evaluate_version(model, updated, val, n_boot)


# ------------------------------------------------------------------------------------------------ text
def _cell(entry: dict | None) -> str:
    metric = MetricCI.from_dict(entry)
    return "–" if metric is None else format_metric_ci(metric, dash="–")


def comparison_lines(comparison: Comparison) -> list[str]:
    """The comparison as text - the CLI prints these, the dialog shows the same figures in its table."""
    base_name = comparison.base.model_id if comparison.base else f"base ({comparison.base_note})"
    how = comparison.new.report.get("evaluation")  # e.g. "5-fold cross-validated, n = 624"
    lines = [f"Validation comparison, {how} (fine-tuned: out-of-fold; base: the same images; 95% bootstrap CIs):" if how else
             f"Validation comparison (n={comparison.new.report.get('n')}, 95% bootstrap CIs):",
             f"  {'metric':<12} {base_name:<28} {'fine-tuned':<28}"]
    for key, base, new in comparison.rows():
        lines.append(f"  {key:<12} {_cell(base):<28} {_cell(new):<28}")
    for name, ev in (("base", comparison.base), ("fine-tuned", comparison.new)):
        if ev is not None:
            lines.append(f"  ECE {name}: {_num(ev.report.get('ece_uncalibrated'), 4)} before calibration, "
                         f"{_num(ev.report.get('ece'), 4)} after (T={ev.temperature:.3f})"
                         + (f", threshold {ev.threshold:.3f}" if ev.threshold is not None else ""))
    return lines


def default_version_name(base_id: str | None, task: str, family: str, now: _dt.datetime | None = None) -> str:
    return new_version_id(version_stem(base_id, task, family), (), now)
