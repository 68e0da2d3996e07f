"""`meddiag review-queue` on real `meddiag scan` CSVs (the bundled samples with the shipped models, tiny
generated images with demo models), and `meddiag train --data` on the queue once labelled."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from meddiag_desktop.cli import main
from meddiag_desktop.core.paths import resource_path, user_models_dir
from meddiag_desktop.core.storage import sha256_file
from testkit import save_demo_models

REASONS = {"boundary", "uncertain", "disagreement", "near-OOD", "refused", "random"}


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return reader.fieldnames, list(reader)


def test_review_queue_of_the_bundled_samples(tmp_path, capsys):
    scan_csv, queue_csv = tmp_path / "results.csv", tmp_path / "queue.csv"
    assert main(["scan", str(resource_path("samples")), "--out", str(scan_csv)]) == 0
    # 4 chest X-rays and 2 breast ultrasounds, scanned by both tasks' models: the chest task is chosen
    # (each task's models refuse the other's images: README, "Trust and safety")
    assert main(["review-queue", str(scan_csv), "--budget", "4", "--out", str(queue_csv)]) == 0
    err = capsys.readouterr().err
    assert "task pneumonia" in err and "random share: 1 images (20% of the budget, seed 0)" in err
    assert "penultimate features of pneumonia-cnn" in err and "by the 'boundary' rule" in err
    header, rows = read_csv(queue_csv)
    assert header == ["rank", "path", "reason", "score", "pneumonia-cnn:p_pneumonia", "pneumonia-rnn:p_pneumonia",
                      "pneumonia-transformer:p_pneumonia", "refused_by", "sha256"]
    _, scanned = read_csv(scan_csv)
    assert [r["rank"] for r in rows] == ["1", "2", "3", "4"]
    assert {r["path"] for r in rows} <= {r["path"] for r in scanned}  # paths exactly as in the scan CSV
    assert {r["reason"] for r in rows} <= REASONS and sum(r["reason"] == "random" for r in rows) == 1
    for row in rows:
        assert row["sha256"] == sha256_file(row["path"])
        cnn = next(s for s in scanned if s["path"] == row["path"] and s["model"] == "pneumonia-cnn")
        assert row["pneumonia-cnn:p_pneumonia"] == cnn["p_pneumonia"]
        if row["reason"] == "refused":
            assert row["refused_by"].count(";") == 2
    again = tmp_path / "again.csv"
    assert main(["review-queue", str(scan_csv), "--budget", "4", "--out", str(again)]) == 0
    assert again.read_bytes() == queue_csv.read_bytes()  # deterministic
    by_score = tmp_path / "score.csv"
    assert main(["review-queue", str(scan_csv), "--budget", "4", "--rule", "score", "--out", str(by_score)]) == 0
    assert "by the 'score' rule" in capsys.readouterr().err and len(read_csv(by_score)[1]) == 4


def test_review_queue_errors(tmp_path, capsys):
    not_scan = tmp_path / "x.csv"
    not_scan.write_text("a,b\n1,2\n")
    assert main(["review-queue", str(not_scan), "--budget", "3", "--out", str(tmp_path / "q.csv")]) == 2
    assert main(["review-queue", str(tmp_path / "missing.csv"), "--budget", "3", "--out", str(tmp_path / "q.csv")]) == 2
    assert main(["review-queue", str(not_scan), "--budget", "0", "--out", str(tmp_path / "q.csv")]) == 2
    assert "not a meddiag scan CSV" in capsys.readouterr().err


@pytest.fixture
def clinic(tmp_path):
    """24 tiny images of two visibly different classes; truth in the file name."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "clinic"
    folder.mkdir()
    for i in range(24):
        image = rng.integers(0, 60, (28, 28)).astype(np.uint8)
        if i % 2:
            image[8:20, 8:20] += 150
        Image.fromarray(image).save(folder / f"{'abnormal' if i % 2 else 'normal'}_{i:02d}.png")
    return folder


def test_a_labelled_queue_trains_a_model(clinic, tmp_path, capsys):
    save_demo_models(user_models_dir(), archs=("cnn", "rnn"))
    scan_csv, queue_csv = tmp_path / "results.csv", tmp_path / "queue.csv"
    assert main(["scan", str(clinic), "--out", str(scan_csv), "--task", "demo"]) == 0
    assert main(["review-queue", str(scan_csv), "--budget", "16", "--random-share", "0.25", "--seed", "1",
                 "--out", str(queue_csv)]) == 0
    header, rows = read_csv(queue_csv)
    assert len(rows) == 16 and sum(r["reason"] == "random" for r in rows) == 4
    assert "demo-cnn:p_abnormal" in header or "demo-cnn:p_normal" in header
    # a reviewer (or an outside tool) adds its labels; the other columns stay
    labelled = tmp_path / "labelled.csv"
    with open(labelled, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*header, "label"])
        writer.writeheader()
        for row in rows:
            writer.writerow(dict(row, label=Path(row["path"]).name.split("_")[0]))
    capsys.readouterr()
    out = tmp_path / "models"
    assert main(["train", "--data", str(labelled), "--task", "demo", "--arch", "cnn", "--epochs", "1",
                 "--batch-size", "8", "--device", "cpu", "--bootstrap", "20", "--out", str(out),
                 "--save-as", "queue-cnn"]) == 0
    card = json.loads((out / "queue-cnn.json").read_text())
    assert card["config"]["labels"] == ["abnormal", "normal"]
    assert card["data"]["train"]["n"] + card["data"]["val"]["n"] == 16
