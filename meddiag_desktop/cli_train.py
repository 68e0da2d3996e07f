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


def _threshold_rule(text: str) -> tuple[str, float | None]:
    rule, _, target = text.partition(":")
    if rule not in ("youden", "sensitivity", "specificity") or (rule != "youden" and not target):
        raise argparse.ArgumentTypeError("use youden, sensitivity:0.95 or specificity:0.90")
    return rule, float(target) if target else None


def _load_sets(args):
    """(train, val) LabeledSets: an npz's own val split, a folder's train/ + val/, or a stratified split."""
    from .core.data import DatasetError, load_npz, open_dataset, stratified_split
    from .core.tasks import TASKS

    path = Path(args.data)
    names = TASKS[args.task].labels if args.task in TASKS else None
    try:
        if path.suffix.lower() == ".npz" and not args.val_data and args.val_fraction is None:
            return load_npz(path, "train", names), load_npz(path, "val", names)
        if path.is_dir() and (path / "train").is_dir() and (path / "val").is_dir() and not args.val_data:
            return open_dataset(path / "train"), open_dataset(path / "val")
        data = open_dataset(path, "train", names)
        if args.val_data:
            return data, open_dataset(args.val_data, "val", names)
        train_idx, val_idx = stratified_split(data.labels, args.val_fraction or 0.2, args.seed)
        return data.subset(train_idx, "train"), data.subset(val_idx, "val")
    except DatasetError as exc:
        raise _err(str(exc)) from None


def _num(value, digits: int = 3) -> str:
    """A metric for people: undefined values (nan / None, e.g. AUC with one class) read 'n/a'."""
    return "n/a" if value is None or value != value else f"{value:.{digits}f}"


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
    from tqdm import tqdm

    from .core.models import ModelConfig
    from .core.paths import user_models_dir
    from .core.pipeline import TrainedModel, train_model
    from .core.storage import ModelNotFoundError, ModelStore, save_model
    from .core.training import EpochEnd, StepEnd, TrainConfig

    store = ModelStore()
    if any(c.id == args.save_as for c in store.cards()):
        raise _err(f"a model called {args.save_as!r} exists already; choose another --save-as name")
    train, val = _load_sets(args)
    base = None
    if args.base:
        try:
            base = store.find(args.base)
        except ModelNotFoundError as exc:
            raise _err(str(exc)) from None
        config = base.config
        if set(train.label_names) != set(config.labels):
            if not args.new_labels:
                raise _err(f"data classes {list(train.label_names)} differ from {args.base}'s labels "
                           f"{list(config.labels)}; pass --new-labels to re-initialise the head")
            config = ModelConfig(**{**config.to_dict(), "labels": tuple(train.label_names)})
    else:
        task = args.task or "custom"
        config = ModelConfig(arch=args.arch, task=task, labels=tuple(train.label_names), img_size=args.img_size)
    cfg = TrainConfig(epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, device=args.device,
                      seed=args.seed, patience=args.patience)
    print(f"training {args.save_as} ({config.arch}, task {config.task}) on {len(train)} images, "
          f"validating on {len(val)}; classes {train.class_counts()}", file=sys.stderr)
    rule, target = args.threshold_rule
    bar = None
    for event in train_model(args.save_as, config, train, val, cfg, base=base, augment=not args.no_augment,
                             threshold_rule=rule, threshold_target=target, command=" ".join(sys.argv)):
        if isinstance(event, StepEnd):
            if bar is None:
                bar = tqdm(total=event.steps, desc=f"epoch {event.epoch}/{event.epochs}", file=sys.stderr, leave=False)
            bar.update(1)
            bar.set_postfix(loss=f"{event.loss:.4f}")
        elif isinstance(event, EpochEnd):
            bar.close()
            bar = None
            scores = " ".join(f"{k} {v:.3f}" for k, v in event.metrics.items())
            print(f"epoch {event.epoch}/{event.epochs}  train loss {event.train_loss:.4f}  val loss "
                  f"{event.val_loss:.4f}  {scores}{'  (best)' if event.is_best else ''}  eta {event.eta_s:.0f}s")
        elif isinstance(event, TrainedModel):
            card = save_model(event.model, event.card, Path(args.out) if args.out else user_models_dir())
            print(f"saved {card.id} (best epoch {card.training['best_epoch']}, {event.fit.status}) to {card.path}")
            print("validation metrics:")
            _print_metrics(card.metrics["validation"], card.labels)
    return 0


def _infer_task(args, store) -> str | None:
    from .core.tasks import TASKS

    if args.task:
        return args.task
    stem = Path(args.data).name.lower()
    matches = [t for t in TASKS if t in stem]
    return matches[0] if len(matches) == 1 else None


def cmd_evaluate(args) -> int:
    import torch

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
    head = f"| model | family | params | " + " | ".join(HEADLINE) + " | ECE | img/s |"
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
    p.add_argument("--save-as", required=True, metavar="NAME", help="ID of the new model")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="metrics with CIs, calibration and a family comparison")
    p.add_argument("--model", default="all", help="model ID, comma-separated IDs or 'all' (one task)")
    p.add_argument("--data", required=True)
    p.add_argument("--split", default="val", help="npz split: val (default) or test")
    p.add_argument("--task", help="task of the data (inferred from the file name when possible)")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for the CIs")
    p.add_argument("--device", default="auto")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_evaluate)
