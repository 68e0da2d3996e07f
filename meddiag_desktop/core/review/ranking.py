"""How informative a label for one scanned image is: the per-image scores behind the review queue.

Input rows are one task's scan results (``read_scan_csv`` for a ``meddiag scan`` CSV, ``rows_from_results``
for in-memory ``ScanResult``s). Per image, over the task's models m that read it:

- uncertainty ``u`` = mean of ``u_m``; for a binary card with an operating threshold ``t`` on the
  calibrated P(positive) (its model card, through ``ModelStore``) ``u_m = 1 - |p - t| / (t if p < t else
  1 - t)``: 1 at the threshold, 0 at certainty; otherwise (no card, no threshold, several classes) the
  margin rule ``u_m = 1 - (top-1 - top-2)``. Models that refuse the image are left out unless all do.
- disagreement ``d`` = 0.5 if the families' decisions differ ("refused" counts as a decision), plus 0.5 x the
  mean pairwise total-variation distance of their probability vectors; 0 with a single family.
- near-OOD ``o`` = max over models of ``max(0, 1 - |r - 1| / NEAR_OOD_WIDTH)``, ``r`` = OOD score / the
  card's OOD threshold (> 1: refused): images at the edge of the training data, on either side.
- score = ``u + d + o``, rounded to 6 decimals (a CSV round trip ties the same way). An image that every
  family refuses scores ``o`` alone: its probabilities mean little, and one far outside (most likely not
  of this task at all) sinks to the end; it is never dropped and its reason is always "refused".
- reason: "refused", else the largest of ``d``, ``u``, ``o`` ("disagreement", "uncertain", "near-OOD", ties
  in that order).
"""
from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass, field
from itertools import combinations
from typing import Iterable, Sequence

__all__ = ["NEAR_OOD_WIDTH", "ImageScore", "ModelRule", "QueueError", "ScanRow", "choose_task", "model_rules",
           "read_scan_csv", "rows_from_results", "score_images"]

NEAR_OOD_WIDTH = 0.25
REFUSED = "refused"


class QueueError(ValueError):
    """Scan results a review queue cannot be built from; ``str(err)`` says why."""


@dataclass(frozen=True)
class ScanRow:
    """One (image, model) scan result: what ranking needs of a ``ScanResult`` or a scan CSV row."""

    path: str
    model: str
    status: str
    probabilities: dict[str, float] | None = None
    ood_score: float | None = None  # OOD score / the card's threshold
    in_distribution: bool | None = None
    sha256: str | None = None  # the file's sha256 at scan time, when known


def _float(text: str) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def read_scan_csv(path: str | os.PathLike) -> list[ScanRow]:
    """The rows of a ``meddiag scan`` CSV (``core.scan_csv`` layout); ``QueueError`` if it is not one."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = {"path", "status", "model"} - set(reader.fieldnames or ())
            if missing:
                raise QueueError(f"{os.fspath(path)} is not a meddiag scan CSV (no {', '.join(sorted(missing))} column)")
            prob_columns = [c for c in reader.fieldnames if c.startswith("p_")]
            rows = []
            for r in reader:
                probs = {c[2:]: p for c in prob_columns if (p := _float(r.get(c))) is not None}
                rows.append(ScanRow(r["path"], r["model"], r["status"], probs or None, _float(r.get("ood_score")),
                                    {"yes": True, "no": False}.get(r.get("in_distribution") or "")))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise QueueError(f"cannot read {os.fspath(path)}: {exc}") from None
    if not rows:
        raise QueueError(f"{os.fspath(path)} has no result rows")
    return rows


def rows_from_results(results: Iterable) -> list[ScanRow]:
    """``ScanRow``s of in-memory ``core.inference.Result`` / ``core.scan.ScanResult`` records."""
    return [ScanRow(r.path, r.model, r.status, r.probabilities, r.ood_score, r.in_distribution,
                    getattr(r, "file_sha256", None)) for r in results]


@dataclass(frozen=True)
class ModelRule:
    """A model's decision rule: labels, and for a binary card its positive label and threshold."""

    model: str
    task: str
    labels: tuple[str, ...]
    positive: str | None = None
    threshold: float | None = None
    negative_share: float | None = None  # share of the card's validation images that are not positive

    @classmethod
    def from_card(cls, card) -> "ModelRule":
        binary = len(card.labels) == 2 and card.threshold is not None and card.positive_label is not None
        return cls(card.id, card.task, tuple(card.labels), card.positive_label if binary else None,
                   float(card.threshold) if binary else None,
                   _negative_share(card, card.labels.index(card.positive_label)) if binary else None)

    @property
    def columns(self) -> tuple[str, ...]:
        """The labels whose probability the queue shows: the positive one of a binary card, else all."""
        return (self.positive,) if self.threshold is not None else self.labels

    def decision(self, probs: dict[str, float]) -> str:
        if self.threshold is not None:
            return self.positive if probs[self.positive] >= self.threshold else _other(self.labels, self.positive)
        return max(self.labels, key=lambda label: (probs.get(label, 0.0), -self.labels.index(label)))

    def uncertainty(self, probs: dict[str, float]) -> float:
        if self.threshold is not None:
            p, t = probs[self.positive], self.threshold
            side = t if p < t else 1.0 - t
            return 1.0 - min(1.0, abs(p - t) / side) if side > 0 else 0.0
        top = sorted((probs.get(label, 0.0) for label in self.labels), reverse=True) + [0.0]
        return 1.0 - (top[0] - top[1])


