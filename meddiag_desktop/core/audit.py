"""Append-only audit trail of scans: ``user_data_dir()/audit.jsonl``, one JSON object per line.

One record per (file, model) result::

    {"time": "2025-01-31T09:12:03.123+00:00", "scan_id": "3f2c…", "row": 7,
     "file_sha256": "ab12…" | null, "model": "pneumonia-cnn", "model_sha256": "9e0f…",
     "status": "ok" | "error", "error": null | "truncated file", "label": "pneumonia",
     "probability": 0.91, "probabilities": {"normal": 0.09, "pneumonia": 0.91}, "app_version": "0.1.0"}

Privacy: no path is stored at all, not even the file name (folder and file names often carry
patient names or IDs). A record is tied to its input by the file's sha256 and to the scan's CSV
by ``row``: the 1-based data row of that scan's CSV (rows are written in the same order).
Error reasons come from ``core.io`` and are path-free; DICOM patient tags are never read.

Durability: each batch is appended with a single ``write()`` of complete lines on a file opened
with ``O_APPEND``, then fsync'd. A crash can leave a torn last line; the next append starts on a
fresh line and :func:`read_audit` skips lines that are incomplete or not JSON. While a scan is
tracked, a batch's fsync runs beside the next batch's work (at most one written batch is not yet
on disk; a killed process loses nothing written, a power cut at most that batch) and the last one
is waited for when the stream ends; an fsync error surfaces at the next batch or at the end.

Front ends stay on one code path: ``AuditLog().scan().track(scan(...))`` passes the scan's
events through and records each batch when its ``Progress`` event arrives, and what is left when
the stream ends, is cancelled, interrupted or closed: every result handed to a front end is in
the trail (a Ctrl-C between a row's hand-out and its CSV write can leave the audit one row ahead).
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import os
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from .. import __version__
from .inference import Result
from .atomic import append_complete_lines, sync_and_close
from .paths import user_data_dir
from .storage import sha256_file

__all__ = ["AUDIT_FILE", "AuditLog", "ScanAudit", "default_audit_path", "file_sha256", "iter_audit",
           "read_audit"]

AUDIT_FILE = "audit.jsonl"


def default_audit_path() -> Path:
    return user_data_dir() / AUDIT_FILE


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")


def _number(value: float | None) -> float | None:
    return value if value is None or math.isfinite(value) else None  # strict JSON: no NaN/inf


def file_sha256(path: str | os.PathLike) -> str | None:
    """The file's sha256, or None when it cannot be read."""
    try:
        return sha256_file(path)
    except OSError:
        return None


def _record(result: Result, scan_id: str, row: int, time: str) -> dict:
    # scan's ScanResult carries the hash (taken in its decode workers); a plain Result is hashed here
    file_sha = result.file_sha256 if hasattr(result, "file_sha256") else file_sha256(result.path)
    probs = result.probabilities
    return {
        "time": time, "scan_id": scan_id, "row": row, "file_sha256": file_sha,
        "model": result.model, "model_sha256": getattr(result, "model_sha256", None),
        "status": result.status, "error": result.error, "label": result.label,
        "probability": _number(result.probability),
        "probabilities": None if probs is None else {k: _number(float(v)) for k, v in probs.items()},
        "app_version": __version__,
    }


def _write(path: Path, data: bytes) -> int:
    """One write of complete lines (``atomic.append_complete_lines``); returns the open descriptor,
    for the caller to fsync and close."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return append_complete_lines(path, data, 0o600)


def _append(path: Path, data: bytes) -> None:
    """One write of complete lines with O_APPEND, then fsync; a torn last line is closed first."""
    sync_and_close(_write(path, data))


_encode = json.JSONEncoder(allow_nan=False).encode  # json.dumps(..., allow_nan=False) without a new encoder per row


class ScanAudit:
    """The audit of one scan: a scan id and a running row number."""

    def __init__(self, log: "AuditLog", scan_id: str | None = None) -> None:
        self.log = log
        self.scan_id = scan_id or uuid.uuid4().hex
        self.rows = 0
        self._syncing: Future | None = None  # the fsync of the batch written last by ``track``

    def _lines(self, results: Sequence[Result]) -> bytes:
        time, first = _now(), self.rows + 1
        self.rows += len(results)
        return "".join([_encode(_record(result, self.scan_id, row, time)) + "\n"
                        for row, result in enumerate(results, first)]).encode("utf-8")

    def record(self, results: Sequence[Result]) -> None:
        """Append one record per result (one write + fsync)."""
        if results:
            _append(self.log.path, self._lines(results))

    def _record_behind(self, results: Sequence[Result], syncer: ThreadPoolExecutor) -> None:
        """``record`` with the fsync left running beside the caller's next batch."""
        self._wait_synced()
        if results:
            self._syncing = syncer.submit(sync_and_close, _write(self.log.path, self._lines(results)))

    def _wait_synced(self) -> None:
        syncing, self._syncing = self._syncing, None
        if syncing is not None:
            syncing.result()  # re-raises the fsync's OSError

    def track(self, events: Iterable) -> Iterator:
        """Pass ``events`` through; record the ``Result`` rows at each other event and at the end."""
        pending: list[Result] = []
        syncer = ThreadPoolExecutor(1, thread_name_prefix="meddiag-audit-sync")
        try:
            for event in events:
                if isinstance(event, Result):
                    pending.append(event)  # every result handed out is recorded
                else:
                    self._record_behind(pending, syncer)
                    pending.clear()
                yield event
        finally:
            try:
                self._record_behind(pending, syncer)
                self._wait_synced()
            finally:
                syncer.shutdown(wait=True)


class AuditLog:
    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = Path(path) if path is not None else default_audit_path()

    def scan(self, scan_id: str | None = None) -> ScanAudit:
        return ScanAudit(self, scan_id)

    def check_writable(self) -> None:
        """Raise ``OSError`` now rather than after a long scan."""
        _append(self.path, b"")


def iter_audit(path: str | os.PathLike | None = None) -> Iterator[dict]:
    """Complete records, streamed; a torn (unterminated or invalid) line is skipped, never fatal."""
    path = Path(path) if path is not None else default_audit_path()
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        return
    with handle:
        for line in handle:
            if not line.endswith(b"\n"):
                continue  # the last line, cut off by a crash
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                yield record


def read_audit(path: str | os.PathLike | None = None) -> list[dict]:
    return list(iter_audit(path))
