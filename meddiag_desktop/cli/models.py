"""`meddiag models`: every installed model, its family, task, labels, headline metrics and checksum."""
from __future__ import annotations

from .common import CliError, print_json


def _headline(card) -> str:
    parts = [f"{short} {m.value:.3f}" for k, short in (("accuracy", "ACC"), ("auc", "AUC"))
             if (m := card.metric(k)) is not None]
    folds = (card.metrics.get("cross_validation") or {}).get("folds")
    return (("cv" if folds else "val") + f"{folds or ''} " + " / ".join(parts)) if parts else "no metrics"


def cmd_models(args) -> int:
    """Every installed model (shipped and your versions); '*' marks the active version per family."""
    from ..core.model_store import ModelStore

    store = ModelStore()
    cards = store.cards(args.task)
    if not cards:
        raise CliError("no models installed" + (f" for task {args.task!r}" if args.task else ""))
    active = {c.id for c in store.active_cards(args.task)}
    if args.json:
        print_json([
            {"id": c.id, "family": c.config.arch, "task": c.task, "labels": list(c.labels),
             "input_size": c.config.img_size, "in_chans": c.config.in_chans, "version": c.version,
             "active": c.id in active, "demo": c.demo, "metrics": c.metrics, "sha256": c.sha256,
             "source": str(c.path.parent)}
            for c in cards
        ])
        return 0
    print(f"  {'model':<26} {'family':<12} {'task':<10} {'labels':<28} {'input':<6} {'metrics':<28} sha256")
    for c in cards:
        flag = "  [DEMO: not trained for diagnosis]" if c.demo else ""
        print(f"{'*' if c.id in active else ' '} {c.id:<26} {c.config.arch:<12} {c.task:<10} "
              f"{', '.join(c.labels):<28} {c.config.img_size:<6} {_headline(c):<28} {c.sha256[:12]}{flag}")
    print("* = active version (used by predict, scan and the window)")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("models", help="list installed models")
    p.add_argument("--task", help="only models for this task")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_models)
