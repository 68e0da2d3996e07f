"""The watch folder (issue 17): files written slowly in chunks are taken only when complete,
renamed and deleted files cause no duplicates or errors, 1 000 files dropped at once are each
analysed once, the watched folder is never modified; `meddiag watch --once`."""
from __future__ import annotations

import csv
import hashlib
import io
import os
import shutil
import time

import numpy as np
import pytest
from PIL import Image

from meddiag_desktop.cli import main
from meddiag_desktop.core.audit import AuditLog, read_audit
from meddiag_desktop.core.intake.engine import IntakeEngine
from meddiag_desktop.core.intake.store import IntakeStore
from meddiag_desktop.core.intake.watch import FolderWatcher
from meddiag_desktop.core.jobs import last
from meddiag_desktop.core.loading import load_predictors
from meddiag_desktop.core.model_store import ModelStore

from intakekit import Running, wait_until
from testkit import DICOM_DIR, png_bytes

SETTLE = 0.3


@pytest.fixture(scope="module")
def predictors():
    return last(load_predictors(ModelStore().resolve("pneumonia-cnn"), "cpu")).predictors


@pytest.fixture
def watched(tmp_path, predictors):
    folder = tmp_path / "watched"
    folder.mkdir()
    store = IntakeStore(tmp_path / "intake")
    engine = IntakeEngine(store, predictors, tmp_path / "results.csv", audit=AuditLog(tmp_path / "audit.jsonl"))
    run = Running(engine)
    watcher = FolderWatcher(folder, store, engine.submit, settle_s=SETTLE, rescan_s=1.0, give_up_s=5.0).start()
    yield folder, store, run
    watcher.stop()
    run.stop()


def _rows(tmp_path) -> list[dict]:
    with open(tmp_path / "results.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _big_png(seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 255, (256, 256), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _tree(folder) -> dict:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


def test_a_file_written_slowly_is_taken_once_complete(watched, tmp_path):
    folder, store, run = watched
    data = open(os.path.join(DICOM_DIR, "CT_small.dcm"), "rb").read()
    with open(folder / "slow.dcm", "wb") as f:
        for i, start in enumerate(range(0, len(data), len(data) // 8)):
            f.write(data[start:start + len(data) // 8])
            f.flush()
            time.sleep(3 * SETTLE if i == 4 else SETTLE / 3)  # one pause longer than the settle time:
            assert run.of("ItemStored") == []  # size stable, but half a DICOM does not decode
    [done] = run.wait_for("ItemAnalysed", 1)
    assert done.name == hashlib.sha256(data).hexdigest() + ".dcm"
    assert store.path(done.name).read_bytes() == data  # the whole file, never a part
    assert [r["status"] for r in _rows(tmp_path)] == ["ok"]


def test_renames_deletes_and_copies_make_no_duplicates_or_errors(watched, tmp_path):
    folder, store, run = watched
    (folder / "a.png").write_bytes(png_bytes(seed=1))
    run.wait_for("ItemAnalysed", 1)
    (folder / "sub").mkdir()
    os.rename(folder / "a.png", folder / "sub" / "renamed.png")
    shutil.copy(folder / "sub" / "renamed.png", folder / "copy.png")
    (folder / "b.png").write_bytes(png_bytes(seed=2))
    os.remove(folder / "b.png")  # gone before it settled
    (folder / "c.png").write_bytes(png_bytes(seed=3))
    run.wait_for("ItemAnalysed", 2)
    time.sleep(4 * SETTLE + 1.2)  # a rescan and a few checks later: still nothing more
    rows = _rows(tmp_path)
    assert len(rows) == len(run.of("ItemAnalysed")) == 2 and all(r["status"] == "ok" for r in rows)
    assert run.of("ItemFailed") == []


def test_many_files_dropped_at_once_are_each_analysed_once(watched, tmp_path):
    """1 000 tiny PNGs, each written in two halves: every one analysed once, and whole (a copy
    taken half-written would have another content hash, so another name and one row too many)."""
    folder, store, run = watched
    count = 1000
    expected = set()
    for i in range(count):
        data = png_bytes(seed=100 + i)
        expected.add(hashlib.sha256(data).hexdigest() + ".png")
        with open(folder / f"img_{i:04d}.png", "wb") as f:
            f.write(data[: len(data) // 2])
            f.flush()
            f.write(data[len(data) // 2:])
    before = _tree(folder)
    started = time.monotonic()
    run.wait_for("ItemAnalysed", count, timeout=240)
    print(f"{count} files analysed in {time.monotonic() - started:.1f} s")
    time.sleep(1.5)
    rows = _rows(tmp_path)
    assert len(rows) == count and len({r["path"] for r in rows}) == count
    assert {e.name for e in run.of("ItemAnalysed")} == expected and run.of("ItemFailed") == []
    assert len(read_audit(tmp_path / "audit.jsonl")) == count
    assert _tree(folder) == before  # the watched folder is never modified


def test_meddiag_watch_once(tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "one.png").write_bytes(png_bytes(seed=7))
    shutil.copy(os.path.join(DICOM_DIR, "CT_small.dcm"), folder / "ct.dcm")
    (folder / "notes.txt").write_text("not an image")
    out = tmp_path / "results.csv"
    dicom = tmp_path / "dicom"
    args = ["watch", str(folder), "--out", str(out), "--model", "pneumonia-cnn", "--device", "cpu", "--settle", "0.3",
            "--once", "--dicom-out", str(dicom)]
    assert main(args) == 0
    rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    assert sorted(os.path.splitext(r["path"])[1] for r in rows) == [".dcm", ".png"]
    assert len(os.listdir(dicom)) == 2  # SR + SC of the DICOM input
    assert main(args) == 0  # again: nothing new
    assert len(out.read_text(encoding="utf-8").splitlines()) == 3
    assert "0 item(s) analysed" in capsys.readouterr().err
