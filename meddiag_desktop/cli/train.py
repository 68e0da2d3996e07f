"""`meddiag train`: the training core without Qt (``core.finetune``), same figures as the window."""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from ..core.tasks import FAMILIES
from .common import CliError, print_metrics


def _threshold_rule(text: str) -> tuple[str, float | None]:
    rule, _, target = text.partition(":")
    with_target = rule in ("sensitivity", "specificity", "cost") and target
    if rule not in ("base", "youden") and not with_target:
        raise argparse.ArgumentTypeError("use base, youden, sensitivity:0.95, specificity:0.90 or cost:2 (a missed "
                                         "positive costs 2 false alarms)")
    return rule, float(target) if target else None


def cmd_train(args) -> int:
    """Train or fine-tune through core.finetune (what the fine-tune dialog runs): the same data plan,
    warnings, comparison with the base model and the same metrics; saved as a new version."""
    from tqdm import tqdm

    from ..core.data import DatasetError
    from ..core.finetune import (
        LabelMismatch, comparison_lines, default_version_name, plan_folds, prepare, recipe_note, run_finetune,
        summarize,
    )
    from ..core.model_store import ModelStore
    from ..core.storage import ModelNotFoundError, save_model
    from ..core.near_duplicates import grouping_text
    from ..core.training_events import Comparison, EpochEnd, FineTuneSpec, FoldEnd, StepEnd, TrainedModel, cv_text
    from ..core.versions import VersionError, active_card, save_version

    store = ModelStore()
    if args.save_as and any(c.id == args.save_as for c in store.cards()):
        raise CliError(f"a model called {args.save_as!r} exists already; choose another --save-as name")
    rule, target = args.threshold_rule
    spec = FineTuneSpec(data=args.data, base_id=args.base, family=args.arch, task=args.task, new_labels=args.new_labels,
                        epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, val_fraction=args.val_fraction,
                        val_data=args.val_data, augment=not args.no_augment, device=args.device, seed=args.seed,
                        patience=args.patience, threshold_rule=rule, threshold_target=target, img_size=args.img_size,
                        model_id=args.save_as or "", command=" ".join(sys.argv), n_boot=args.bootstrap, cv=args.cv)
    try:
        base, config, plan = prepare(spec, store)
    except LabelMismatch as exc:
        raise CliError(f"{exc} (pass --new-labels)") from None
    except (DatasetError, ModelNotFoundError) as exc:
        raise CliError(str(exc)) from None
    summary = summarize(plan, base.labels if base else None)
    name = args.save_as or "a new version"
    folds = plan_folds(spec, plan)
    if folds:
        print(f"training {name} ({config.arch}, task {config.task}{', from ' + base.id if base else ''}), "
              f"{cv_text(folds, len(plan.train) + len(plan.val))} (train + validation pooled; classes "
              f"{summary.total_counts}), then refitted on all images", file=sys.stderr)
    else:
        print(f"training {name} ({config.arch}, task {config.task}{', from ' + base.id if base else ''}) on "
              f"{len(plan.train)} images, validating on {len(plan.val)} ({plan.val_source}); classes "
              f"{plan.train.class_counts()}", file=sys.stderr)
    note = recipe_note(spec, base)
    if note:
        print(note, file=sys.stderr)
    for warning in summary.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    bar = trained = None
    for event in run_finetune(spec, store, plan=plan):
        if isinstance(event, StepEnd):
            if bar is None:
                bar = tqdm(total=event.steps, desc=f"epoch {event.epoch}/{event.epochs}", file=sys.stderr, leave=False)
            bar.update(1)
            bar.set_postfix(loss=f"{event.loss:.4f}")
        elif isinstance(event, EpochEnd):
            if bar is not None:
                bar.close()
                bar = None
            scores = " ".join(f"{k} {v:.3f}" for k, v in event.metrics.items())
            print(f"epoch {event.epoch}/{event.epochs}  train loss {event.train_loss:.4f}  val loss "
                  f"{event.val_loss:.4f}  {scores}{'  (best)' if event.is_best else ''}  eta {event.eta_s:.0f}s")
        elif isinstance(event, FoldEnd):
            print(f"fold {event.fold}/{event.folds}: held-out {event.n_held_out} images, "
                  + " ".join(f"{k} {event.metrics[k]:.3f}" for k in ("accuracy", "auc", "macro_auc") if k in event.metrics))
        elif isinstance(event, TrainedModel):
            trained = event
        elif isinstance(event, Comparison):
            if args.out:
                trained = replace(trained, card=replace(
                    trained.card, id=args.save_as or default_version_name(spec.base_id, config.task, config.arch)))
                card = save_model(trained.model, trained.card, Path(args.out))
            else:
                try:
                    card = save_version(trained.model, trained.card, store, name=args.save_as, activate=args.activate)
                except VersionError as exc:
                    raise CliError(str(exc)) from None
            print(f"saved {card.id} (best epoch {card.training['best_epoch']}, {trained.fit.status}) to {card.path}")
            how = card.metrics["validation"].get("evaluation")
            print(f"{how} (out-of-fold) metrics:" if how else "validation metrics:")
            grouping = card.data.get("cross_validation", {}).get("near_duplicates")
            if grouping:
                print(grouping_text(grouping))
            print_metrics(card.metrics["validation"], card.labels)
            for line in comparison_lines(event):
                print(line)
            if not args.out:
                active = active_card(store, card.task, card.config.arch).id
                print(f"active {card.config.arch} model for task {card.task}: {active}"
                      + ("" if active == card.id else f" (activate {card.id} with --activate or the Models page)"))
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("train", help="train or fine-tune a model (saved to your user model folder)")
    p.add_argument("--data", required=True, help=".npz (MedMNIST style), ImageFolder folder, or CSV path,label")
    p.add_argument("--val-data", help="separate validation data (else: the npz's val split, a val/ sub-folder, "
                                      "or a stratified split)")
    p.add_argument("--val-fraction", type=float, help="stratified validation fraction (default 0.2)")
    p.add_argument("--task", help="task name (pneumonia, breast, or your own)")
    p.add_argument("--arch", choices=FAMILIES, default="cnn", help="family when training from scratch")
    p.add_argument("--base", help="model ID to fine-tune")
    p.add_argument("--new-labels", action="store_true", help="accept a label set that differs from --base's")
    p.add_argument("--img-size", type=int, default=28)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--patience", type=int, default=8)
    p.add_argument("--no-augment", action="store_true",
                   help="train without augmentation (default: the base model's own, per member for an ensemble)")
    p.add_argument("--threshold-rule", type=_threshold_rule, default=("base", None),
                   help="operating point on validation: base (default: the base model's rule; youden without "
                        "--base), youden, sensitivity:0.95, specificity:0.9, cost:R (threshold 1/(1+R) on the "
                        "calibrated probability)")
    p.add_argument("--device", default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="folder to save into (default: your user model folder)")
    p.add_argument("--save-as", metavar="NAME", help="ID of the new version (default: BASE@date-time)")
    p.add_argument("--activate", action="store_true",
                   help="make the new version the active model of its task and family (rollback: Models page)")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for the CIs")
    p.add_argument("--cv", type=int, metavar="K", default=None,
                   help="K-fold cross-validation over train + validation, then a refit on all images "
                        "(default: 5 folds below 2000 images; 0: a plain train / validation split)")
    p.set_defaults(func=cmd_train)
