"""Job functions of the fine-tune dialog (no Qt in here), for ``workers.Job``.

Signature ``fn(progress, cancel, *args)``; they run in the dialog's "training" lane. torch and
core.storage are imported inside the functions, so the GUI thread never pays for them. What they yield / return are plain records (numpy arrays, dataclasses) or the
trained model, which only these jobs touch afterwards.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any, Iterator

from .models import make_store

STEP_YIELD_S = 0.1  # a StepBatch at most every 100 ms: one GUI event, however fast the steps are


@dataclass(frozen=True)
class StepBatch:
    """Training steps since the last batch: x in epochs (fractional), the raw step losses, the last step."""

    x: Any  # np.ndarray (n,)
    loss: Any  # np.ndarray (n,)
    epoch: int
    epochs: int
    step: int
    steps: int
    eta_s: float
    samples: int  # training samples processed since the run started


@dataclass(frozen=True)
class Prepared:
    """First event of a run: the data as it will be used (the validation set is kept for re-calibration)."""

    summary: Any  # core.finetune.DataSummary
    val: Any  # core.data.LabeledSet
    config: Any  # core.models.ModelConfig of the new model
    base_id: str | None


@dataclass(frozen=True)
class ModelChoice:
    id: str
    task: str
    family: str
    labels: tuple[str, ...]
    active: bool
    source: str  # shipped | user
    demo: bool


@dataclass(frozen=True)
class Inspection:
    """The data summary plus the base model's label relation, for the dialog's set-up page."""

    summary: Any  # core.finetune.DataSummary
    data: str


def _threads() -> None:
    import torch

    torch.set_num_threads(max(1, min(torch.get_num_threads(), (os.cpu_count() or 2) - 1)))  # one core for the GUI


# --------------------------------------------------------------------------------------------- fine-tune
def warm_up(progress, cancel) -> None:
    """Import what the first training step pulls in lazily (the optimiser's first step imports ~900
    modules, sympy included: seconds holding the GIL) while the user is still choosing the data,
    instead of stalling the GUI thread once training has started."""
    import torch

    from meddiag_desktop.core import finetune, ood, pipeline  # noqa: F401
    from meddiag_desktop.core.data import BatchAugment

    _threads()
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.AdamW(model.parameters())
    model(torch.zeros(1, 2)).sum().backward()
    optimizer.step()
    BatchAugment()(torch.zeros(1, 1, 28, 28))
    ood.warm_up()


def list_models(progress, cancel, store_spec) -> list[ModelChoice]:
    from meddiag_desktop.core.versions import list_versions

    store = make_store(store_spec)
    cards = {c.id: c for c in store.cards()}
    return [ModelChoice(r.id, r.task, r.family, tuple(cards[r.id].labels), r.active, r.source, r.demo)
            for r in list_versions(store)]


def inspect_data(progress, cancel, store_spec, data: str, val_fraction: float, use_val_folder: bool,
                 base_id: str | None, val_data: str | None = None) -> Inspection:
    from meddiag_desktop.core.finetune import DataPlan, load_training_data, match_label_case, summarize

    progress(0, None, "Reading the data set…")
    base = make_store(store_spec).find(base_id) if base_id else None
    plan = load_training_data(data, val_fraction=val_fraction, val_data=val_data, use_val_folder=use_val_folder,
                              label_names=base.labels if base else None)
    if base is not None:
        plan = DataPlan(match_label_case(plan.train, base.labels), match_label_case(plan.val, base.labels),
                        plan.val_source)
    return Inspection(summarize(plan, base.labels if base else None), data)


def train(progress, cancel, store_spec, spec, stop) -> Iterator:
    """The fine-tune run: Prepared, then StepBatch / EpochEnd / FitEnd / TrainedModel / Comparison events.
    ``spec``: a core.training_events.FineTuneSpec."""
    import numpy as np

    from meddiag_desktop.core.finetune import prepare, run_finetune, summarize
    from meddiag_desktop.core.jobs import Progress
    from meddiag_desktop.core.training_events import FitEnd, StepEnd

    _threads()
    progress(0, None, "Preparing the images…")
    xs, losses, last_yield, samples = [], [], time.monotonic(), 0
    last_step = None

    def flush():
        nonlocal xs, losses, last_yield
        batch = StepBatch(np.asarray(xs, dtype=np.float64), np.asarray(losses, dtype=np.float64), last_step.epoch,
                          last_step.epochs, last_step.step, last_step.steps, last_step.eta_s, samples)
        xs, losses, last_yield = [], [], time.monotonic()
        return batch

    store = make_store(store_spec)
    base, config, plan = prepare(spec, store)
    yield Prepared(summarize(plan, base.labels if base else None), plan.val, config, base.id if base else None)
    for event in run_finetune(spec, store, cancel=cancel, stop=stop, plan=plan):
        if isinstance(event, StepEnd):
            last_step = event
            samples += spec.batch_size  # full batches (drop_last) except on sets smaller than one batch
            xs.append(event.epoch - 1 + event.step / event.steps)
            losses.append(event.loss)
            if time.monotonic() - last_yield >= STEP_YIELD_S:
                yield flush()
            continue
        if xs:
            yield flush()
        if isinstance(event, Progress):
            progress(event.done, event.total, event.text)
            continue
        if isinstance(event, FitEnd) and event.status != "cancelled":
            progress(0, None, "Evaluating the base and the new model on the validation set…")
        yield event


def recalibrate(progress, cancel, model, card, val, rule: str, target: float | None, n_boot: int = 1000,
                out_of_fold=None):
    """(copy of the card with the new operating point, its Evaluation) - the weights are untouched.
    A cross-validated run (``out_of_fold``: its core.training_events.CrossValidated) refits on the
    out-of-fold predictions, a plain run on ``val``."""
    from meddiag_desktop.core.finetune import recalibrate_out_of_fold, recalibrate_version

    _threads()
    if out_of_fold is not None:
        progress(0, None, "Re-fitting the operating point on the out-of-fold predictions…")
        return recalibrate_out_of_fold(card, out_of_fold, rule, target, n_boot)
    progress(0, None, "Re-fitting the operating point on the validation set…")
    return recalibrate_version(model, card, val, rule, target, n_boot)


def save(progress, cancel, store_spec, model, card, name: str | None, activate: bool):
    from meddiag_desktop.core.versions import save_version

    progress(0, None, "Saving the new version…")
    return save_version(model, card, make_store(store_spec), name=name or None, activate=activate)
