"""`meddiag watch FOLDER --out results.csv`: analyse every new image that appears in FOLDER
(``core.intake.watch``): watchdog events plus a periodic rescan (network shares), a file is taken
once its size is stable and it decodes. The folder itself is never modified: files are copied
into the intake store (``--store``, default ``<out>.intake`` beside the CSV), named by content
hash, so renames and duplicates are analysed once. Runs until Ctrl-C / SIGTERM, or with
``--once`` until what is there has been analysed.
"""
from __future__ import annotations

import sys
import threading
from pathlib import Path

from . import dicom_out
from .common import NOTICE, CliError
from .intake_run import add_model_arguments, destination, drive, make_engine, start_job, stop_on_sigterm


def cmd_watch(args) -> int:
    from ..core.intake.store import IntakeStore
    from ..core.intake.watch import FolderWatcher

    folder, out = Path(args.folder), Path(args.out)
    if not folder.is_dir():
        raise CliError(f"no such folder: {folder}")
    if out.is_dir():
        raise CliError(f"cannot write {out}: it is a folder")
    if args.settle <= 0 or args.rescan <= 0:
        raise CliError("--settle and --rescan must be positive")
    dest = destination(args)
    store_dir = Path(args.store) if args.store else out.with_name(out.stem + ".intake")
    try:
        store = IntakeStore(store_dir)
    except OSError as exc:
        raise CliError(f"cannot write {store_dir}: {exc.strerror or exc}") from None
    if dest is not None and not args.dicom_out:
        args.dicom_out = str(store_dir / "dicom")
    engine = make_engine(args, store, out, args.dicom_out, dest)
    try:
        watcher = FolderWatcher(folder, store, engine.submit, settle_s=args.settle, rescan_s=args.rescan,
                                give_up_s=max(30.0, 10 * args.settle))
    except ValueError as exc:
        raise CliError(str(exc)) from None
    cancel = threading.Event()
    events = start_job(engine, cancel, idle_exit_s=3 * args.settle + 2 if args.once else None)
    watcher.start()
    stop_on_sigterm(cancel)
    print(f"watching {folder}; results in {out}. {NOTICE}", file=sys.stderr, flush=True)
    try:
        return drive(events, cancel)
    finally:
        watcher.stop()


def register(subparsers) -> None:
    p = subparsers.add_parser("watch", help="analyse new images as they appear in a folder")
    p.add_argument("folder", metavar="FOLDER", help="the folder to watch (never modified)")
    p.add_argument("--out", required=True, help="results CSV (appended; the scan CSV's columns)")
    p.add_argument("--store", metavar="DIR", help="intake store for the copies (default: <out>.intake)")
    p.add_argument("--settle", type=float, default=1.0, help="seconds a file's size must stay the same (default 1)")
    p.add_argument("--rescan", type=float, default=30.0, help="seconds between full rescans (default 30)")
    p.add_argument("--once", action="store_true", help="analyse what is in the folder, then stop")
    dicom_out.add_argument(p)
    add_model_arguments(p)
    p.set_defaults(func=cmd_watch)
