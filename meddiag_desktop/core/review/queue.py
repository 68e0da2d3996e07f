"""The review queue: ``budget`` images in the order a clinician should label them.

``build_queue(rows, budget)`` (rows from ``ranking.read_scan_csv`` or ``ranking.rows_from_results``):

1. Random share: ``round(random_share x budget)`` images drawn uniformly, without replacement, from all
   readable images of the task (paths sorted, ``numpy.random.default_rng(seed)``): reason "random".
   Their labels are an unbiased sample of the clinic's images, for ``review_set.local_accuracy``.
2. The other places, by ``rule``:

   * ``"boundary"`` (the default): picks spread along the clinic's own decision boundary
     (``boundary.boundary_picks``: ranks of the families' mean P(positive) around the share of negatives
     of the cards' validation data, one per stratum, near-duplicates avoided), closest to the boundary
     first; reason "boundary" ("disagreement" when the families' decisions differ, "refused" when every
     family refused the image). A task without a binary model falls back to ``"score"``.
   * ``"score"``: the best ``ranking`` scores (uncertainty at the cards' thresholds + disagreement +
     near-OOD), then the diversity step: the best ``POOL_FACTOR x`` (places) candidates are re-picked
     greedily, each next pick maximising ``score - max(0, 1 - dist / delta)``, ``dist`` = distance to the
     nearest image picked so far, ``delta`` = half the median pairwise distance in that pool, on
     L2-normalised feature vectors (``features``: the model's penultimate features or 16 x 16 pixels).

   Why "boundary" is the default: on shifted clinic sets (``benchmarks/review_rule_selection.py``), the
   "score" rule's picks crowded one class (up to 91 % pneumonia) and fine-tuned no better than random
   labels; see the README's Review queue section for the figures.
3. The random images are spread evenly through the queue (every 5th place at 20 %), so a reviewer
   who stops early has labelled some of them too.

Unreadable images (no model of the task read them) cannot be reviewed: left out and counted.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from .boundary import boundary_picks
from .features import FeatureSource, PixelFeatures
from .ranking import ImageScore, ModelRule, QueueError, ScanRow, choose_task, model_rules, score_images

__all__ = ["DEFAULT_RANDOM_SHARE", "POOL_FACTOR", "RULES", "QueueItem", "QueueSummary", "ReviewQueue", "build_queue",
           "diversify"]

DEFAULT_RANDOM_SHARE = 0.2
POOL_FACTOR = 3
RANDOM = "random"
RULES = ("boundary", "score")


@dataclass(frozen=True)
class QueueItem:
    rank: int  # 1-based
    reason: str  # boundary | uncertain | disagreement | near-OOD | refused | random
    image: ImageScore

    @property
    def path(self) -> str:
        return self.image.path

    @property
    def random(self) -> bool:
        return self.reason == RANDOM


@dataclass(frozen=True)
class QueueSummary:
    task: str
    images: int  # readable images of the task
    unreadable: int
    refused: int  # images every family refused
    refused_in_queue: int
    random: int  # the random share's size
    random_share: float
    seed: int
    features: str  # what the diversity step measured distances on
    rule: str = "boundary"  # the rule that picked the other places (RULES)

    def lines(self) -> list[str]:
        return [f"task {self.task}: {self.images} readable images, {self.unreadable} unreadable (left out), "
                f"{self.refused} refused by every model ({self.refused_in_queue} of them in the queue, reason 'refused')",
                f"random share: {self.random} images ({self.random_share:.0%} of the budget, seed {self.seed}), "
                f"reason 'random'; the others by the {self.rule!r} rule; diversity on {self.features}"]


@dataclass(frozen=True)
class ReviewQueue:
    items: list[QueueItem]
    models: list[ModelRule]  # the task's models, in scan order
    summary: QueueSummary


def diversify(candidates: Sequence[ImageScore], k: int, features: FeatureSource | None) -> list[ImageScore]:
    """``k`` of ``candidates`` (sorted best first), near-duplicates pushed apart (module docstring, step 3)."""
    pool = list(candidates[:POOL_FACTOR * k])
    if features is None or k <= 1 or len(pool) <= 1:
        return pool[:k]
    vectors = features([c.path for c in pool])
    known = [i for i, c in enumerate(pool) if c.path in vectors]
    dist = np.full((len(pool), len(pool)), np.inf)
    if len(known) > 1:
        matrix = np.stack([vectors[pool[i].path] for i in known])
        squared = np.sum(matrix ** 2, 1)
        block = np.sqrt(np.maximum(squared[:, None] + squared[None, :] - 2 * matrix @ matrix.T, 0.0))
        dist[np.ix_(known, known)] = block
    finite = dist[np.triu_indices(len(pool), 1)]
    finite = finite[np.isfinite(finite)]
    delta = 0.5 * float(np.median(finite)) if finite.size else 0.0
    if delta <= 0:
        return pool[:k]
    scores = np.array([c.score for c in pool])
    nearest = np.full(len(pool), np.inf)
    picked: list[int] = []
    for _ in range(min(k, len(pool))):
        adjusted = scores - np.clip(1.0 - nearest / delta, 0.0, None)
        adjusted[picked] = -np.inf
        choice = int(np.argmax(adjusted))  # the first of equals: score, then path order
        picked.append(choice)
        nearest = np.minimum(nearest, dist[choice])
    return [pool[i] for i in picked]


def _random_places(total: int, n_random: int) -> set[int]:
    return {(j + 1) * total // n_random - 1 for j in range(n_random)} if n_random else set()


def build_queue(rows: Sequence[ScanRow], budget: int, *, random_share: float = DEFAULT_RANDOM_SHARE,
                seed: int = 0, task: str | None = None, features: FeatureSource | None = None,
                store=None, rules: dict[str, ModelRule] | None = None, diversity: bool = True,
                hash_files: bool = True, rule: str = "boundary") -> ReviewQueue:
    """The review queue of ``rows`` (see the module docstring).

    ``task``: default ``ranking.choose_task`` (the task most images belong to, by OOD scores). ``features``: default ``PixelFeatures()``;
    ``diversity=False`` skips the near-duplicate step. ``rule``: one of ``RULES``.
    ``store``: where model cards (thresholds) are looked up, default ``ModelStore()``; ``rules`` overrides
    it. ``hash_files``: fill in the sha256 of queued files the rows do not carry (a CSV has none)."""
    if budget < 1:
        raise QueueError("the budget must be at least 1")
    if not 0.0 <= random_share <= 1.0:
        raise QueueError("the random share must be between 0 and 1")
    if rule not in RULES:
        raise QueueError(f"unknown queue rule {rule!r} (rules: {', '.join(RULES)})")
    rules = rules if rules is not None else model_rules(rows, store)
    task = task or choose_task(rows, rules)
    models = [rules[m] for m in dict.fromkeys(r.model for r in rows) if rules[m].task == task]
    if not models:
        raise QueueError(f"no results of task {task!r} (tasks: {', '.join(sorted({r.task for r in rules.values()}))})")
    scores, unreadable = score_images(rows, rules, task)
    features = (features or PixelFeatures()) if diversity else None

    by_path = sorted(scores, key=lambda s: s.path)
    n_random = min(round(random_share * budget), len(by_path))
    drawn = np.random.default_rng(seed).choice(len(by_path), n_random, replace=False) if n_random else []
    randoms = [by_path[i] for i in drawn]
    taken = {s.path for s in randoms}
    rest = [s for s in scores if s.path not in taken]
    places_left = min(budget - n_random, len(rest))
    informative = boundary_picks(rest, places_left, rules, seed=seed, features=features) if rule == "boundary" else None
    if informative is None:
        rule, informative = "score", diversify(rest, places_left, features)

    total = len(randoms) + len(informative)
    places, randoms_left, informative_left = _random_places(total, len(randoms)), iter(randoms), iter(informative)
    items = []
    for index in range(total):
        image = next(randoms_left) if index in places else next(informative_left)
        reason = RANDOM if index in places else _boundary_reason(image) if rule == "boundary" else image.reason
        items.append(QueueItem(index + 1, reason, image))
    if hash_files:
        items = [_with_sha256(item) for item in items]
    summary = QueueSummary(task, len(scores), unreadable, sum(s.refused for s in scores),
                           sum(i.image.refused for i in items), len(randoms), random_share, seed,
                           features.name if features else "nothing (diversity step off)", rule)
    return ReviewQueue(items, models, summary)


def _boundary_reason(image: ImageScore) -> str:
    if image.refused:
        return "refused"
    return "disagreement" if image.disagreement >= 0.5 else "boundary"


def _with_sha256(item: QueueItem) -> QueueItem:
    if item.image.sha256:
        return item
    from ..storage import sha256_file

    try:
        sha = sha256_file(item.path)
    except OSError:
        return item
    return replace(item, image=replace(item.image, sha256=sha))
