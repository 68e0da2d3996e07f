"""`meddiag` command line: models, predict, train, versions, evaluate, scan, review-queue, anonymize, listen, watch.

One module per command, each with ``register(subparsers)``; what they share is in ``common``.
Heavy modules (torch) are imported inside the commands so ``meddiag --help`` answers at once.
Every command prints the decision-support notice on stderr; machine-readable output goes to stdout.
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from .. import __version__
from . import anonymize, evaluate, listen, models, predict, review_queue, scan, train, versions, watch
from .common import NOTICE, CliError

__all__ = ["build_parser", "main"]

COMMANDS = (models, predict, train, versions, evaluate, scan, review_queue, anonymize, listen, watch)  # `meddiag --help` order


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="meddiag", description=f"MedDiag Desktop command line. {NOTICE}")
    parser.add_argument("--version", action="version", version=f"meddiag {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.register(sub)
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
