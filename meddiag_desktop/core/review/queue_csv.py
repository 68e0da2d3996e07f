"""The review queue as a CSV, for the window, for a clinician's spreadsheet and for outside tools.

Columns: ``rank,path,reason,score``, then ``<model>:p_<label>`` per model of the task (a binary card: its
positive label; otherwise every label), then ``refused_by`` (models that refused the image, ``;``-separated)
and ``sha256`` (the file as scanned, or as hashed when the queue was built). ``path`` is as in the scan
CSV. Written atomically; every cell neutralised against spreadsheet formulas (``core.csv_cells``).
Add a ``label`` column and the file is training data for ``meddiag train --data``.
"""
from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass

from ..atomic import atomic_write_bytes
from ..csv_cells import neutralize, safe_row
from .queue import ReviewQueue

__all__ = ["QueueEntry", "probability_columns", "queue_columns", "read_queue_csv", "write_queue_csv"]

BASE_COLUMNS = ("rank", "path", "reason", "score")


def probability_columns(queue: ReviewQueue) -> list[tuple[str, str, str]]:
    """(column, model, label) per probability column."""
    return [(f"{rule.model}:p_{label}", rule.model, label) for rule in queue.models for label in rule.columns]


def queue_columns(queue: ReviewQueue) -> list[str]:
    return [*BASE_COLUMNS, *(c for c, _, _ in probability_columns(queue)), "refused_by", "sha256"]


def write_queue_csv(queue: ReviewQueue, path: str | os.PathLike) -> None:
    columns = probability_columns(queue)
    numbers = ("rank", "score", *(c for c, _, _ in columns))
    header = queue_columns(queue)
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow([neutralize(c) for c in header])
    for item in queue.items:
        image = item.image
        row = {"rank": item.rank, "path": item.path, "reason": item.reason, "score": f"{image.score:.6f}",
               "refused_by": ";".join(image.refused_by), "sha256": image.sha256 or ""}
        for column, model, label in columns:
            p = image.probabilities.get(model, {}).get(label)
            row[column] = "" if p is None else f"{p:.6f}"
        safe = safe_row(row, numbers=numbers)
        writer.writerow([safe[c] for c in header])
    atomic_write_bytes(path, text.getvalue().encode("utf-8", "backslashreplace"))


@dataclass(frozen=True)
class QueueEntry:
    """One row of a queue CSV, as the review set needs it."""

    rank: int
    path: str
    reason: str
    sha256: str | None

    @property
    def random(self) -> bool:
        return self.reason == "random"


def read_queue_csv(path: str | os.PathLike) -> list[QueueEntry]:
    """The entries of a queue CSV, in rank order; ``ValueError`` if it is not one."""
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not {"rank", "path", "reason"} <= set(reader.fieldnames or ()):
            raise ValueError(f"{os.fspath(path)} is not a review queue (needs rank, path and reason columns)")
        entries = [QueueEntry(int(r["rank"]), r["path"], r["reason"], r.get("sha256") or None) for r in reader]
    return sorted(entries, key=lambda e: e.rank)
