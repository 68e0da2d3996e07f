"""The audited scan's own event record, torch-free so that the window can import it at once
(``Progress`` is ``core.jobs.Progress``, rows are ``core.scan.ScanResult``)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScanStarted:
    """Models loaded, audit log writable: the scan begins."""

    scan_id: str  # the audit trail's scan id
    models: tuple[str, ...]
    device: str
