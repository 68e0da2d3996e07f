"""`meddiag train` and `meddiag evaluate`: the training core without Qt, same figures as the window."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

FAMILIES = ("cnn", "rnn", "transformer")
HEADLINE = ("accuracy", "sensitivity", "specificity", "f1", "auc")


def _err(message: str):
    from .cli import CliError

    return CliError(message)


def _num(value, digits: int = 3) -> str:
    from .core.metrics import format_metric  # numpy: imported when a command runs, not for --help

    return format_metric(value, digits)


def _threshold_rule(text: str) -> tuple[str, float | None]:
    rule, _, target = text.partition(":")
    if rule not in ("youden", "sensitivity", "specificity") or (rule != "youden" and not target):
        raise argparse.ArgumentTypeError("use youden, sensitivity:0.95 or specificity:0.90")
    return rule, float(target) if target else None


def _load_sets(args):
    """(train, val) LabeledSets: an npz's own val split, a folder's train/ + val/ (or a val/ folder next to
    the class folders), separate --val-data, or a stratified split - as the fine-tune dialog does."""
    from .core.data import DatasetError
    from .core.finetune import load_training_data
    from .core.tasks import TASKS

    names = TASKS[args.task].labels if args.task in TASKS else None
    try:
        plan = load_training_data(args.data, val_fraction=args.val_fraction, val_data=args.val_data, seed=args.seed,
                                  label_names=names)
    except DatasetError as exc:
        raise _err(str(exc)) from None
    return plan.train, plan.val


def _print_metrics(report: dict, labels) -> None:
    for key in HEADLINE + ("macro_f1", "macro_auc"):
        if isinstance(report.get(key), dict):
            value, low, high = (_num(report[key][k]) for k in ("value", "ci_low", "ci_high"))
            print(f"  {key:<12} {value}  (95% CI {low}-{high})")
    print(f"  ECE          {report['ece']:.4f} calibrated (T={report['temperature']:.3f}), "
          f"{report['ece_uncalibrated']:.4f} before calibration")
    if report.get("threshold") is not None:
        print(f"  threshold    P({labels[report['positive']]}) >= {report['threshold']:.3f}")
    print("  confusion matrix (rows true, columns predicted): " + ", ".join(labels))
    for name, row in zip(labels, report["confusion_matrix"]):
        print(f"    {name:<16} " + " ".join(f"{v:6d}" for v in row))


def cmd_train(args) -> int:
    """Train or fine-tune through core.finetune (what the fine-tune dialog runs): the same data plan,
    warnings, comparison with the base model and the same metrics; saved as a new version."""
    from tqdm import tqdm

    from .core.data import DatasetError
    from .core.finetune import LabelMismatch, comparison_lines, default_version_name, prepare, run_finetune, summarize
    from .core.storage import ModelNotFoundError, ModelStore, save_model
    from .core.training_events import Comparison, EpochEnd, FineTuneSpec, StepEnd, TrainedModel
    from .core.versions import VersionError, active_card, save_version

    store = ModelStore()
    if args.save_as and any(c.id == args.save_as for c in store.cards()):
        raise _err(f"a model called {args.save_as!r} exists already; choose another --save-as name")
    rule, target = args.threshold_rule
    spec = FineTuneSpec(data=args.data, base_id=args.base, family=args.arch, task=args.task, new_labels=args.new_labels,
                        epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, val_fraction=args.val_fraction,
                        val_data=args.val_data, augment=not args.no_augment, device=args.device, seed=args.seed,
                        patience=args.patience, threshold_rule=rule, threshold_target=target, img_size=args.img_size,
                        model_id=args.save_as or "", command=" ".join(sys.argv), n_boot=args.bootstrap)
    try:
        base, config, plan = prepare(spec, store)
    except LabelMismatch as exc:
        raise _err(f"{exc} (pass --new-labels)") from None
    except (DatasetError, ModelNotFoundError) as exc:
        raise _err(str(exc)) from None
    summary = summarize(plan, base.labels if base else None)
    name = args.save_as or "a new version"
    print(f"training {name} ({config.arch}, task {config.task}{', from ' + base.id if base else ''}) on "
          f"{len(plan.train)} images, validating on {len(plan.val)} ({plan.val_source}); classes "
          f"{plan.train.class_counts()}", file=sys.stderr)
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
        elif isinstance(event, TrainedModel):
            trained = event
        elif isinstance(event, Comparison):
            if args.out:
                trained.card.id = args.save_as or default_version_name(spec.base_id, config.task, config.arch)
                card = save_model(trained.model, trained.card, Path(args.out))
            else:
                try:
                    card = save_version(trained.model, trained.card, store, name=args.save_as, activate=args.activate)
                except VersionError as exc:
                    raise _err(str(exc)) from None
            print(f"saved {card.id} (best epoch {card.training['best_epoch']}, {trained.fit.status}) to {card.path}")
            print("validation metrics:")
            _print_metrics(card.metrics["validation"], card.labels)
            for line in comparison_lines(event):
                print(line)
            if not args.out:
                active = active_card(store, card.task, card.config.arch).id
                print(f"active {card.config.arch} model for task {card.task}: {active}"
                      + ("" if active == card.id else f" (activate {card.id} with --activate or the Models page)"))
    return 0


def cmd_versions(args) -> int:
    """The Models page without Qt: the same core.versions operations, then the listing."""
    from .cli import _print_json
    from .core.storage import ModelStorageError, ModelStore
    from .core import versions

    store = ModelStore()
    try:
        if args.activate:
            print(f"{versions.activate_version(store, args.activate).id} is now active")
        if args.rollback:
            task, _, family = args.rollback.partition("/")
            print(f"rolled back: {versions.rollback(store, task, family or 'cnn').id} is active again")
        if args.export:
            print(f"exported to {versions.export_version(store, args.export[0], args.export[1])}")
        if args.import_path:
            card = versions.import_version(store, args.import_path, new_id=args.import_as)
            print(f"imported {card.id} (sha256 verified)")
        if args.delete:
            versions.delete_version(store, args.delete)
            print(f"deleted {args.delete}")
    except ModelStorageError as exc:
        raise _err(str(exc)) from None
    rows = versions.list_versions(store, args.task)
    if args.json:
        _print_json([row.__dict__ for row in rows])
        return 0
    print(f"{'task':<10} {'family':<12} {'model':<40} {'version':<8} {'source':<8} {'acc':>6} {'auc':>6}  active")
    for r in rows:
        acc, auc = (_num(r.metrics.get(k)) for k in ("accuracy", "auc"))
        print(f"{r.task:<10} {r.family:<12} {r.id:<40} {r.version:<8} {r.source:<8} {acc:>6} {auc:>6}  "
              f"{'*' if r.active else ''}")
    return 0


def _infer_task(args, store) -> str | None:
    from .core.tasks import TASKS

    if args.task:
        return args.task
    stem = Path(args.data).name.lower()
    matches = [t for t in TASKS if t in stem]
    return matches[0] if len(matches) == 1 else None


def cmd_evaluate(args) -> int:
    from .cli import _cards, _print_json
    from .core.data import DatasetError, open_dataset
    from .core.device import DeviceError, resolve_device
    from .core.pipeline import evaluate_model
    from .core.storage import ModelStorageError, ModelStore, load_weights

    task = _infer_task(args, ModelStore()) if args.model == "all" else None
    if args.model == "all" and task is None:
        raise _err("cannot tell which task this data belongs to; pass --task")
    cards = _cards(args.model, task)
    try:
        device = resolve_device(args.device)
        data = open_dataset(args.data, args.split, cards[0].labels)
    except (DatasetError, DeviceError) as exc:
        raise _err(str(exc)) from None
    rows = []
    for card in cards:
        try:
            model = load_weights(card, device)
        except ModelStorageError as exc:
            raise _err(str(exc)) from None
        report = evaluate_model(model, card, data, n_boot=args.bootstrap, device=device)
        report["images_per_s"] = _throughput(model, card, device)
        report["params"] = sum(p.numel() for p in model.parameters())
        rows.append((card, report))
    if args.json:
        _print_json([{"model": c.id, "family": c.config.arch, "task": c.task, "split": args.split,
                      "data": Path(args.data).name, **r} for c, r in rows])
        return 0
    for card, report in rows:
        print(f"{card.id} on {Path(args.data).name} [{args.split} split, n={report['n']}]")
        _print_metrics(report, card.labels)
    if len(rows) > 1:
        _comparison_table(rows, args.split)
    return 0


def _throughput(model, card, device, n: int = 512, batch: int = 256) -> float:
    """Images per second of the bare forward pass on this machine (after one warm-up batch)."""
    import torch

    x = torch.randn(batch, card.config.in_chans, card.config.img_size, card.config.img_size, device=device)
    with torch.inference_mode():
        model(x)
        start = time.perf_counter()
        for _ in range(n // batch):
            model(x)
        if device.type == "cuda":
            torch.cuda.synchronize()
    return n / (time.perf_counter() - start)


def _comparison_table(rows, split: str) -> None:
    print(f"\nComparison on the {split} split (95% bootstrap CIs):")
    head = "| model | family | params | " + " | ".join(HEADLINE) + " | ECE | img/s |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for card, r in rows:
        cells = [f"{_num(r[k]['value'])} ({_num(r[k]['ci_low'])}-{_num(r[k]['ci_high'])})" for k in HEADLINE]
        print(f"| {card.id} | {card.config.arch} | {r['params'] / 1e6:.2f} M | " + " | ".join(cells)
              + f" | {r['ece']:.3f} | {r['images_per_s']:.0f} |")


def add_train_commands(sub) -> None:
    p = sub.add_parser("train", help="train or fine-tune a model (saved to your user model folder)")
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
    p.add_argument("--no-augment", action="store_true")
    p.add_argument("--threshold-rule", type=_threshold_rule, default=("youden", None),
                   help="operating point on validation: youden (default), sensitivity:0.95, specificity:0.9")
    p.add_argument("--device", default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="folder to save into (default: your user model folder)")
    p.add_argument("--save-as", metavar="NAME", help="ID of the new version (default: BASE@date-time)")
    p.add_argument("--activate", action="store_true",
                   help="make the new version the active model of its task and family (rollback: Models page)")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for the CIs")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("versions", help="model versions: list, activate, roll back, export, import, delete")
    p.add_argument("--task", help="only this task's versions")
    p.add_argument("--activate", metavar="ID", help="make ID the active model of its task and family")
    p.add_argument("--rollback", metavar="TASK/FAMILY", help="re-activate the previous version, e.g. pneumonia/cnn")
    p.add_argument("--export", nargs=2, metavar=("ID", "PATH"), help="write ID as a .zip (or into a folder)")
    p.add_argument("--import", dest="import_path", metavar="PATH", help="install a model .zip / folder / card .json")
    p.add_argument("--import-as", metavar="ID", help="with --import: install under this ID")
    p.add_argument("--delete", metavar="ID", help="delete one of your versions (never a shipped model)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_versions)

    p = sub.add_parser("evaluate", help="metrics with CIs, calibration and a family comparison")
    p.add_argument("--model", default="all", help="model ID, comma-separated IDs or 'all' (one task)")
    p.add_argument("--data", required=True)
    p.add_argument("--split", default="val", help="npz split: val (default) or test")
    p.add_argument("--task", help="task of the data (inferred from the file name when possible)")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for the CIs")
    p.add_argument("--device", default="auto")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_evaluate)
