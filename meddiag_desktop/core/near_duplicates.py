"""Near-duplicate images of a labelled set, dealt into one cross-validation fold together.

Medical image sets hold the same lesion or patient more than once: BreastMNIST's 624 train + val images
include 218 in 97 groups whose pixels correlate above 0.95 (the same ultrasound frame re-exported or
cropped a little differently); a clinic's folder holds follow-ups and copies. Dealt into different folds,
a fold model has trained on the twin of an image it is scored on: out of fold, the breast models scored
those images at AUC 0.99 and the others at 0.86-0.90, so the out-of-fold figures, the calibration and the
thresholds fitted on them described memory as much as new patients. ``grouped_stratified_folds`` keeps
each group in one fold, still stratified by class.

Similarity is the Pearson correlation of the images' pixels at 28 x 28 (larger inputs are area-averaged
to it first, so one threshold serves every input size); a group is every image linked to another by a
chain of pairs above ``THRESHOLD``. Images without any variation join only exact copies of themselves.
"""
from __future__ import annotations

import numpy as np
import torch

THRESHOLD = 0.95  # BreastMNIST pairs at 0.94-0.96 are still visibly the same lesion
SIDE = 28
METHOD = f"near-duplicates (pixel correlation > {{threshold}} at {SIDE} x {SIDE}) kept in one fold"
_BLOCK = 1024


def _comparable_pixels(images) -> np.ndarray:
    """(N, ...) images as (N, <= 28 * 28) float64 rows: channels averaged, larger sides area-averaged."""
    x = torch.as_tensor(np.asarray(images, dtype=np.float32))
    if x.ndim == 2:
        x = x[:, None, None, :]
    elif x.ndim == 3:
        x = x[:, None]
    elif x.ndim > 4:
        x = x.reshape(len(x), -1, *x.shape[-2:])
    x = x.mean(dim=1, keepdim=True)
    if x.shape[-1] > SIDE or x.shape[-2] > SIDE:
        x = torch.nn.functional.adaptive_avg_pool2d(x, (min(SIDE, x.shape[-2]), min(SIDE, x.shape[-1])))
    return x.reshape(len(x), -1).double().numpy()


def _root(parent: np.ndarray, i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def near_duplicate_groups(images, threshold: float = THRESHOLD) -> np.ndarray:
    """The group (0 .. G-1, numbered in order of first member) of every image: images linked by a chain
    of pairs whose pixel correlation exceeds ``threshold`` share one; an image without a twin is alone."""
    x = _comparable_pixels(images)
    n = len(x)
    parent = np.arange(n)
    means = x.mean(axis=1)
    x -= means[:, None]
    norms = np.linalg.norm(x, axis=1)
    flat = norms <= 1e-9 * np.sqrt(x.shape[1])
    pairs = []
    varied = np.flatnonzero(~flat)
    unit = x[varied] / norms[varied, None]
    for start in range(0, len(varied), _BLOCK):
        similar = unit[start:start + _BLOCK] @ unit[start:].T > threshold
        rows, cols = np.nonzero(similar)  # row r, column c: varied[start + r], varied[start + c]
        keep = cols > rows
        pairs.append(np.column_stack([varied[start + rows[keep]], varied[start + cols[keep]]]))
    if flat.any():  # a flat image: its twins are exact copies (the same constant)
        leader: dict[float, int] = {}
        for image in np.flatnonzero(flat):
            pairs.append(np.array([[leader.setdefault(float(means[image]), image), image]]))
    for i, j in np.concatenate(pairs) if pairs else ():
        ri, rj = _root(parent, int(i)), _root(parent, int(j))
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    roots = np.array([_root(parent, i) for i in range(n)], dtype=np.int64)
    _, groups = np.unique(roots, return_inverse=True)  # roots are each group's first member: numbered in order
    return groups.astype(np.int64)


def grouped_stratified_folds(labels, groups, folds: int, seed: int = 0) -> np.ndarray:
    """The fold of every image with each group whole in one fold: groups in a seeded order, largest
    first, each to the fold whose share of the group's classes is smallest (then the smaller fold, then
    the lower index). Without groups every class is dealt evenly, fold sizes differing by at most one.
    Raises ``ValueError`` when some fold would lack a class (too few groups of it) or a group holds more
    than half a fold's share of the images (the folds could not be balanced: images too alike to group)."""
    labels, groups = np.asarray(labels), np.asarray(groups, dtype=np.int64)
    if folds < 2 or len(labels) < folds:
        raise ValueError(f"cannot make {folds} folds of {len(labels)} images")
    largest = int(np.bincount(groups).max())
    if largest > len(labels) / folds / 2:
        raise ValueError(f"a group of {largest} near-duplicates is too large for {folds} balanced folds "
                         f"of {len(labels)} images")
    classes, class_index = np.unique(labels, return_inverse=True)
    counts = np.zeros((groups.max() + 1, len(classes)), dtype=np.int64)
    np.add.at(counts, (groups, class_index), 1)
    order = np.random.default_rng(seed).permutation(len(counts))
    order = order[np.argsort(-counts[order].sum(axis=1), kind="stable")]
    fill, totals = np.zeros((folds, len(classes)), dtype=np.int64), counts.sum(axis=0)
    group_fold = np.empty(len(counts), dtype=np.int64)
    for group in order:
        share = (fill * counts[group] / totals).sum(axis=1)
        fold = np.lexsort((np.arange(folds), fill.sum(axis=1), share))[0]
        group_fold[group] = fold
        fill[fold] += counts[group]
    missing = [(f, c) for f in range(folds) for c in range(len(classes)) if fill[f, c] == 0]
    if missing:
        f, c = missing[0]
        raise ValueError(f"fold {f + 1} would hold no image of class {classes[c]!r}: too few separate groups")
    return group_fold[groups]


def describe_groups(groups: np.ndarray, threshold: float = THRESHOLD) -> dict:
    """What a card says of the grouping: the method and how many images had twins."""
    sizes = np.bincount(groups)
    return {"method": METHOD.format(threshold=threshold), "threshold": threshold,
            "images_in_groups": int(sizes[sizes > 1].sum()), "groups": int((sizes > 1).sum()),
            "largest_group": int(sizes.max()) if len(sizes) else 0}


def grouping_text(grouping: dict) -> str:
    """One line on how a cross-validation dealt near-duplicates (a card's ``near_duplicates`` record)."""
    found = f"{grouping['images_in_groups']} images in {grouping['groups']} groups of near-duplicates"
    if grouping.get("grouped"):
        return f"{found}, each group kept in one fold"
    return f"{found}; folds dealt without grouping ({grouping.get('reason', 'not possible')})"
