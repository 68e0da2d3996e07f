"""`meddiag scan`: every image under one or more folders, every selected model -> one CSV.

CSV: ``path,status,error,model,label,probability,in_distribution,ood_score`` then ``p_<label>`` per
class (the union of the selected models' labels, in model then label order; empty where a model
lacks the class); one row per (file, model), in scan order. ``in_distribution=no`` marks an image
outside what the model was trained on: its label is left empty.

The CSV goes to ``.<name>.partial`` next to ``--out``, flushed after every batch, so a crash
keeps what was done. When the scan ends it is renamed onto ``--out`` (atomic replace). On
Ctrl-C the rows done so far are renamed onto ``--out`` too, the command prints
"interrupted after N files" and exits 130. Exit 0 when the scan ran (error rows included),
2 for a missing folder, an unwritable output or audit log, an unknown model or device.
Every result is also appended to the audit trail (``core.audit``).

Engines: the local one decodes in threads or worker processes (``--workers N --workers-kind
auto|thread|process``, see ``core.scan_pool``); ``--engine ray [--address auto|HOST:PORT]`` runs
the same per-file code on a Ray cluster (``cli.ray_engine``, the ``[cluster]`` extra). Either way
this process is the only writer of the CSV and the audit log, and the CSVs are byte-identical.
``--resume`` keeps the complete rows of an earlier run of the same command (``--out`` or its
partial file after a kill) and scans only the files missing a row for some model.
"""
from __future__ import annotations

import csv
import os
import sys
import time
from contextlib import closing
from pathlib import Path

from ..core.scan_csv import csv_columns, csv_values  # the CSV layout shared with the window
from . import dicom_out
from .common import NOTICE, CliError, resolve_cards


def _partial_path(out: Path) -> Path:
    return out.with_name(f".{out.name}.partial")


def _open_output(out: Path):
    """Open the partial CSV now, so an unwritable target fails before any scanning."""
    if out.is_dir():
        raise CliError(f"cannot write {out}: it is a folder")
    partial = _partial_path(out)
    try:
        return partial, open(partial, "w", newline="", encoding="utf-8", errors="backslashreplace")
    except OSError as exc:
        raise CliError(f"cannot write {out}: {exc.strerror or exc}") from None


def _completed(out: Path, columns: list[str], predictors):
    """``--resume``: the complete rows an earlier run left (its partial file first, else ``--out``)."""
    from ..core.scan_csv import CompletedScan

    for source in (_partial_path(out), out):
        if source.is_file():
            try:
                return CompletedScan(source, columns, [p.card.id for p in predictors])
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                raise CliError(f"cannot resume from {source}: {getattr(exc, 'strerror', None) or exc}") from None
    return None


def _check_inputs(paths: list[str]) -> None:
    for path in paths:
        if not os.path.exists(path):
            raise CliError(f"no such file or folder: {path}")


def _may_decode_in_processes(args) -> bool:
    """Whether the local engine may pick worker processes (``auto``: judged from the walk's first files)."""
    if args.engine != "local" or args.workers_kind == "thread" or args.workers == 0:
        return False
    if args.workers_kind == "process":
        return True
    from itertools import islice

    from ..core.scan_pool import THREAD_DECODE_CORES, may_choose_processes, usable_cores
    from ..core.walk import iter_image_files

    cores = usable_cores()
    if not 2 <= cores <= THREAD_DECODE_CORES:  # the files' size does not matter here
        return cores >= 2
    try:
        return may_choose_processes(list(islice(iter_image_files(args.paths, not args.no_recursive), 16)), cores)
    except OSError:
        return True


def _load_predictors(args):
    from ..core.device import DeviceError
    from ..core.jobs import last
    from ..core.loading import load_predictors
    from ..core.storage import ModelStorageError

    try:
        return list(last(load_predictors(resolve_cards(args.model, args.task), args.device)).predictors)
    except (DeviceError, ModelStorageError) as exc:
        raise CliError(str(exc)) from None


def _runner(args):
    """The engine: None (the local one) or the Ray cluster's (imported only when asked for)."""
    if args.engine != "ray":
        return None
    from . import ray_engine

    return ray_engine.ray_runner(address=args.address, workers=args.workers)


def _start_scan(args, predictors, completed):
    """The audited scan; the audit log is checked now, before any output is opened."""
    from ..core.audit import AuditLog
    from ..core.audited_scan import audited_scan

    log = AuditLog()
    try:
        return audited_scan(args.paths, predictors, batch_size=args.batch_size, workers=args.workers,
                            workers_kind=args.workers_kind, recursive=not args.no_recursive, audit=log,
                            exclude=completed if completed is not None else (), runner=_runner(args),
                            first_row=1 + (len(completed.rows) if completed is not None else 0))
    except OSError as exc:
        raise CliError(f"cannot write the audit log {log.path}: {exc.strerror or exc}") from None


