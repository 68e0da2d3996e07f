"""`meddiag evaluate`: metrics with bootstrap CIs, calibration and a family comparison table."""
from __future__ import annotations

import time
from pathlib import Path

from .common import CliError, print_json, print_metrics, resolve_cards


def _infer_task(args, store) -> str | None:
    from ..core.tasks import TASKS

    if args.task:
        return args.task
    stem = Path(args.data).name.lower()
    matches = [t for t in TASKS if t in stem]
    return matches[0] if len(matches) == 1 else None


def cmd_evaluate(args) -> int:
    from ..core.data import DatasetError, open_dataset
    from ..core.device import DeviceError, resolve_device
    from ..core.pipeline import evaluate_model
    from ..core.model_store import ModelStore
    from ..core.storage import ModelStorageError, load_weights

    task = _infer_task(args, ModelStore()) if args.model == "all" else None
    if args.model == "all" and task is None:
        raise CliError("cannot tell which task this data belongs to; pass --task")
    cards = resolve_cards(args.model, task)
    try:
        device = resolve_device(args.device)
        data = open_dataset(args.data, args.split, cards[0].labels)
    except (DatasetError, DeviceError) as exc:
        raise CliError(str(exc)) from None
    rows = []
    for card in cards:
        try:
            model = load_weights(card, device)
        except ModelStorageError as exc:
            raise CliError(str(exc)) from None
        report = evaluate_model(model, card, data, n_boot=args.bootstrap, device=device)
        report["images_per_s"] = _throughput(model, card, device)
        report["params"] = sum(p.numel() for p in model.parameters())
        rows.append((card, report))
    if args.json:
        print_json([{"model": c.id, "family": c.config.arch, "task": c.task, "split": args.split,
                     "data": Path(args.data).name, **r} for c, r in rows])
        return 0
    for card, report in rows:
        print(f"{card.id} on {Path(args.data).name} [{args.split} split, n={report['n']}]")
        print_metrics(report, card.labels)
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
    from ..core.metric_ci import HEADLINE_METRICS, MetricCI, format_metric_ci

    head = "| model | family | params | " + " | ".join(HEADLINE_METRICS) + " | ECE | img/s |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for card, r in rows:
        cells = [format_metric_ci(MetricCI.from_dict(r[k])) for k in HEADLINE_METRICS]
        print(f"| {card.id} | {card.config.arch} | {r['params'] / 1e6:.2f} M | " + " | ".join(cells)
              + f" | {r['ece']:.3f} | {r['images_per_s']:.0f} |")


def register(subparsers) -> None:
    p = subparsers.add_parser("evaluate", help="metrics with CIs, calibration and a family comparison")
    p.add_argument("--model", default="all", help="model ID, comma-separated IDs or 'all' (one task)")
    p.add_argument("--data", required=True)
    p.add_argument("--split", default="val", help="npz split: val (default) or test")
    p.add_argument("--task", help="task of the data (inferred from the file name when possible)")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for the CIs")
    p.add_argument("--device", default="auto")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_evaluate)
