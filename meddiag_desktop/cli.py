"""`meddiag` command line: models, predict, train, evaluate, scan, anonymize.

Heavy modules (torch) are imported inside the commands so ``meddiag --help`` answers at once.
Every command prints the decision-support notice on stderr; machine-readable output goes to stdout.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence

from . import __version__

NOTICE = "Decision support only - not for diagnostic use."


class CliError(Exception):
    """A user-facing failure: printed as one line, exit status 2."""


def _print_json(obj) -> None:
    from .core.metrics import to_jsonable

    json.dump(to_jsonable(obj), sys.stdout, indent=2)
    sys.stdout.write("\n")


def _cards(spec: str, task: str | None):
    from .core.storage import ModelNotFoundError
    from .core.model_store import ModelStore

    try:
        return ModelStore().resolve(spec, task)
    except ModelNotFoundError as exc:
        raise CliError(str(exc)) from None


def _headline(card) -> str:
    parts = [f"{short} {m.value:.3f}" for k, short in (("accuracy", "ACC"), ("auc", "AUC"))
             if (m := card.metric(k)) is not None]
    return ("val " + " / ".join(parts)) if parts else "no metrics"


def cmd_models(args) -> int:
    """Every installed model (shipped and your versions); '*' marks the active version per family."""
    from .core.model_store import ModelStore

    store = ModelStore()
    cards = store.cards(args.task)
    if not cards:
        raise CliError("no models installed" + (f" for task {args.task!r}" if args.task else ""))
    active = {c.id for c in store.active_cards(args.task)}
    if args.json:
        _print_json([
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


def cmd_predict(args) -> int:
    from .core.device import DeviceError
    from .core.inference import predict_files
    from .core.jobs import last
    from .core.loading import load_predictors
    from .core.storage import ModelStorageError

    try:
        predictors = last(load_predictors(_cards(args.model, args.task), args.device)).predictors
    except (DeviceError, ModelStorageError) as exc:
        raise CliError(str(exc)) from None
    results = list(predict_files(args.files, predictors, batch_size=args.batch_size))
    if args.json:
        _print_json([r.to_dict() for r in results])
    else:
        demo = {p.card.id for p in predictors if p.card.demo}
        current = None
        for r in results:
            if r.path != current:
                current = r.path
                print(r.path.encode("utf-8", "backslashreplace").decode())  # non-UTF-8 names too
            if r.status == "error":
                print(f"  {r.model:<24} ERROR: {r.error}")
            else:
                probs = "  ".join(f"{k}={v:.3f}" for k, v in r.probabilities.items())
                tag = "  [DEMO model: not diagnostic]" if r.model in demo else ""
                if r.refused:
                    print(f"  {r.model:<24} OUTSIDE what this model was trained on (OOD score {r.ood_score:.2f} > 1): "
                          f"no label   ({probs}){tag}")
                else:
                    print(f"  {r.model:<24} {r.label:<14} p={r.probability:.3f}   ({probs}){tag}")
    ok_files = {r.path for r in results if r.status == "ok"}
    bad_files = {r.path for r in results if r.status == "error"}
    print(f"{len(ok_files)} file(s) predicted, {len(bad_files)} unreadable, {len(predictors)} model(s) on "
          f"{predictors[0].device.type}. {NOTICE}", file=sys.stderr)
    return 0 if ok_files else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="meddiag", description=f"MedDiag Desktop command line. {NOTICE}")
    parser.add_argument("--version", action="version", version=f"meddiag {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("models", help="list installed models")
    p.add_argument("--task", help="only models for this task")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("predict", help="predict image files (PNG, JPEG, TIFF, BMP, DICOM)")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--model", default="all", help="model ID, comma-separated IDs, or 'all' (default)")
    p.add_argument("--task", help="with --model all: only this task's models")
    p.add_argument("--device", default="auto", help="auto (default), cpu or cuda")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--json", action="store_true", help="print a JSON list of result records")
    p.set_defaults(func=cmd_predict)

    from .cli_train import add_train_commands

    add_train_commands(sub)
    from .cli_scan import add_scan_command
    add_scan_command(sub)
    from .cli_anonymize import add_anonymize_command
    add_anonymize_command(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CliError as exc:
        print(f"meddiag: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("meddiag: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    # Run the package's copy of this module, so cli_train / cli_scan / cli_anonymize share its CliError class.
    from meddiag_desktop.cli import main as package_main

    sys.exit(package_main())
