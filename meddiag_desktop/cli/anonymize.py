"""`meddiag anonymize`: de-identified copies of DICOM files (``core.anonymize``) into one folder.

Folders are walked as ``meddiag scan`` walks them (recursive unless ``--no-recursive``). One line
per input: ``source -> copy``, or the reason it was skipped / failed; the others go on. The
source-to-copy mapping is printed only, never written next to the copies. Exit 0 when at least
one copy was written, 1 when none, 2 for a missing input or an unwritable folder, 130 on Ctrl-C.
"""
from __future__ import annotations

import os
import sys

from .common import CliError, printable


def cmd_anonymize(args) -> int:
    from ..core.anonymize import AnonymizeResult, anonymize_files
    from ..core.walk import iter_image_files

    for path in args.paths:
        if not os.path.exists(path):
            raise CliError(f"no such file or folder: {path}")
    try:
        os.makedirs(args.out, exist_ok=True)
    except OSError as exc:
        raise CliError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    if not os.path.isdir(args.out) or not os.access(args.out, os.W_OK):
        raise CliError(f"cannot write {args.out}: not a writable folder")
    files = list(iter_image_files(args.paths, recursive=not args.no_recursive))  # scan's walk
    counts = {"ok": 0, "skipped": 0, "error": 0}
    try:
        for r in anonymize_files(files, args.out):
            if not isinstance(r, AnonymizeResult):
                continue  # progress
            counts[r.status] += 1
            tail = os.path.basename(r.output) if r.status == "ok" else f"{r.status.upper()}: {r.error}"
            print(f"{printable(r.source)} -> {tail}")
    except KeyboardInterrupt:
        print(f"meddiag: interrupted after {sum(counts.values())} files", file=sys.stderr)
        return 130
    print(f"{counts['ok']} de-identified cop(ies) in {args.out}, {counts['skipped']} skipped, "
          f"{counts['error']} error(s). Text burned into the pixels is not removed: check before sharing.",
          file=sys.stderr)
    return 0 if counts["ok"] else 1


def register(subparsers) -> None:
    p = subparsers.add_parser("anonymize", help="write de-identified copies of DICOM files (PS3.15 basic profile)")
    p.add_argument("paths", nargs="+", metavar="PATH", help="DICOM files or folders (walked recursively)")
    p.add_argument("--out", required=True, help="folder for the copies (named by their new instance UID)")
    p.add_argument("--no-recursive", action="store_true", help="do not descend into sub-folders")
    p.set_defaults(func=cmd_anonymize)