def _write_rows(events, handle, writer, columns):
    """Stream events into the CSV (flushed per batch) and a progress bar; returns the
    ScanStarted, the last Progress and whether Ctrl-C stopped it."""
    from tqdm import tqdm

    from ..core.jobs import Progress
    from ..core.scan_events import ScanStarted

    started, last, bar = None, None, None
    try:
        for event in events:
            if isinstance(event, ScanStarted):
                started = event
            elif isinstance(event, Progress):
                handle.flush()
                bar = bar or tqdm(total=event.total, unit="file", file=sys.stderr, desc="scan")
                bar.update(event.done - (last.done if last else 0))
                last = event
            else:
                writer.writerow(csv_values(event, columns))
    except KeyboardInterrupt:
        return started, last, True
    finally:
        if bar is not None:
            bar.close()
    return started, last, False


def _finish(handle, partial: Path, out: Path) -> None:
    handle.flush()
    os.fsync(handle.fileno())
    handle.close()
    os.replace(partial, out)


def cmd_scan(args) -> int:
    if args.batch_size < 1 or (args.workers is not None and args.workers < (1 if args.engine == "ray" else 0)):
        raise CliError("--batch-size must be at least 1 and --workers at least 0 (1 with --engine ray)")
    _check_inputs(args.paths)
    if args.engine == "local":
        from ..core.scan_pool import keep_freed_buffers

        keep_freed_buffers()  # this process decodes too (threads, or while the worker processes start)
    if _may_decode_in_processes(args):
        from ..core.scan_pool import prestart_processes

        prestart_processes()  # the scan may decode in processes: their server imports torch meanwhile
    predictors = _load_predictors(args)
    out = Path(args.out)
    columns = csv_columns([p.card for p in predictors])
    completed = _completed(out, columns, predictors) if args.resume else None
    events = _start_scan(args, predictors, completed)
    partial, handle = _open_output(out)  # everything that can be checked is checked: now scan

    writer = csv.writer(handle)
    writer.writerow(columns)
    writer.writerows(completed.rows if completed is not None else ())
    start = time.perf_counter()
    events = dicom_out.follow(args.dicom_out, events, predictors)  # the same events, DICOM results written
    try:
        with closing(events):
            started, last, interrupted = _write_rows(events, handle, writer, columns)
    except OSError as exc:  # disk full, audit log gone ...
        handle.close()
        raise CliError(f"scan stopped: {exc.strerror or exc}; rows so far are in {partial}") from None
    _finish(handle, partial, out)

    seconds = time.perf_counter() - start
    done, ok, errors, skipped = (last.done, last.ok, last.errors, last.skipped) if last else (0, 0, 0, 0)
    if interrupted:
        print(f"meddiag: interrupted after {done} files; their rows are in {out}", file=sys.stderr)
        return 130
    demo = "  [DEMO model(s): not diagnostic]" if any(p.card.demo for p in predictors) else ""
    print(f"scanned {done} files: {ok} ok, {errors} errors, {skipped} non-image skipped, {seconds:.1f} s, "
          f"{done / seconds if seconds > 0 else 0:.1f} files/s, {len(predictors)} model(s) -> {out} "
          f"(audit scan {started.scan_id}).{demo} {NOTICE}", file=sys.stderr)
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("scan", help="scan folders of images with one or more models into a CSV")
    p.add_argument("paths", nargs="+", metavar="PATH", help="folders (walked recursively) or files")
    p.add_argument("--out", required=True, help="CSV file to write (replaced at the end)")
    p.add_argument("--model", default="all", help="model ID, comma-separated IDs, or 'all' (default)")
    p.add_argument("--task", help="with --model all: only this task's models")
    p.add_argument("--no-recursive", action="store_true", help="do not descend into sub-folders")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--workers", type=int, default=None,
                   help="decoding threads (default 2; 0 = none) or processes (default: one per core); "
                        "with --engine ray: actors (default: the cluster's CPUs)")
    p.add_argument("--workers-kind", choices=("auto", "thread", "process"), default="auto",
                   help="decode in threads or worker processes (default auto: processes for large files)")
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="local (default) or ray: a Ray cluster (pip install 'meddiag-desktop[cluster]')")
    p.add_argument("--address", default=None,
                   help="with --engine ray: the cluster, auto or HOST:PORT (default: a local one-machine cluster)")
    p.add_argument("--resume", action="store_true",
                   help="keep the complete rows of an earlier run into --out and scan only what is missing")
    p.add_argument("--device", default="auto", help="auto (default), cpu or cuda")
    dicom_out.add_argument(p)
    p.set_defaults(func=cmd_scan)
