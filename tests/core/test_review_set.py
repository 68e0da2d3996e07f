"""The review set (core.review.review_set): labels saved at once and atomically (a killed writer leaves
a valid file), undo, resume after a restart, a file changed since scanning is flagged, the exports and
the local accuracy estimate on the random share."""
from __future__ import annotations

import csv
import json
import os
import random
import signal
import time

import pytest

from meddiag_desktop.core.data import load_csv
from meddiag_desktop.core.paths import user_data_dir
from meddiag_desktop.core.review.ranking import ModelRule, ScanRow
from meddiag_desktop.core.review.review_set import (ReviewSet, ReviewSetError, default_review_set_path,
                                                     local_accuracy, model_decisions)
from meddiag_desktop.core.storage import sha256_file
from testkit import png_bytes

LABELS = ("normal", "abnormal")


@pytest.fixture
def images(tmp_path):
    paths = []
    for i in range(6):
        path = tmp_path / f"img{i}.png"
        path.write_bytes(png_bytes(seed=i))
        paths.append(str(path))
    return paths


def test_labels_are_on_disk_at_once_and_a_restart_resumes(images):
    review = ReviewSet(labels=LABELS)
    assert review.path == default_review_set_path() and review.path.is_relative_to(user_data_dir())
    review.label(images[0], "normal")
    review.skip(images[1])
    review.label(images[2], "abnormal", random=True)
    on_disk = json.loads(review.path.read_text())
    assert [r["label"] for r in on_disk["history"]] == ["normal", None, "abnormal"]
    assert set(on_disk["history"][0]) == {"path", "sha256", "label", "time", "random", "changed"}
    assert on_disk["history"][0]["sha256"] == sha256_file(images[0])

    restarted = ReviewSet()  # a new process: same default file
    assert restarted.labels == LABELS and restarted.next_unreviewed(images) == 3
    assert [r.label for r in restarted.labelled()] == ["normal", "abnormal"]
    with pytest.raises(ReviewSetError):
        restarted.label(images[3], "unknown")
    with pytest.raises(ReviewSetError):
        ReviewSet(labels=("a", "b"))  # another task's labels on this file


def test_undo_drops_the_last_action_and_saves(images, tmp_path):
    review = ReviewSet(tmp_path / "r.json", LABELS)
    review.label(images[0], "normal")
    review.label(images[0], "abnormal")  # changed mind: the last label counts
    assert review.current()[os.path.abspath(images[0])].label == "abnormal"
    assert review.undo().label == "abnormal"
    assert ReviewSet(tmp_path / "r.json").current()[os.path.abspath(images[0])].label == "normal"
    assert review.undo().label == "normal" and review.undo() is None
    assert ReviewSet(tmp_path / "r.json").next_unreviewed(images) == 0


def test_a_file_changed_since_scanning_is_flagged(images, tmp_path):
    scanned = sha256_file(images[0])
    review = ReviewSet(tmp_path / "r.json", LABELS)
    assert not review.label(images[0], "normal", expected_sha256=scanned).changed
    with open(images[1], "ab") as handle:
        handle.write(b"edited")  # replaced on disk after the scan
    record = review.label(images[1], "abnormal", expected_sha256=scanned)
    assert record.changed and [r.path for r in review.changed()] == [os.path.abspath(images[1])]


def test_exports_train_and_validation_csvs_that_load_as_training_data(images, tmp_path):
    review = ReviewSet(tmp_path / "r.json", LABELS)
    for i, path in enumerate(images):
        review.label(path, LABELS[i % 2], random=i >= 4)
    review.skip(images[3])  # relabelled as skipped: not exported
    assert review.export_training_csv(tmp_path / "train.csv") == 3
    assert review.export_validation_csv(tmp_path / "val.csv") == 2
    assert review.export_training_csv(tmp_path / "all.csv", include_random=True) == 5
    with open(tmp_path / "val.csv", newline="") as handle:
        assert list(csv.reader(handle))[0] == ["path", "label"]
    data = load_csv(tmp_path / "train.csv")
    assert data.label_names == ("abnormal", "normal") and len(data) == 3


def test_local_accuracy_on_the_random_share_with_a_bootstrap_ci(images, tmp_path):
    review = ReviewSet(tmp_path / "r.json", LABELS)
    rule = ModelRule("m", "t", LABELS, "abnormal", 0.5)
    rows = [ScanRow(p, "m", "ok", {"normal": 0.2, "abnormal": 0.8}, 0.5, True) for p in images[:5]]
    rows.append(ScanRow(images[5], "m", "ok", {"normal": 0.2, "abnormal": 0.8}, 2.0, False))  # refused
    for i, path in enumerate(images):
        review.label(path, "abnormal" if i < 3 else "normal", random=i != 0)
    estimate = local_accuracy(review, model_decisions(rows, rule), n_boot=200)
    assert (estimate.n, estimate.correct, estimate.refused) == (4, 2, 1)  # images 1-4; 5 refused; 0 not random
    assert estimate.accuracy == 0.5 and 0 <= estimate.ci_low <= 0.5 <= estimate.ci_high <= 1
    assert "2/4" in estimate.text()
    assert local_accuracy(ReviewSet(tmp_path / "empty.json"), {}).n == 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="kills forked children (POSIX)")
def test_a_writer_killed_at_any_moment_leaves_a_valid_review_set(images, tmp_path):
    path = tmp_path / "r.json"
    rng = random.Random(0)
    for attempt in range(12):
        before = len(ReviewSet(path).history) if path.exists() else 0
        pid = os.fork()
        if pid == 0:
            try:
                review = ReviewSet(path, LABELS)
                for i in range(200):
                    review.label(images[i % len(images)], LABELS[i % 2])
            finally:
                os._exit(0)
        time.sleep(rng.uniform(0.0, 0.05))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        if path.exists():
            review = ReviewSet(path)  # parses: never a torn file
            assert len(review.history) >= before and review.labels == LABELS
            assert all(r.label in LABELS for r in review.history)
        leftovers = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
        for leftover in leftovers:  # a kill mid-write may leave the temporary file, never a broken target
            leftover.unlink()
    assert path.exists()
