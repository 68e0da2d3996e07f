"""The one scan a front end runs: ``core.scan.scan`` with every row recorded in the audit trail.

``audited_scan`` checks that the audit log is writable *before* anything is scanned (``OSError``
at the call, not after a long scan), then returns the job: a ``core.scan_events.ScanStarted``, then the
scan's ``Progress`` and ``ScanResult`` events, each batch of rows appended to the audit log
(``core.audit``) when its ``Progress`` passes - and what is left when the stream ends, is
cancelled or closed. Close the generator when stopping early (``contextlib.closing``).
"""
from __future__ import annotations

import os
from contextlib import closing
from typing import Container, Iterable, Iterator, Sequence

from .audit import AuditLog, ScanAudit
from .inference import Predictor
from .jobs import CancelFlag, Progress
from .scan import DEFAULT_WORKERS, BatchRunner, ScanResult, scan
from .scan_events import ScanStarted

__all__ = ["audited_scan"]


def audited_scan(paths: Iterable[str | os.PathLike], predictors: Sequence[Predictor], *,
                 cancel: CancelFlag | None = None, batch_size: int = 32, workers: int | None = DEFAULT_WORKERS,
                 recursive: bool = True, audit: AuditLog | None = None, workers_kind: str = "auto",
                 exclude: Container[str] = (), runner: BatchRunner | None = None,
                 first_row: int = 1) -> Iterator[ScanStarted | Progress | ScanResult]:
    """``scan(paths, predictors, ...)`` recorded in ``audit`` (default: the user's audit log).

    ``first_row``: the CSV data row of the first result (a resumed scan continues its CSV).
    Raises ``OSError`` at once when the audit log cannot be written; see the module docstring."""
    if not predictors:
        raise ValueError("scan needs at least one predictor")
    log = audit if audit is not None else AuditLog()
    log.check_writable()
    events = scan(list(paths), predictors, cancel=cancel, batch_size=batch_size, workers=workers,
                  recursive=recursive, workers_kind=workers_kind, exclude=exclude, runner=runner)
    audit_scan = log.scan()
    audit_scan.rows = first_row - 1
    return _recorded(audit_scan, predictors, events)


def _recorded(audit: ScanAudit, predictors: Sequence[Predictor], events: Iterator) -> Iterator:
    yield ScanStarted(audit.scan_id, tuple(p.card.id for p in predictors), str(predictors[0].device))
    with closing(audit.track(events)) as tracked:
        yield from tracked