def _negative_share(card, positive: int) -> float | None:
    """From the confusion matrix (rows: true classes) of the card's validation metrics, if it has one."""
    matrix = ((card.metrics or {}).get("validation") or {}).get("confusion_matrix")
    try:
        per_class = [float(sum(row)) for row in matrix]
    except TypeError:
        return None
    total = sum(per_class)
    return (total - per_class[positive]) / total if len(per_class) == 2 and total > 0 else None


def _other(labels: Sequence[str], label: str) -> str:
    return labels[1 - labels.index(label)]


def model_rules(rows: Sequence[ScanRow], store=None) -> dict[str, ModelRule]:
    """Each model's rule from its card (``store``, default ``ModelStore()``); a model without a card
    gets the margin rule on the labels its rows show, and a task named after those labels."""
    if store is None:
        from ..model_store import ModelStore

        store = ModelStore()
    from ..storage import ModelNotFoundError

    seen: dict[str, list[str]] = {}
    for row in rows:
        labels = seen.setdefault(row.model, [])
        labels += [k for k in row.probabilities or () if k not in labels]
    rules = {}
    for model, labels in seen.items():
        try:
            rules[model] = ModelRule.from_card(store.find(model))
        except ModelNotFoundError:
            rules[model] = ModelRule(model, "labels " + ",".join(sorted(labels)), tuple(labels))
    return rules


def choose_task(rows: Sequence[ScanRow], rules: dict[str, ModelRule]) -> str:
    """The task the scanned images belong to, when a scan ran the models of several tasks: each image
    votes for the task whose models find it most typical (the lowest mean OOD score relative to their
    thresholds), the task with most votes wins, then the one accepting most (image, model) pairs, then
    the name. A task's detector may accept images of
    another modality (the breast models accept many chest X-rays), so counting accepted images alone
    could pick the wrong task; it breaks ties between votes. A model without an OOD detector counts
    as at its threshold (score 1)."""
    if not rows:
        raise QueueError("no scan results")
    scores: dict[str, dict[str, list[float]]] = {}
    accepted: dict[str, int] = {rule.task: 0 for rule in rules.values()}
    for row in rows:
        task = rules[row.model].task
        if row.status == "ok" and row.in_distribution is not False:
            accepted[task] += 1
        if row.status == "ok":  # a model without an OOD detector counts as at its threshold (1)
            scores.setdefault(row.path, {}).setdefault(task, []).append(
                1.0 if row.ood_score is None else row.ood_score)
    votes: dict[str, int] = {task: 0 for task in accepted}
    for by_task in scores.values():
        votes[min(by_task, key=lambda task: (sum(by_task[task]) / len(by_task[task]), task))] += 1
    return min(accepted, key=lambda task: (-votes[task], -accepted[task], task))


@dataclass(frozen=True)
class ImageScore:
    """One image's informativeness (see the module docstring)."""

    path: str
    score: float
    reason: str
    uncertainty: float
    disagreement: float
    near_ood: float
    refused: bool  # every family refused it
    refused_by: tuple[str, ...] = ()
    probabilities: dict[str, dict[str, float]] = field(default_factory=dict)  # model -> label -> p
    sha256: str | None = None


def _disagreement(rows: Sequence[ScanRow], decisions: Sequence[str]) -> float:
    if len(rows) < 2:
        return 0.0
    pairs = list(combinations(rows, 2))
    tv = sum(0.5 * sum(abs(a.probabilities.get(k, 0.0) - b.probabilities.get(k, 0.0))
                       for k in set(a.probabilities) | set(b.probabilities)) for a, b in pairs) / len(pairs)
    return 0.5 * (len(set(decisions)) > 1) + 0.5 * min(1.0, tv)


def _near_ood(rows: Sequence[ScanRow]) -> float:
    ratios = [r.ood_score for r in rows if r.ood_score is not None]
    return max((max(0.0, 1.0 - abs(r - 1.0) / NEAR_OOD_WIDTH) for r in ratios), default=0.0)


def _score_image(path: str, rows: Sequence[ScanRow], rules: dict[str, ModelRule]) -> ImageScore:
    refused_by = tuple(r.model for r in rows if r.in_distribution is False)
    accepted = [r for r in rows if r.in_distribution is not False]
    refused = not accepted
    decisions = [REFUSED if r.in_distribution is False else rules[r.model].decision(r.probabilities) for r in rows]
    u = sum(rules[r.model].uncertainty(r.probabilities) for r in accepted or rows) / len(accepted or rows)
    d, o = _disagreement(rows, decisions), _near_ood(rows)
    score = round(o if refused else u + d + o, 6)
    reason = REFUSED if refused else max((d, 2, "disagreement"), (u, 1, "uncertain"), (o, 0, "near-OOD"))[2]
    sha = next((r.sha256 for r in rows if r.sha256), None)
    return ImageScore(path, score, reason, round(u, 6), round(d, 6), round(o, 6), refused, refused_by,
                      {r.model: dict(r.probabilities) for r in rows}, sha)


def score_images(rows: Sequence[ScanRow], rules: dict[str, ModelRule], task: str) -> tuple[list[ImageScore], int]:
    """Scores of the ``task`` images read by at least one of its models, best first (score, then path),
    and how many images none of them could read."""
    by_path: dict[str, list[ScanRow]] = {}
    for row in rows:
        if rules[row.model].task == task:
            by_path.setdefault(row.path, []).append(row)
    scores, unreadable = [], 0
    for path, image_rows in by_path.items():
        read = [r for r in image_rows if r.status == "ok" and r.probabilities]
        if read:
            scores.append(_score_image(path, read, rules))
        else:
            unreadable += 1
    scores.sort(key=lambda s: (-s.score, s.path))
    return scores, unreadable
