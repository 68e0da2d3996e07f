"""`meddiag-desktop` / `python -m meddiag_desktop`: the desktop window.

    meddiag-desktop [FILE ...] [--device auto|cpu|cuda] [--task TASK]
    meddiag-desktop --self-test [--device ...] [--show]

Importing this module stays cheap: Qt is imported inside ``main`` and torch only in the worker.
"""
from __future__ import annotations

import os
import sys


def _parser():
    import argparse

    from . import __version__
    from .core.device import DEVICE_CHOICES, canonical_device  # torch-free

    parser = argparse.ArgumentParser(
        prog="meddiag-desktop",
        description="MedDiag Desktop: offline diagnostic assistant. Decision support only - not for diagnostic use.")
    parser.add_argument("files", nargs="*", metavar="FILE", help="images or folders to open")
    parser.add_argument("--device", type=canonical_device, choices=DEVICE_CHOICES,
                        help="where the models run: auto, cpu or cuda ('gpu' too; default: saved setting)")
    parser.add_argument("--task", help="diagnostic task to show, e.g. pneumonia or breast")
    parser.add_argument("--self-test", action="store_true",
                        help="run the bundled sample through the window and all models, then exit (0 = passed)")
    parser.add_argument("--show", action="store_true", help="with --self-test: show the window on screen")
    parser.add_argument("--version", action="version", version=f"meddiag-desktop {__version__}")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.self_test:
        if not args.show:
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from .qt.app import setup_logging
        from .qt.self_test import run_self_test

        setup_logging()
        return run_self_test(device=args.device or "auto", task=args.task)
    from .qt.app import run_app

    return run_app(args.files, device=args.device, task=args.task)


if __name__ == "__main__":
    import multiprocessing

    multiprocessing.freeze_support()  # a frozen app's scan worker processes start here
    sys.exit(main())
