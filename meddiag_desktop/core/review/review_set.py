"""The review set: a clinician's labels of queued images, saved the moment each is given.

One JSON file (default ``<user data>/review/review-set.json``), rewritten atomically (``core.atomic``) on
every label, skip and undo: a crash or a kill leaves the state before or after, never a torn file::

    {"schema": 1, "labels": ["normal", "pneumonia"], "history": [
      {"path": "/abs/x.png", "sha256": "ab12…", "label": "pneumonia" | null (skipped),
       "time": "2025-01-31T09:12:03+00:00", "random": false, "changed": false}, ...]}

No patient data: no DICOM tag is read; the path (needed to train on the file) and the file's sha256 are
all that identify an image. The history keeps the order of the reviewer's actions: an image's current
label is its last record, ``undo`` drops the last record, ``next_unreviewed`` resumes a queue after a
restart. ``changed``: the file's sha256 when labelled differs from the one in the queue (the scan's): the
image was replaced since scanning, so the queue's probabilities are not about what was labelled.

Exports: ``export_training_csv`` (``path,label`` of the labelled images, the random share left out by
default) for ``meddiag train --data``, ``export_validation_csv`` (the random share's labels: an honest
validation set), and ``local_accuracy`` (a model's accuracy on the random share, with a bootstrap CI).
"""
from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..atomic import atomic_write_bytes, atomic_write_json
from ..csv_cells import safe_row
from ..metrics import bootstrap_ci
from ..paths import user_data_dir
from ..storage import sha256_file

__all__ = ["LocalAccuracy", "ReviewRecord", "ReviewSet", "ReviewSetError", "default_review_set_path",
           "local_accuracy", "model_decisions"]

SCHEMA = 1


class ReviewSetError(ValueError):
    """A review set file that cannot be used, or a label it cannot take."""


def default_review_set_path(name: str = "review-set") -> Path:
    return user_data_dir() / "review" / f"{name}.json"


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _sha256(path: str) -> str | None:
    try:
        return sha256_file(path)
    except OSError:
        return None


@dataclass(frozen=True)
class ReviewRecord:
    path: str  # absolute
    sha256: str | None  # the file when it was labelled (None: it could not be read)
    label: str | None  # None: skipped
    time: str
    random: bool  # from the queue's random share
    changed: bool  # sha256 differs from the queue's (the scan's)

    @property
    def skipped(self) -> bool:
        return self.label is None


