"""The review window's background work as plain job functions for ``workers.Job`` (no Qt in here).

``read_queue`` opens a queue CSV (``meddiag review-queue``); ``build_review_queue`` builds the queue from
the scan window's in-memory rows (``core.review.queue.build_queue``) and keeps it as a CSV beside the
review set, so the review can be resumed after a restart. Both return a :class:`LoadedQueue`.
``file_changed`` compares a file's sha256 with the queue's; ``local_accuracies`` estimates each model's
accuracy on the review set's random share (``core.review.review_set.local_accuracy``) with the window's
models-lane session (``jobs.viewer.ModelSession``). Heavy modules are imported inside the functions.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from .models import make_store

DEFAULT_BUDGET = 100
DEFAULT_RANDOM_SHARE = 0.2


@dataclass(frozen=True)
class LoadedQueue:
    """A review queue ready for the window: its entries (rank order, absolute paths) and its task."""

    entries: tuple  # core.review.queue_csv.QueueEntry
    task: str | None  # the task of the queue's models; None when none of them is installed here
    source: str  # the queue CSV
    summary: tuple[str, ...] = ()  # how it was built (built from a scan only)


def queue_csv_path(task: str | None):
    """Where a queue built in the window is kept: beside the task's review set."""
    from meddiag_desktop.core.review.review_set import default_review_set_path

    return default_review_set_path(f"queue-{task or 'unknown'}").with_suffix(".csv")


def review_set_path(task: str | None):
    """The task's review set in the user data folder (one per task: its labels are the task's)."""
    from meddiag_desktop.core.review.review_set import default_review_set_path

    return default_review_set_path(f"review-set-{task}" if task else "review-set")


def _resolve(path: str, queue_dir: str) -> str:
    """A queue's ``path`` as a file here: relative paths next to the queue CSV when they exist there."""
    if os.path.isabs(path):
        return path
    beside = os.path.join(queue_dir, path)
    return os.path.abspath(beside if os.path.exists(beside) else path)


def _queue_task(path: str, store) -> str | None:
    """The task of the first model in the queue's ``<model>:p_<label>`` columns that is installed here."""
    import csv

    from meddiag_desktop.core.storage import ModelNotFoundError

    with open(path, newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle), [])
    for model in dict.fromkeys(c.split(":p_", 1)[0] for c in header if ":p_" in c):
        try:
            return store.find(model).task
        except ModelNotFoundError:
            continue
    return None


def read_queue(progress, cancel, path: str, store_spec) -> LoadedQueue:
    """The queue CSV ``path``; ``ValueError`` (a readable reason) when it is not one."""
    from dataclasses import replace

    from meddiag_desktop.core.review.queue_csv import read_queue_csv

    progress(0, None, "Reading the queue…")
    path = os.path.abspath(path)
    entries = read_queue_csv(path)
    if not entries:
        raise ValueError(f"{os.path.basename(path)} lists no images")
    queue_dir = os.path.dirname(path)
    entries = tuple(replace(e, path=_resolve(e.path, queue_dir)) for e in entries)
    return LoadedQueue(entries, _queue_task(path, make_store(store_spec)), path)


def _feature_source(rules, task: str, store):
    """The diversity step's vectors: penultimate features of the task's first model, else pixels."""
    from meddiag_desktop.core.review.features import ModelFeatures, PixelFeatures
    from meddiag_desktop.core.storage import ModelNotFoundError

    for rule in rules.values():
        if rule.task == task:
            try:
                return ModelFeatures(store.find(rule.model))
            except ModelNotFoundError:
                continue
    return PixelFeatures()


def build_review_queue(progress, cancel, rows: Sequence, budget: int, store_spec,
                       random_share: float = DEFAULT_RANDOM_SHARE, seed: int = 0) -> LoadedQueue:
    """The review queue of scan results ``rows`` (``core.scan.ScanResult``), written to ``queue_csv_path``;
    ``core.review.ranking.QueueError`` when no queue can be built from them."""
    from meddiag_desktop.core.review.queue import build_queue
    from meddiag_desktop.core.review.queue_csv import QueueEntry, write_queue_csv
    from meddiag_desktop.core.review.ranking import choose_task, model_rules, rows_from_results

    progress(0, None, "Ranking the scanned images…")
    store = make_store(store_spec)
    scan_rows = rows_from_results(rows)
    rules = model_rules(scan_rows, store)
    task = choose_task(scan_rows, rules)
    queue = build_queue(scan_rows, budget, random_share=random_share, seed=seed, task=task,
                        features=_feature_source(rules, task, store), rules=rules)
    out = queue_csv_path(task)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_queue_csv(queue, out)
    entries = tuple(QueueEntry(i.rank, os.path.abspath(i.path), i.reason, i.image.sha256) for i in queue.items)
    return LoadedQueue(entries, task, str(out), tuple(queue.summary.lines()))


def file_changed(progress, cancel, path: str, expected_sha256: str) -> bool | None:
    """Whether ``path`` differs from the file the queue was built on (None: it cannot be read)."""
    from meddiag_desktop.core.storage import sha256_file

    try:
        return sha256_file(path) != expected_sha256
    except OSError:
        return None


def local_accuracies(progress, cancel, session, review_path: str, card_ids: Sequence[str],
                     known: Mapping[tuple[str, str], Any], n_boot: int = 1000) -> dict:
    """card id -> ``LocalAccuracy`` on the random share of the review set at ``review_path``. ``known``:
    results already computed, by (absolute path, card id); the others are predicted here."""
    from meddiag_desktop.core.io import ImageLoadError, load_image
    from meddiag_desktop.core.review.ranking import ModelRule, rows_from_results
    from meddiag_desktop.core.review.review_set import ReviewSet, local_accuracy, model_decisions

    review = ReviewSet(review_path)
    records = review.labelled(True)
    results = []
    for i, record in enumerate(records):
        if cancel.is_set():
            return {}
        progress(i, len(records), "Estimating the local accuracy…")
        image = None
        for card_id in card_ids:
            result = known.get((record.path, card_id))
            if result is None:
                try:
                    image = load_image(record.path).array if image is None else image
                except (ImageLoadError, OSError):
                    break  # unreadable now: no decision, the estimate leaves it out
                predictor = session.predictor(card_id)
                result = predictor.result_at(record.path, predictor.score_arrays([image]), 0)
            results.append(result)
    rows = rows_from_results(results)
    return {card_id: local_accuracy(review, model_decisions(rows, ModelRule.from_card(session.cards[card_id])),
                                    n_boot=n_boot)
            for card_id in card_ids}
