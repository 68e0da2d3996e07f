"""Near-duplicate images stay in one cross-validation fold (issue 15: out-of-fold figures of new patients)."""
from __future__ import annotations

import numpy as np
import pytest

from meddiag_desktop.core.cross_validation import cross_validate, deal_folds, refit_out_of_fold, stratified_folds
from meddiag_desktop.core.data import load_npz
from meddiag_desktop.core.models import ModelConfig
from meddiag_desktop.core.near_duplicates import (
    THRESHOLD, describe_groups, grouped_stratified_folds, grouping_text, near_duplicate_groups,
)
from meddiag_desktop.core.storage import read_card, save_model
from meddiag_desktop.core.training import TrainConfig
from meddiag_desktop.core.training_events import CrossValidated, TrainedModel


def smooth_images(n, rng, side=28):
    """Ultrasound-like random textures: unrelated ones correlate far below the threshold."""
    coarse = rng.normal(size=(n, 7, 7))
    return np.kron(coarse, np.ones((side // 7, side // 7))) + rng.normal(scale=0.3, size=(n, side, side))


def twin_of(image, rng):
    """The same frame re-exported: a little noise, a brightness and contrast change."""
    return 1.3 * image + 20 + rng.normal(scale=0.1, size=image.shape)


def test_twins_chains_and_exact_copies_are_grouped_others_stay_alone():
    rng = np.random.default_rng(0)
    images = smooth_images(40, rng)
    images[5] = twin_of(images[2], rng)
    images[9] = twin_of(images[5], rng)  # a chain: 2 - 5 - 9
    images[30] = twin_of(images[31], rng)
    images[11] = np.full((28, 28), 7.0)
    images[12] = np.full((28, 28), 7.0)  # flat: only exact copies are twins
    images[13] = np.full((28, 28), 8.0)
    groups = near_duplicate_groups(images)
    assert groups[2] == groups[5] == groups[9] and groups[30] == groups[31] and groups[11] == groups[12]
    assert groups[13] != groups[11] and groups[0] != groups[1]
    assert len(np.unique(groups)) == 40 - 2 - 1 - 1
    assert np.all(np.diff(np.unique(groups, return_index=True)[1]) > 0)  # numbered in order of first member
    assert describe_groups(groups) == {"method": describe_groups(groups)["method"], "threshold": THRESHOLD,
                                       "images_in_groups": 7, "groups": 3, "largest_group": 3}
    # below the threshold: an image with much of it replaced is no twin
    other = images[0].copy()
    other[:, 14:] = smooth_images(1, rng)[0][:, 14:]
    assert near_duplicate_groups(np.stack([images[0], other])).tolist() == [0, 1]


def test_colour_and_large_inputs_are_compared_at_28_pixels():
    rng = np.random.default_rng(1)
    small = smooth_images(6, rng)
    large = np.kron(small, np.ones((4, 4)))  # 112 px
    large[3] = twin_of(large[1], rng)
    rgb = np.repeat(large[:, None], 3, axis=1)  # (N, 3, 112, 112), as model inputs
    assert near_duplicate_groups(rgb).tolist() == near_duplicate_groups(large).tolist() == [0, 1, 2, 1, 3, 4]


def test_grouped_folds_keep_groups_whole_and_classes_balanced():
    rng = np.random.default_rng(2)
    labels = np.array([0] * 168 + [1] * 456)  # breast's 624
    groups = np.arange(624)
    for start in range(0, 160, 4):  # 40 groups of two or three twins within a class
        groups[start + 1] = groups[start]
        if start % 8 == 0:
            groups[start + 2] = groups[start]
    groups = np.unique(groups, return_inverse=True)[1]
    ids = grouped_stratified_folds(labels, groups, 5, seed=0)
    assert all(len(set(ids[groups == g])) == 1 for g in np.unique(groups))
    for cls in (0, 1):
        per_fold = np.bincount(ids[labels == cls], minlength=5)
        assert per_fold.max() - per_fold.min() <= 2
    assert np.bincount(ids).max() - np.bincount(ids).min() <= 2
    assert np.array_equal(ids, grouped_stratified_folds(labels, groups, 5, seed=0))
    assert not np.array_equal(ids, grouped_stratified_folds(labels, groups, 5, seed=1))
    alone = grouped_stratified_folds(labels, np.arange(624), 5, seed=rng.integers(100))
    assert np.ptp(np.bincount(alone)) <= 1 and all(np.ptp(np.bincount(alone[labels == c])) <= 1 for c in (0, 1))


def test_a_class_in_fewer_groups_than_folds_is_refused_and_dealt_plainly():
    labels = np.array([0] * 6 + [1] * 20)
    groups = np.concatenate([[0, 0, 0, 1, 1, 1], np.arange(2, 22)])  # class 0: two groups only
    with pytest.raises(ValueError, match="no image of class"):
        grouped_stratified_folds(labels, groups, 3)
    with pytest.raises(ValueError, match="too large"):  # images too alike: one group would unbalance the folds
        grouped_stratified_folds(np.arange(40) % 2, np.concatenate([np.zeros(10, int), np.arange(1, 31)]), 3)
    images = np.zeros((26, 28, 28))
    images[:3], images[3:6] = 1.0, 2.0  # two flat triplets
    images[6:] = smooth_images(20, np.random.default_rng(3))
    ids, grouping = deal_folds(images, labels, 3, seed=0)
    assert grouping["grouped"] is False and "no image of class" in grouping["reason"]
    assert grouping_text(grouping).startswith("6 images in 2 groups of near-duplicates; folds dealt without grouping")
    assert np.array_equal(ids, stratified_folds(labels, 3, 0))


def test_grouping_removes_the_memory_a_nearest_neighbour_would_score():
    """Random labels cannot be learned; with twins split across folds, 1-nearest-neighbour "predicts"
    them from memory. Grouped folds leave it at chance - what the out-of-fold figures must measure."""
    rng = np.random.default_rng(4)
    originals = smooth_images(150, rng)
    images = np.concatenate([originals, [twin_of(im, rng) for im in originals]])
    labels = np.tile(rng.integers(0, 2, 150), 2)
    flat = images.reshape(300, -1)
    flat = (flat - flat.mean(1, keepdims=True)) / flat.std(1, keepdims=True)

    def nearest_neighbour_accuracy(fold_ids):
        right = 0
        for f in np.unique(fold_ids):
            held, rest = fold_ids == f, fold_ids != f
            nearest = np.argmax(flat[held] @ flat[rest].T, axis=1)
            right += int((labels[rest][nearest] == labels[held]).sum())
        return right / len(labels)

    plain = nearest_neighbour_accuracy(stratified_folds(labels, 5, 0))
    grouped = nearest_neighbour_accuracy(deal_folds(images, labels, 5, 0)[0])
    assert plain > 0.7 and abs(grouped - 0.5) < 0.1


TOY = ModelConfig(arch="cnn", task="toy", labels=("a", "b"), arch_kwargs={"widths": [4, 8, 8, 8]})


def twinned_sets(tiny_npz, tmp_path):
    """The tiny train and validation sets, ten validation images copies of training ones (train i, val i)."""
    data = dict(np.load(tiny_npz))
    data["val_images"][:10] = data["train_images"][:10]
    data["val_labels"][:10] = data["train_labels"][:10]
    path = tmp_path / "twins.npz"
    np.savez(path, **data)
    return load_npz(path, "train", TOY.labels), load_npz(path, "val", TOY.labels)


def test_cross_validation_deals_twins_into_one_fold_and_the_card_says_so(tiny_npz, tmp_path):
    train, val = twinned_sets(tiny_npz, tmp_path)
    events = list(cross_validate("toy-cnn", TOY, train, val, TrainConfig(epochs=1, batch_size=16, device="cpu"),
                                 3, n_boot=20))
    [validated] = [e for e in events if isinstance(e, CrossValidated)]
    [trained] = [e for e in events if isinstance(e, TrainedModel)]
    folds = validated.fold_ids
    assert all(folds[i] == folds[64 + i] for i in range(10))  # train image i and its copy, val image i
    grouping = validated.summary["near_duplicates"]
    assert grouping["grouped"] and grouping["images_in_groups"] >= 20 and grouping["groups"] >= 10
    assert trained.card.data["cross_validation"]["near_duplicates"] == grouping
    assert trained.card.training["cross_validation"]["out_of_fold"]["fold_ids"] == folds.tolist()


def test_twins_are_split_only_on_request_the_card_says_so_and_a_refit_deals_the_same_folds(tiny_npz, tmp_path):
    train, val = twinned_sets(tiny_npz, tmp_path)
    events = list(cross_validate("toy-cnn", TOY, train, val, TrainConfig(epochs=1, batch_size=16, device="cpu"),
                                 3, n_boot=20, keep_twins_together=False))
    [validated] = [e for e in events if isinstance(e, CrossValidated)]
    [trained] = [e for e in events if isinstance(e, TrainedModel)]
    assert validated.fold_ids.tolist() == stratified_folds(validated.labels, 3, 0).tolist()
    assert sum(validated.fold_ids[i] != validated.fold_ids[64 + i] for i in range(10)) > 0  # some twins split
    grouping = trained.card.data["cross_validation"]["near_duplicates"]
    assert grouping["split_on_request"] and not grouping["grouped"] and grouping["images_in_groups"] >= 20
    saved = save_model(trained.model, trained.card, tmp_path)
    refitted = refit_out_of_fold(trained.model, read_card(saved.path), train, val, n_boot=20)
    assert refitted.threshold == trained.card.threshold  # grouped folds would not match the stored fold ids
