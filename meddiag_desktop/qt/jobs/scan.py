"""The scan window's background work as plain job functions for ``workers.Job`` (no Qt in here).

``run_scan`` is the GUI's ``meddiag scan``: the same core job as the CLI
(``core.audited_scan.audited_scan``), so every result the window shows is in
``user_data_dir()/audit.jsonl``. It loads its own predictors from the model
cards (a scan must not share the main window's models-lane predictors: explanations hook into
those models) and yields at a human rate: one :class:`ScanBatch` per core batch, never one event
per row.

Stopping: ``stop`` (the window's Cancel button) makes the core scan end before its next batch; the
job then *returns* normally, so every row already recorded in the audit trail also reaches the
table. ``cancel`` (the job's own event: window closed, application quitting) stops it too, and the
worker drops whatever is still on its way to the GUI.

torch, numpy and the core scan are imported inside the functions, i.e. in the worker thread.
"""
from __future__ import annotations

import csv
import io
import threading
from contextlib import closing
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

from meddiag_desktop.core.scan_events import ScanStarted  # torch-free

from .loading import predictors_for_job

DEFAULT_BATCH_SIZE = 32


# ----------------------------------------------------------------------------- event records
@dataclass(frozen=True)
class ScanBatch:
    """The rows (core ``ScanResult``, file then model order) finished since the last batch, and the
    core ``Progress`` that followed them (None only for a trailing rest, which core never leaves)."""

    rows: tuple
    progress: Any  # core.jobs.Progress | None


@dataclass(frozen=True)
class DicomWritten:
    """What the scan's "write DICOM results" option wrote: ``core.dicom_results`` outputs and
    their one-line summary (no source paths)."""

    outputs: tuple  # core.dicom_results.writer.DicomOutput
    summary: str


# ----------------------------------------------------------------------------- job functions
def run_scan(progress, cancel, stop: threading.Event, cards: Sequence, device: str, paths: Sequence[str],
             recursive: bool = True, batch_size: int = DEFAULT_BATCH_SIZE,
             workers: int | None = None, dicom_out: str | None = None) -> Iterator[ScanStarted | ScanBatch | DicomWritten]:
    """Scan ``paths`` with one predictor per card; returns the last core ``Progress`` (or None).
    ``dicom_out``: also write each DICOM file's results there as its rows pass (``meddiag scan
    --dicom-out``), then yield a ``DicomWritten``."""
    from meddiag_desktop.core.audited_scan import audited_scan
    from meddiag_desktop.core.jobs import Progress, any_of
    from meddiag_desktop.core.scan import DEFAULT_WORKERS

    either = any_of(stop, cancel)
    loaded = predictors_for_job(progress, either, cards, device)
    if loaded is None:
        return None  # stopped while loading
    events = audited_scan(paths, loaded.predictors, cancel=either, batch_size=batch_size,
                          workers=DEFAULT_WORKERS if workers is None else workers, recursive=recursive)
    writer = None
    if dicom_out:
        from meddiag_desktop.core.dicom_results.writer import DicomResultsWriter

        writer = DicomResultsWriter(loaded.predictors, dicom_out)
    rows: list = []
    last = None
    with closing(events):  # every row is in the audit trail, as with the CLI
        for event in writer.follow(events) if writer is not None else events:
            if isinstance(event, ScanStarted):
                yield event
            elif isinstance(event, Progress):
                last = event
                yield ScanBatch(tuple(rows), event)
                rows = []
            else:
                rows.append(event)
    if rows:
        yield ScanBatch(tuple(rows), None)
    if writer is not None:
        yield DicomWritten(tuple(writer.outputs), writer.summary())
    return last


def export_dicom(progress, cancel, cards: Sequence, device: str, rows: Sequence, out_dir: str):
    """``core.dicom_results`` for every scanned file (scan order): yields each file's outputs
    (a tuple of ``DicomOutput``); stops between files when ``cancel`` is set."""
    from meddiag_desktop.core.dicom_results.writer import write_dicom_results

    loaded = predictors_for_job(progress, cancel, cards, device)
    if loaded is None:
        return
    by_path: dict[str, list] = {}
    for row in rows:
        by_path.setdefault(row.path, []).append(row)
    for done, (path, results) in enumerate(by_path.items()):
        if cancel.is_set():
            return
        progress(done, len(by_path), f"DICOM results: {done} / {len(by_path)} files")
        yield tuple(write_dicom_results(path, results, loaded.predictors, out_dir))


def csv_functions():
    """(csv_columns, csv_row) of ``meddiag scan``: one CSV layout for the CLI and the window."""
    from meddiag_desktop.core.scan_csv import csv_columns, csv_row

    return csv_columns, csv_row


def export_csv(progress, cancel, path: str, cards: Sequence, rows: Sequence) -> int:
    """Write ``rows`` (scan order, as the audit's ``row`` numbers) as the CLI's CSV, atomically."""
    from meddiag_desktop.core.atomic import atomic_write_bytes

    csv_columns, csv_row = csv_functions()
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=csv_columns(cards), restval="")
    writer.writeheader()
    for i, result in enumerate(rows):
        if i % 5000 == 0:
            if cancel.is_set():
                return 0
            progress(i, len(rows), "Writing CSV…")
        writer.writerow(csv_row(result))
    atomic_write_bytes(path, buffer.getvalue().encode("utf-8", "backslashreplace"))
    return len(rows)


def anonymize(progress, cancel, paths: Sequence[str], out_dir: str):
    """``core.anonymize.anonymize_files``: its results are yielded, its ``Progress`` goes to ``progress``."""
    from meddiag_desktop.core.anonymize import anonymize_files
    from meddiag_desktop.core.jobs import Progress

    for event in anonymize_files(paths, out_dir, cancel=cancel):
        if isinstance(event, Progress):
            progress(event.done, event.total, event.text)
        else:
            yield event
