"""`meddiag predict`: image files through one or more models, as text or a JSON list of records.

Exit 0 when at least one file was predicted, 1 when none could be read, 2 for an unknown model or
device.
"""
from __future__ import annotations

import sys

from . import dicom_out
from .common import NOTICE, CliError, print_json, printable, resolve_cards


def cmd_predict(args) -> int:
    from ..core.device import DeviceError
    from ..core.inference import predict_files
    from ..core.jobs import last
    from ..core.loading import load_predictors
    from ..core.storage import ModelStorageError

    try:
        predictors = last(load_predictors(resolve_cards(args.model, args.task), args.device)).predictors
    except (DeviceError, ModelStorageError) as exc:
        raise CliError(str(exc)) from None
    results = list(predict_files(args.files, predictors, batch_size=args.batch_size))
    dicom_out.write_predictions(args.dicom_out, results, predictors)
    if args.json:
        print_json([r.to_dict() for r in results])
    else:
        demo = {p.card.id for p in predictors if p.card.demo}
        current = None
        for r in results:
            if r.path != current:
                current = r.path
                print(printable(r.path))  # non-UTF-8 names too
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


def register(subparsers) -> None:
    p = subparsers.add_parser("predict", help="predict image files (PNG, JPEG, TIFF, BMP, DICOM)")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--model", default="all", help="model ID, comma-separated IDs, or 'all' (default)")
    p.add_argument("--task", help="with --model all: only this task's models")
    p.add_argument("--device", default="auto", help="auto (default), cpu or cuda")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--json", action="store_true", help="print a JSON list of result records")
    dicom_out.add_argument(p)
    p.set_defaults(func=cmd_predict)
