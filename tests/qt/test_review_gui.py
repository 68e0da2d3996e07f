"""Review mode (qt/review_window.py): a reviewer labels a queue by key presses alone, with skip, undo,
resume after a restart, the changed-file flag, "Review uncertain cases" from the scan window and
"Fine-tune on reviewed cases" (the dialog pre-filled). Demo models, 28 x 28 PNGs, offscreen."""
from __future__ import annotations

import csv
import hashlib
import json

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from meddiag_desktop.qt.jobs.review import queue_csv_path, review_set_path

WAIT = 60_000
N = 20
KEYS = {"normal": Qt.Key.Key_1, "abnormal": Qt.Key.Key_2}


def make_images(folder, n: int = N) -> list[str]:
    folder.mkdir()
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        image = rng.integers(0, 255, (28, 28), dtype=np.uint8)
        image[8:20, 8:20] = 255 if i % 2 else image[8:20, 8:20]
        Image.fromarray(image).save(folder / f"img{i:02d}.png")
        paths.append(str(folder / f"img{i:02d}.png"))
    return paths


def truth(i: int) -> str:
    return "abnormal" if i % 2 else "normal"


@pytest.fixture
def images(tmp_path):
    return make_images(tmp_path / "clinic")


@pytest.fixture
def queue_csv(tmp_path, images):
    """A ``meddiag review-queue`` CSV of the 20 images (every 5th of the random share), paths relative."""
    path = tmp_path / "queue.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["rank", "path", "reason", "score", "demo-cnn:p_abnormal", "refused_by", "sha256"])
        for i, image in enumerate(images):
            sha = hashlib.sha256(open(image, "rb").read()).hexdigest()
            writer.writerow([i + 1, f"clinic/img{i:02d}.png", "random" if i % 5 == 4 else "uncertain",
                             f"{1 - i / 40:.6f}", "0.5", "", sha])
    return path


def activate(review, qtbot):
    """The keys are the window's shortcuts: they need it active (offscreen: activated by hand)."""
    review.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is review, timeout=5000)
    return review


def open_review(window, qtbot, queue_csv):
    review = window.child_windows.open_review("cpu")
    with qtbot.waitSignal(review.queueReady, timeout=WAIT):
        review.open_queue_csv(queue_csv)
    return activate(review, qtbot)


def history(task: str = "demo") -> list[dict]:
    return json.loads(review_set_path(task).read_text(encoding="utf-8"))["history"]


def test_a_reviewer_labels_20_images_by_key_presses_alone(window, qtbot, queue_csv, images, gui_guard):
    review = open_review(window, qtbot, queue_csv)
    assert review.progress_label.text() == f"0 / {N}"
    assert [a.text() for a in review.keys.label_actions] == ["1  normal", "2  abnormal"]  # names beside the keys
    assert review.index == 0 and review.session.current == images[0]
    for i in range(N):
        assert review.index == i
        assert f"#{i + 1} · " in review.item_label.text()
        with qtbot.waitSignal(review.reviewed, timeout=5000):
            qtbot.keyClick(review, KEYS[truth(i)])
        assert review.progress_label.text() == f"{i + 1} / {N}"
    records = history()
    assert [(r["path"], r["label"]) for r in records] == [(p, truth(i)) for i, p in enumerate(images)]
    assert [r["random"] for r in records] == [i % 5 == 4 for i in range(N)]
    assert not any(r["changed"] for r in records)
    assert set(records[0]) == {"path", "sha256", "label", "time", "random", "changed"}  # no patient data
    assert "every image of the queue is reviewed" in review.item_label.text()
    assert review.file_list.item(3).text() == "4. img03.png — abnormal"
    # the models ran on the images: probabilities on screen, the local accuracy from the random share
    qtbot.waitUntil(lambda: review.footer.accuracy_label.text().count("here ") == 3, timeout=WAIT)
    assert review.footer.accuracy_label.text().count("/4; 95 % CI") == 3  # the 4 random-share images
    assert review.panel.columns and all(c.result is not None for c in review.panel.columns.values())
    assert gui_guard() > 0


def test_skip_undo_and_arrows(window, qtbot, queue_csv, images):
    review = open_review(window, qtbot, queue_csv)
    qtbot.keyClick(review, Qt.Key.Key_1)  # image 0: normal
    qtbot.keyClick(review, Qt.Key.Key_S)  # image 1: skipped
    assert review.index == 2 and review.progress_label.text() == f"2 / {N}"
    assert review.file_list.item(1).text() == "2. img01.png — skipped"
    qtbot.keyClick(review, Qt.Key.Key_Z)  # undo the skip: back on image 1, unreviewed
    assert review.index == 1 and review.progress_label.text() == f"1 / {N}"
    assert "not reviewed yet" in review.item_label.text()
    qtbot.keyClick(review, Qt.Key.Key_2)
    assert [(r["path"], r["label"]) for r in history()] == [(images[0], "normal"), (images[1], "abnormal")]
    qtbot.keyClick(review, Qt.Key.Key_Left)
    qtbot.keyClick(review, Qt.Key.Key_Left)
    assert review.index == 0 and "labelled <b>normal</b>" in review.item_label.text()
    qtbot.keyClick(review, Qt.Key.Key_2)  # relabel image 0, then on to the first unreviewed one
    assert review.index == 2
    assert {r.path: r.label for r in review.review.current().values()} == {images[0]: "abnormal",
                                                                         images[1]: "abnormal"}
    qtbot.keyClick(review, Qt.Key.Key_Right)
    assert review.index == 3
    for _ in range(3):
        qtbot.keyClick(review, Qt.Key.Key_Z)
    qtbot.keyClick(review, Qt.Key.Key_Z)  # nothing left to undo: no error
    assert history() == [] and review.progress_label.text() == f"0 / {N}"


