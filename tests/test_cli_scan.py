"""`meddiag scan`: CSV layout, error rows, exit statuses, unwritable output, interrupted scans."""
from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest
import torch

from meddiag_desktop.cli import main
from meddiag_desktop.core.audit import read_audit
from meddiag_desktop.core.inference import Predictor
from meddiag_desktop.core.models import ModelConfig, create_model_from_config
from meddiag_desktop.core.paths import user_models_dir
from meddiag_desktop.core.storage import ModelCard, save_model

from testkit import make_scan_folder

HEADER = ["path", "status", "error", "model", "label", "probability", "in_distribution", "ood_score"]
GOOD = {"good.png", "ct.dcm", "ct_no_suffix", "good.jpg"}
BAD = {"empty.png": "empty file", "huge.png": "image too large", "text.png": "not an image",
       "truncated.png": "truncated"}


@pytest.fixture
def folder(tmp_path):
    """The scan test folder: 4 good, 4 bad, 2 skipped non-images, hidden files, a link loop."""
    return Path(make_scan_folder(tmp_path / "scan"))


@pytest.fixture
def demo_models():
    """Two untrained demo models in the user model folder; different label sets (CSV column union)."""
    ids = []
    for arch, labels in (("cnn", ("normal", "abnormal")), ("rnn", ("normal", "pneumonia", "other"))):
        torch.manual_seed(0)
        config = ModelConfig(arch=arch, task="demo", labels=labels)
        card = ModelCard(id=f"demo-{arch}", config=config, demo=True)
        save_model(create_model_from_config(config), card, user_models_dir())
        ids.append(card.id)
    return ids


def read_rows(path):
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return reader.fieldnames, list(reader)


def test_scan_writes_one_csv_row_per_file_and_model(folder, demo_models, tmp_path, capsys):
    out = tmp_path / "results.csv"
    code = main(["scan", str(folder), "--out", str(out), "--model", ",".join(demo_models), "--batch-size", "3"])
    err = capsys.readouterr().err
    assert code == 0, err
    header, rows = read_rows(out)
    assert header == HEADER + ["p_normal", "p_abnormal", "p_pneumonia", "p_other"]
    assert len(rows) == 8 * 2 and [r["model"] for r in rows] == demo_models * 8
    for row in rows:
        name = os.path.basename(row["path"])
        if name in BAD:
            assert row["status"] == "error" and BAD[name] in row["error"], row
            assert row["label"] == row["probability"] == row["p_normal"] == ""
        else:
            assert name in GOOD and row["status"] == "ok" and row["error"] == "", row
            assert float(row["probability"]) == pytest.approx(float(row[f"p_{row['label']}"]))
            absent = "p_pneumonia" if row["model"] == "demo-cnn" else "p_abnormal"
            assert row[absent] == ""  # a class the model does not have
    assert not list(tmp_path.glob(".results.csv*"))  # the partial file was renamed
    assert "scanned 8 files: 4 ok, 4 errors, 2 non-image skipped" in err
    assert "files/s" in err and "not for diagnostic use" in err


def test_no_recursive_and_one_model(folder, demo_models, tmp_path):
    out = tmp_path / "top.csv"
    assert main(["scan", str(folder), "--out", str(out), "--model", "demo-cnn", "--no-recursive",
                 "--workers", "0"]) == 0
    _, rows = read_rows(out)
    assert sorted(os.path.basename(r["path"]) for r in rows) == sorted(["good.png", "ct.dcm", *BAD])


def test_missing_folder_is_exit_2_with_a_message(demo_models, tmp_path, capsys):
    code = main(["scan", str(tmp_path / "nowhere"), "--out", str(tmp_path / "r.csv")])
    assert code == 2
    assert "no such file or folder" in capsys.readouterr().err
    assert not (tmp_path / "r.csv").exists()