class ReviewSet:
    """Labels of one review, on disk at ``path`` (loaded if it exists, created on the first label)."""

    def __init__(self, path: str | os.PathLike | None = None, labels: Sequence[str] = ()) -> None:
        self.path = Path(path) if path is not None else default_review_set_path()
        self.labels: tuple[str, ...] = tuple(labels)
        self.history: list[ReviewRecord] = []
        if self.path.exists():
            self._load(tuple(labels))

    def _load(self, labels: tuple[str, ...]) -> None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            history = [ReviewRecord(**record) for record in data["history"]]
            stored = tuple(data["labels"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ReviewSetError(f"cannot read the review set {self.path}: {exc}") from None
        if labels and stored and labels != stored:
            raise ReviewSetError(f"{self.path} labels {', '.join(stored)}, not {', '.join(labels)}")
        self.labels, self.history = stored or labels, history

    def _save(self) -> None:
        atomic_write_json(self.path, {"schema": SCHEMA, "labels": list(self.labels),
                                      "history": [asdict(r) for r in self.history]})

    def label(self, path: str, label: str | None, *, random: bool = False,
              expected_sha256: str | None = None) -> ReviewRecord:
        """Record ``label`` (None: skip) for the file ``path`` and save at once. ``expected_sha256``: the
        queue's hash of the file; a different file on disk now is flagged ``changed``."""
        if label is not None and self.labels and label not in self.labels:
            raise ReviewSetError(f"unknown label {label!r} (labels: {', '.join(self.labels)})")
        sha = _sha256(path)
        record = ReviewRecord(os.path.abspath(path), sha, label, _now(), bool(random),
                              expected_sha256 is not None and sha != expected_sha256)
        self.history.append(record)
        self._save()
        return record

    def skip(self, path: str, *, random: bool = False, expected_sha256: str | None = None) -> ReviewRecord:
        return self.label(path, None, random=random, expected_sha256=expected_sha256)

    def undo(self) -> ReviewRecord | None:
        """Drop the last action (saved at once); returns it, or None when there is nothing to undo."""
        if not self.history:
            return None
        record = self.history.pop()
        self._save()
        return record

    def current(self) -> dict[str, ReviewRecord]:
        """The last record per image (absolute path), in the order first reviewed."""
        out: dict[str, ReviewRecord] = {}
        for record in self.history:
            out[record.path] = record
        return out

    def next_unreviewed(self, paths: Sequence[str]) -> int | None:
        """Index of the first of ``paths`` (a queue, in rank order) not yet labelled or skipped."""
        done = self.current()
        return next((i for i, p in enumerate(paths) if os.path.abspath(p) not in done), None)

    def changed(self) -> list[ReviewRecord]:
        return [r for r in self.current().values() if r.changed]

    def labelled(self, random: bool | None = None) -> list[ReviewRecord]:
        """Current labels (not skipped), of the random share only (True), without it (False) or all (None)."""
        return [r for r in self.current().values() if not r.skipped and (random is None or r.random == random)]

    def export_training_csv(self, out: str | os.PathLike, include_random: bool = False) -> int:
        """``path,label`` of the labelled images (atomically); returns the row count."""
        return _write_labels(out, self.labelled(None if include_random else False))

    def export_validation_csv(self, out: str | os.PathLike) -> int:
        """``path,label`` of the random share's labels: a validation set the queue's choice did not bias."""
        return _write_labels(out, self.labelled(True))


def _write_labels(out: str | os.PathLike, records: Sequence[ReviewRecord]) -> int:
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=["path", "label"], lineterminator="\r\n")
    writer.writeheader()
    for record in records:
        writer.writerow(safe_row({"path": record.path, "label": record.label}))
    atomic_write_bytes(out, text.getvalue().encode("utf-8", "backslashreplace"))
    return len(records)


def model_decisions(rows, rule) -> dict[str, str | None]:
    """One model's decision per image (absolute path) from scan rows (``ranking.ScanRow``) and its
    ``ranking.ModelRule``; None where it refused the image or could not read it."""
    out = {}
    for row in rows:
        if row.model == rule.model:
            ok = row.status == "ok" and row.probabilities and row.in_distribution is not False
            out[os.path.abspath(row.path)] = rule.decision(row.probabilities) if ok else None
    return out


@dataclass(frozen=True)
class LocalAccuracy:
    """A model's accuracy on the random share: an unbiased estimate for this clinic's images."""

    n: int  # labelled random-share images the model gave a decision on
    correct: int
    refused: int  # labelled random-share images it refused (or could not read): not in n
    accuracy: float | None
    ci_low: float | None
    ci_high: float | None

    def text(self) -> str:
        if not self.n:
            return "no labelled random-share images yet"
        return (f"{100 * self.accuracy:.1f} % ({self.correct}/{self.n}; 95 % CI {100 * self.ci_low:.1f}-"
                f"{100 * self.ci_high:.1f} %), {self.refused} refused")


def local_accuracy(review_set: ReviewSet, decisions: Mapping[str, str | None], n_boot: int = 1000,
                   seed: int = 0) -> LocalAccuracy:
    """Accuracy of ``decisions`` (``model_decisions``) on the random share's labels, with a percentile
    bootstrap 95 % CI (``core.metrics.bootstrap_ci``). Images changed since scanning are left out."""
    records = [r for r in review_set.labelled(True) if not r.changed and r.path in decisions]
    judged = [r for r in records if decisions[r.path] is not None]
    hits = np.array([decisions[r.path] == r.label for r in judged], dtype=np.float64)
    if not hits.size:
        return LocalAccuracy(0, 0, len(records), None, None, None)
    low, high = bootstrap_ci(np.zeros(hits.size, dtype=np.int64), hits, lambda _y, h: float(h.mean()),
                             n_boot=n_boot, seed=seed, stratified=False)
    return LocalAccuracy(int(hits.size), int(hits.sum()), len(records) - len(judged), float(hits.mean()), low, high)
