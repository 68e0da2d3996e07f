"""`meddiag scan --engine ray` (the [cluster] extra): the same CSV as the local engine, byte for byte,
on a hostile corpus; `--resume` after a SIGKILL leaves no duplicate and no gap. One local Ray cluster
(2 CPUs) for the module; skipped where Ray is not installed."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from meddiag_desktop.cli import main
from meddiag_desktop.core.models import ModelConfig, create_model_from_config
from meddiag_desktop.core.paths import user_models_dir
from meddiag_desktop.core.storage import ModelCard, save_model

from testkit import make_scan_folder, png_bytes

ray = pytest.importorskip("ray", reason="the [cluster] extra is not installed")
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cluster():
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture
def demo_models():
    """Two user models (sent to the actors by the driver) with different inputs and label sets."""
    ids = []
    for arch, labels, size in (("cnn", ("normal", "abnormal"), 28), ("rnn", ("normal", "pneumonia", "other"), 32)):
        torch.manual_seed(0)
        config = ModelConfig(arch=arch, task="demo", labels=labels, img_size=size)
        card = ModelCard(id=f"demo-{arch}", config=config, demo=True)
        save_model(create_model_from_config(config), card, user_models_dir())
        ids.append(card.id)
    return ",".join(ids)


@pytest.fixture
def corpus(tmp_path):
    """Good PNG / JPEG / DICOM, corrupt, empty, truncated, non-image files, a link loop, a non-UTF-8 name."""
    folder = Path(make_scan_folder(tmp_path / "corpus"))
    os.symlink(folder, folder / "loop_too")
    (folder / "garbage.dcm").write_bytes(b"DICM" * 50)
    if sys.platform != "darwin":  # macOS refuses names that are not UTF-8
        with open(os.path.join(os.fsencode(folder), b"caf\xe9_latin1.png"), "wb") as handle:
            handle.write(png_bytes())
    return folder


def scan_csv(folder, out: Path, models: str, *extra: str) -> bytes:
    assert main(["scan", str(folder), "--out", str(out), "--model", models, "--batch-size", "3", *extra]) == 0
    return out.read_bytes()


def test_local_threads_processes_and_ray_write_identical_csvs(cluster, corpus, demo_models, tmp_path):
    threads = scan_csv(corpus, tmp_path / "t.csv", demo_models, "--workers-kind", "thread")
    processes = scan_csv(corpus, tmp_path / "p.csv", demo_models, "--workers-kind", "process", "--workers", "2")
    on_ray = scan_csv(corpus, tmp_path / "r.csv", demo_models, "--engine", "ray", "--workers", "2")
    assert threads == processes == on_ray
    text = threads.decode("utf-8")
    assert "caf\\udce9_latin1.png" in text or sys.platform == "darwin"  # the non-UTF-8 name, recoverable
    assert text.count(",error,") >= 2 * 5 and text.count(",ok,") >= 2 * 5


def test_resume_after_a_kill_leaves_no_duplicate_and_no_gap(cluster, demo_models, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(300):
        (folder / f"{i:04d}.png").write_bytes(png_bytes())
    full = scan_csv(folder, tmp_path / "full.csv", demo_models, "--workers", "0")

    out = tmp_path / "killed.csv"
    partial = out.with_name(f".{out.name}.partial")
    command = [sys.executable, "-m", "meddiag_desktop.cli", "scan", str(folder), "--out", str(out), "--model",
               demo_models, "--batch-size", "1", "--workers", "0"]
    proc = subprocess.Popen(command, cwd=REPO, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not partial.exists() or partial.read_bytes().count(b"\n") < 20):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists() and partial.exists()  # killed mid-scan
    killed_rows = partial.read_bytes().count(b"\n") - 1
    assert 0 < killed_rows < 600

    resumed = scan_csv(folder, out, demo_models, "--engine", "ray", "--workers", "2", "--resume")
    assert resumed == full  # every (file, model) once, in scan order


def test_task_rows_give_each_actor_several_tasks_and_large_files_small_ones(tmp_path):
    from meddiag_desktop.cli.ray_engine import task_rows

    small, large = tmp_path / "s.png", tmp_path / "l.dcm"
    small.write_bytes(b"x" * 1000)
    large.write_bytes(b"x" * 4_000_000)
    assert task_rows([str(small)] * 24, batch_size=32, actors=2) == 3  # 8 tasks, not one of 24 files
    assert task_rows([str(small)] * 10_000, batch_size=32, actors=2) == 32
    assert task_rows([str(large)] * 200, batch_size=32, actors=2) == 4
    assert task_rows([str(small)], batch_size=32, actors=4) == 1