def test_a_restart_resumes_at_the_next_unlabelled_image(window, qtbot, queue_csv, images):
    review = open_review(window, qtbot, queue_csv)
    for i in range(7):
        qtbot.keyClick(review, KEYS[truth(i)])
    review.close()
    assert review.closed
    again = open_review(window, qtbot, queue_csv)  # a new window on the same review set
    assert again is not review
    assert again.index == 7 and again.session.current == images[7]
    assert again.progress_label.text() == f"7 / {N}"
    qtbot.keyClick(again, Qt.Key.Key_1)
    assert len(history()) == 8 and again.index == 8


def test_a_file_changed_since_the_scan_is_flagged(window, qtbot, queue_csv, images):
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(images[0])  # replaced after the queue was built
    review = open_review(window, qtbot, queue_csv)
    qtbot.waitUntil(lambda: review.changed_label.isVisible(), timeout=WAIT)
    assert review.file_list.item(0).text().endswith("⚠")
    qtbot.keyClick(review, Qt.Key.Key_1)
    assert history()[0]["changed"] is True
    assert not review.changed_label.isVisible()  # image 1 is as scanned
    qtbot.keyClick(review, Qt.Key.Key_Left)
    assert review.changed_label.isVisible()


def test_fine_tune_on_reviewed_cases_opens_the_dialog_prefilled(window, qtbot, queue_csv, images):
    review = open_review(window, qtbot, queue_csv)
    assert not review.footer.finetune_button.isEnabled()
    for i in range(N):
        qtbot.keyClick(review, KEYS[truth(i)])
    assert review.footer.finetune_button.isEnabled()
    with qtbot.waitSignal(review.fineTuneOpened, timeout=WAIT) as opened:
        qtbot.mouseClick(review.footer.finetune_button, Qt.MouseButton.LeftButton)
    dialog = opened.args[0]
    assert dialog is window.child_windows.finetune_dialog and dialog.isVisible()
    train, val = dialog.setup.data_path(), dialog.setup.val_data_path()
    assert train.endswith("review-set-demo-train.csv") and val.endswith("review-set-demo-validation.csv")
    with open(train, newline="", encoding="utf-8") as handle:
        assert [(r["path"], r["label"]) for r in csv.DictReader(handle)] == [
            (p, truth(i)) for i, p in enumerate(images) if i % 5 != 4]
    with open(val, newline="", encoding="utf-8") as handle:
        assert [(r["path"], r["label"]) for r in csv.DictReader(handle)] == [
            (p, truth(i)) for i, p in enumerate(images) if i % 5 == 4]
    qtbot.waitUntil(lambda: dialog.inspection is not None or dialog.inspect_error is not None, timeout=WAIT)
    assert dialog.inspect_error is None
    summary = dialog.inspection.summary
    assert sum(summary.train_counts.values()) == 16 and sum(summary.val_counts.values()) == 4
    assert summary.val_source == "separate validation data"
    assert dialog.setup.spec({}, 10).val_data == val


def test_review_uncertain_cases_from_the_scan_window(window, qtbot, images):
    scan_window = window.open_scan_window()
    launcher = scan_window.results.review_launcher
    assert not launcher.isEnabled()
    with qtbot.waitSignal(scan_window.scanFinished, timeout=WAIT):
        scan_window.start_scan([str(images[0]).rsplit("/", 1)[0]])
    assert launcher.isEnabled()
    launcher.budget_spin.setValue(10)
    launcher.button.click()
    review = window.child_windows.review_window
    qtbot.waitUntil(lambda: review.review is not None, timeout=WAIT)
    activate(review, qtbot)
    assert len(review.queue.entries) == 10 and review.progress_label.text() == "0 / 10"
    assert sum(e.random for e in review.queue.entries) == 2  # 20 % of the budget
    assert set(e.path for e in review.queue.entries) <= set(images)
    assert review.queue.source == str(queue_csv_path("demo")) and queue_csv_path("demo").is_file()
    qtbot.keyClick(review, Qt.Key.Key_2)
    assert history()[0]["path"] == review.queue.entries[0].path