def test_unwritable_output_fails_before_scanning(folder, demo_models, tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")  # tests run as root: a parent that is a regular file is never writable
    code = main(["scan", str(folder), "--out", str(blocker / "results.csv")])
    assert code == 2
    assert "cannot write" in capsys.readouterr().err
    assert read_audit() == []  # nothing was scanned


def test_interrupt_keeps_complete_rows_and_exits_130(folder, demo_models, tmp_path, monkeypatch, capsys):
    calls = {"n": 0}
    real = Predictor.scores

    # batches: [ct.dcm, empty.png], [good.png, huge.png], ...
    def interrupt_on_second_batch(self, batch, statistics=None):
        calls["n"] += 1
        if calls["n"] > len(demo_models):
            raise KeyboardInterrupt
        return real(self, batch, statistics)

    monkeypatch.setattr(Predictor, "scores", interrupt_on_second_batch)
    out = tmp_path / "partial.csv"
    code = main(["scan", str(folder), "--out", str(out), "--model", ",".join(demo_models), "--batch-size", "2"])
    assert code == 130
    assert "interrupted after 2 files" in capsys.readouterr().err
    header, rows = read_rows(out)
    assert header[:len(HEADER)] == HEADER
    assert len(rows) == 2 * len(demo_models)  # the first batch, complete rows only
    assert [os.path.basename(r["path"]) for r in rows] == ["ct.dcm"] * 2 + ["empty.png"] * 2
    assert all(None not in row and row["status"] in ("ok", "error") for row in rows)
    assert len(read_audit()) == len(rows)  # the audit trail matches the CSV
    assert not list(tmp_path.glob(".partial.csv*"))


def test_a_file_named_like_a_formula_is_a_safe_cell_that_still_names_the_file(demo_models, tmp_path, monkeypatch):
    """OWASP CSV injection: scanned by relative path, `=HYPERLINK("x").png` must not become a live formula."""
    from testkit import png_bytes

    folder = tmp_path / "evil"
    folder.mkdir()
    names = ['=HYPERLINK("x").png', "+1.png", "-2.png", "@SUM(A1).png"]
    for name in names:
        (folder / name).write_bytes(png_bytes())
    monkeypatch.chdir(folder)
    out = tmp_path / "evil.csv"
    assert main(["scan", ".", names[0], "--out", str(out), "--model", "demo-cnn", "--workers", "0"]) == 0
    _, rows = read_rows(out)
    cells = [r["path"] for r in rows]
    assert sorted(cells) == sorted(["./" + n for n in names])  # the walk of "." already gives ./NAME
    assert all(r["status"] == "ok" for r in rows)
    for cell in cells:
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
        assert os.path.isfile(cell)  # the cell still names the same file
    explicit = tmp_path / "explicit.csv"
    assert main(["scan", names[0], "--out", str(explicit), "--model", "demo-cnn", "--workers", "0"]) == 0
    assert [r["path"] for r in read_rows(explicit)[1]] == ['./=HYPERLINK("x").png']


def test_csv_row_neutralises_text_cells_and_leaves_numbers():
    from meddiag_desktop.core.inference import Result
    from meddiag_desktop.core.scan_csv import csv_row

    row = csv_row(Result(path="-x.png", model="=m", status="error", error="@bad"))
    assert (row["path"], row["model"], row["error"]) == ("./-x.png", "'=m", "'@bad")
    ok = csv_row(Result(path="/a/b.png", model="m", status="ok", label="+l", probability=0.25,
                        probabilities={"+l": 0.25}, ood_score=-0.5, in_distribution=True))
    assert (ok["label"], ok["probability"], ok["p_+l"], ok["ood_score"]) == ("'+l", "0.250000", "0.250000", "-0.500")


def test_engine_ray_without_the_extra_says_how_to_install_it(folder, demo_models, tmp_path, monkeypatch, capsys):
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)  # as if the [cluster] extra were not installed
    code = main(["scan", str(folder), "--out", str(tmp_path / "r.csv"), "--engine", "ray"])
    assert code == 2
    assert "pip install 'meddiag-desktop[cluster]'" in capsys.readouterr().err


def test_process_engine_resumes_after_a_kill_with_no_duplicate_and_no_gap(demo_models, tmp_path):
    """Worker processes decode and predict (small files, CPU models); SIGKILL mid-scan, then --resume."""
    import signal
    import subprocess
    import sys
    import time

    import numpy as np
    from PIL import Image

    folder = tmp_path / "many"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for i in range(400):
        Image.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8)).save(folder / f"{i:04d}.png")
    (folder / "0300_truncated.png").write_bytes((folder / "0300.png").read_bytes()[:40])
    models = ",".join(demo_models)

    def scan_to(out, *extra):
        assert main(["scan", str(folder), "--out", str(out), "--model", models, "--batch-size", "4", *extra]) == 0
        return out.read_bytes()

    full = scan_to(tmp_path / "full.csv", "--workers-kind", "thread")
    out = tmp_path / "killed.csv"
    partial = out.with_name(f".{out.name}.partial")
    proc = subprocess.Popen([sys.executable, "-m", "meddiag_desktop.cli", "scan", str(folder), "--out", str(out),
                             "--model", models, "--batch-size", "4", "--workers", "2", "--workers-kind", "process"],
                            cwd=Path(__file__).resolve().parents[1], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not partial.exists() or partial.read_bytes().count(b"\n") < 120):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists() and partial.exists()  # killed mid-scan
    assert 0 < partial.read_bytes().count(b"\n") - 1 < 2 * 401
    assert scan_to(out, "--workers", "2", "--workers-kind", "process", "--resume") == full
    assert b"truncated" in full


def test_forkserver_is_started_early_only_when_the_scan_may_use_processes(demo_models, tmp_path, monkeypatch):
    """On 2 cores large files decode in threads, so the CLI does not start the forkserver (its torch import
    would take a core from the scan); small files may still go to processes (>= 2000 of them), so it does."""
    from meddiag_desktop.core import scan_pool

    started = []
    monkeypatch.setattr(scan_pool, "usable_cores", lambda: 2)
    monkeypatch.setattr(scan_pool, "prestart_processes", lambda: started.append(True))
    for name, size in (("large", 1 << 20), ("small", 1000)):
        folder = tmp_path / name
        folder.mkdir()
        for i in range(3):  # not images: error rows, but the walk names them by their suffix
            (folder / f"{i}.png").write_bytes(b"x" * size)
        started.clear()
        assert main(["scan", str(folder), "--out", str(tmp_path / f"{name}.csv"), "--model", demo_models[0]]) == 0
        assert started == ([] if name == "large" else [True]), name
    started.clear()
    large = str(tmp_path / "large")
    out = str(tmp_path / "p.csv")
    assert main(["scan", large, "--out", out, "--model", demo_models[0], "--workers-kind", "process"]) == 0
    assert started == [True]  # asked for processes
