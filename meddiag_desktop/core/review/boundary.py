"""The review queue's default rule ("boundary"): picks spread along the clinic's own decision boundary.

Why not the card's threshold: under another scanner (gamma, contrast, noise) a model ranks the images
almost as well as at home, but its calibrated probabilities and so its threshold move: on the shifted
validation images of ``benchmarks/active_learning.py`` the card's threshold calls 172 of 389 pneumonia
images normal, and the images "uncertain" at it are nearly all pneumonia - a label set short of the
minority class, which costs AUC after fine-tuning (``benchmarks/review_rule_selection.py``).

The rule, for a task with binary models (a positive label and a threshold on their cards):

1. The candidates (the images not in the random share, read by the task's models, not refused by all)
   are ordered by their mean calibrated P(positive) over the binary models that accepted them.
2. The boundary is placed where the cards' validation data put it: at the share of negative images in
   it (mean over the cards that state one; 26 % for the shipped pneumonia models), else at the share the
   thresholds call negative here. The band is the ranks within ``BAND_HALF_WIDTH`` (15 %) of the images
   on either side of that place, widened evenly while it holds fewer images than there are places.
3. The band is cut into as many strata of consecutive ranks as there are places; from each stratum one
   image, drawn with the queue's seed, avoiding a near-duplicate of an image already picked where the
   stratum allows (the diversity step: penalty ``max(0, 1 - dist / delta)``, ``delta`` = half the median
   distance in the band). Strata are visited from the boundary outwards, and the picks are returned in
   that order (closest to the boundary first).
4. Images every family refused (and any that no binary model read) come last, by their ranking score,
   when the band cannot fill the places.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .features import FeatureSource
from .ranking import ImageScore, ModelRule

__all__ = ["BAND_HALF_WIDTH", "boundary_picks", "boundary_share", "positive_probability"]

BAND_HALF_WIDTH = 0.15


def _binary(rules: dict[str, ModelRule], image: ImageScore) -> list[str]:
    return [m for m in image.probabilities if rules[m].threshold is not None]


def positive_probability(image: ImageScore, rules: dict[str, ModelRule]) -> float | None:
    """Mean P(positive) over the binary models that accepted the image (all of them if none did)."""
    models = _binary(rules, image)
    accepted = [m for m in models if m not in image.refused_by] or models
    if not accepted:
        return None
    return float(np.mean([image.probabilities[m].get(rules[m].positive, 0.0) for m in accepted]))


def boundary_share(images: Sequence[ImageScore], rules: dict[str, ModelRule]) -> float:
    """Where the boundary lies, as the share of images below it (step 2 of the module docstring)."""
    models = {m for image in images for m in _binary(rules, image)}
    stated = [rules[m].negative_share for m in sorted(models) if rules[m].negative_share is not None]
    if stated:
        return float(np.mean(stated))
    calls = [image.probabilities[m].get(rules[m].positive, 0.0) < rules[m].threshold
             for image in images for m in _binary(rules, image)]
    return float(np.mean(calls)) if calls else 0.5


def _band(n: int, k: int, share: float) -> range:
    lo = max(0, math.floor(n * (share - BAND_HALF_WIDTH)))
    hi = min(n, math.ceil(n * (share + BAND_HALF_WIDTH)))
    while hi - lo < k and (lo > 0 or hi < n):
        lo, hi = max(0, lo - 1), min(n, hi + 1)
    return range(lo, hi)


def _distances(items: Sequence[ImageScore], features: FeatureSource | None) -> tuple[np.ndarray, float]:
    """Pairwise feature distances (inf where a vector is missing) and ``delta``; delta 0: no penalty."""
    dist = np.full((len(items), len(items)), np.inf)
    if features is None or len(items) < 2:
        return dist, 0.0
    vectors = features([s.path for s in items])
    known = [i for i, s in enumerate(items) if s.path in vectors]
    if len(known) > 1:
        matrix = np.stack([vectors[items[i].path] for i in known])
        squared = np.sum(matrix ** 2, 1)
        dist[np.ix_(known, known)] = np.sqrt(np.maximum(squared[:, None] + squared[None, :] - 2 * matrix @ matrix.T, 0))
    finite = dist[np.triu_indices(len(items), 1)]
    finite = finite[np.isfinite(finite)]
    return dist, (0.5 * float(np.median(finite)) if finite.size else 0.0)


def boundary_picks(candidates: Sequence[ImageScore], k: int, rules: dict[str, ModelRule], *, seed: int = 0,
                   features: FeatureSource | None = None) -> list[ImageScore] | None:
    """``k`` of ``candidates`` by the boundary rule (module docstring), closest to the boundary first;
    None when the task has no binary model (the caller then ranks by score)."""
    if not any(_binary(rules, image) for image in candidates):
        return None
    p = {s.path: positive_probability(s, rules) for s in candidates}
    ordered = sorted((s for s in candidates if not s.refused and p[s.path] is not None), key=lambda s: (p[s.path], s.path))
    share = boundary_share(ordered, rules)
    band = _band(len(ordered), k, share)
    centre = share * len(ordered)
    items = [ordered[i] for i in band]
    dist, delta = _distances(items, features)
    strata = np.array_split(np.arange(len(items)), min(k, len(items))) if items else []
    strata = sorted(strata, key=lambda st: abs(band.start + float(np.mean(st)) + 0.5 - centre))
    rng = np.random.default_rng([seed, 1])
    nearest = np.full(len(items), np.inf)
    picked: list[int] = []
    for stratum in strata:
        order = rng.permutation(stratum)
        penalty = np.clip(1.0 - nearest[order] / delta, 0.0, None) if delta > 0 else np.zeros(len(order))
        choice = int(order[int(np.argmin(penalty))])  # the first of equals in the seeded order
        picked.append(choice)
        nearest = np.minimum(nearest, dist[choice])
    rest = sorted((s for s in candidates if s.refused or p[s.path] is None), key=lambda s: (-s.score, s.path))
    return ([items[i] for i in picked] + rest)[:k]
