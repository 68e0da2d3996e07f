"""The intake engine (issue 17) without a network: items handed over are analysed once, into one
CSV (scan columns), the audit log and the index; a restart resumes what was stored but not
analysed, and completes an item a kill interrupted without writing anything twice; routing; a
refused data set is one error row; the outbox retries until delivered."""
from __future__ import annotations

import csv
import os
import shutil
import threading
import time
from pathlib import Path

import pydicom
import pytest

from meddiag_desktop.core.audit import AuditLog, read_audit
from meddiag_desktop.core.intake.engine import IntakeEngine
from meddiag_desktop.core.intake import engine as engine_module
from meddiag_desktop.core.intake.events import Arrival, Delivered, DeliveryFailed, ItemFacts
from meddiag_desktop.core.intake.outbox import Outbox
from meddiag_desktop.core.intake.results_csv import ResultsCsvError
from meddiag_desktop.core.intake.routing import Routing, Rule, read_facts
from meddiag_desktop.core.intake.store import IntakeStore, instance_name, sha256_bytes
from meddiag_desktop.core.jobs import last
from meddiag_desktop.core.loading import load_predictors
from meddiag_desktop.core.model_store import ModelStore
from meddiag_desktop.core.scan_csv import csv_columns

from intakekit import Running, copies, wait_until
from testkit import DICOM_DIR, png_bytes

SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "samples"


@pytest.fixture(scope="module")
def predictors():
    cards = ModelStore().resolve("pneumonia-cnn,breast-cnn")
    return last(load_predictors(cards, "cpu")).predictors


def _engine(tmp_path, predictors, **kwargs):
    store = IntakeStore(tmp_path / "intake")
    kwargs.setdefault("default_task", "pneumonia")
    kwargs.setdefault("workers", 0)
    return store, IntakeEngine(store, predictors, tmp_path / "results.csv", audit=AuditLog(tmp_path / "audit.jsonl"),
                               **kwargs)


def _rows(tmp_path) -> list[dict]:
    with open(tmp_path / "results.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _same_rows(rows: list[dict], expected: list[dict], tolerance: float = 1e-5) -> bool:
    """The same CSV rows, numbers (probabilities, OOD scores) equal to ``tolerance``."""
    def same(a: str, b: str) -> bool:
        try:
            return abs(float(a) - float(b)) <= tolerance
        except ValueError:
            return a == b
    return len(rows) == len(expected) and all(
        row.keys() == want.keys() and all(same(row[k], want[k]) for k in row) for row, want in zip(rows, expected))


def _store_copies(store, tmp_path, count, name="CT_small.dcm") -> list[str]:
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    names = []
    for path in copies(name, src, count):
        data = open(path, "rb").read()
        names.append(instance_name(pydicom.dcmread(path).SOPInstanceUID, data))
        store.store(names[-1], data)
    return names


def test_items_are_analysed_once_into_csv_audit_and_index(tmp_path, predictors):
    store, engine = _engine(tmp_path, predictors)
    names = _store_copies(store, tmp_path, 3)
    store.store("photo.png", png_bytes())
    run = Running(engine)
    for name in [*names, "photo.png", names[0]]:  # the last one twice: analysed once
        engine.submit(Arrival(name, "folder"))
    run.wait_for("ItemAnalysed", 4)
    run.wait_for("ItemSkipped", 1)
    run.stop()
    assert len(run.of("ItemAnalysed")) == 4
    rows = _rows(tmp_path)
    assert list(rows[0]) == csv_columns([p.card for p in predictors])
    assert sorted(os.path.basename(r["path"]) for r in rows) == sorted([*names, "photo.png"])
    assert {r["model"] for r in rows} == {"pneumonia-cnn"}  # the default task's models
    assert all(r["path"].startswith(str(store.instances)) for r in rows)
    audit = read_audit(tmp_path / "audit.jsonl")
    assert [a["row"] for a in audit] == [1, 2, 3, 4]
    assert len({a["scan_id"] for a in audit}) == 1 and all(a["model_sha256"] for a in audit)
    assert "path" not in audit[0]
    assert store.load_index()[0] == {*names, "photo.png"}


def test_a_batch_is_committed_with_one_fsync_per_file(tmp_path, predictors, monkeypatch):
    """Group commit: items arriving together share the CSV's, the audit log's and the index's
    fsync (three per batch, not three per item)."""
    monkeypatch.setattr(engine_module, "LULL_S", 0.5)  # one batch even if this thread is held up between submits
    store, engine = _engine(tmp_path, predictors, gather_s=0.5)
    run = Running(engine)
    run.wait_for("Progress", 0)
    time.sleep(0.3)  # the job is idle: the CSV header and the folder's state are written
    names = _store_copies(store, tmp_path, 8)  # stored now: not resumed by the job's start
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    for name in names:
        engine.submit(Arrival(name))
    run.wait_for("ItemAnalysed", 8)
    run.stop()
    assert 3 <= len(synced) <= 6  # one batch (two if the first arrivals were taken alone)
    assert len(_rows(tmp_path)) == 8 and len(read_audit(tmp_path / "audit.jsonl")) == 8
    assert store.load_index()[0] == set(names)


def test_a_burst_is_analysed_when_arrivals_pause_not_after_gather_s(tmp_path, predictors):
    """A batch gathers arrivals for up to ``gather_s`` (bigger batches for a busy node), but a pause
    of ``LULL_S`` ends it: the end of a burst is not held back for the whole ``gather_s``."""
    store, engine = _engine(tmp_path, predictors, gather_s=60)
    run = Running(engine)
    run.wait_for("Progress", 0)
    names = _store_copies(store, tmp_path, 3)
    started = time.monotonic()
    for name in names:
        engine.submit(Arrival(name))
    run.wait_for("ItemAnalysed", 3, timeout=50)
    run.stop()
    assert time.monotonic() - started < 30
    assert engine_module.LULL_S < 60


def test_analysed_large_instances_leave_the_page_cache(tmp_path, predictors, monkeypatch):
    """After its batch is recorded, an instance stored directly (>= DIRECT_STORE_BYTES, already durable)
    has its pages dropped from the page cache (POSIX_FADV_DONTNEED); a small, journalled one not."""
    from meddiag_desktop.core.intake.store import DIRECT_STORE_BYTES

    if not hasattr(os, "posix_fadvise"):
        pytest.skip("no posix_fadvise here")
    store, engine = _engine(tmp_path, predictors)
    ds = pydicom.dcmread(os.path.join(DICOM_DIR, "CT_small.dcm"))
    ds.Rows = ds.Columns = 1024
    ds.PixelData = bytes(2 * 1024 * 1024)
    large = tmp_path / "large.dcm"
    ds.save_as(large)
    data = large.read_bytes()
    assert len(data) >= DIRECT_STORE_BYTES
    store.receive("large.dcm", data, None)
    small = _store_copies(store, tmp_path, 1)[0]
    released = []
    real_advise = os.posix_fadvise
    monkeypatch.setattr(os, "posix_fadvise", lambda fd, offset, length, advice: (
        released.append((os.fstat(fd).st_size, advice)), real_advise(fd, offset, length, advice))[1])
    run = Running(engine)
    engine.submit(Arrival("large.dcm"))
    engine.submit(Arrival(small))
    run.wait_for("ItemAnalysed", 2)
    run.stop()
    assert released == [(len(data), os.POSIX_FADV_DONTNEED)]


def test_a_restart_analyses_what_was_stored_but_not_analysed(tmp_path, predictors):
    store, engine = _engine(tmp_path, predictors)
    first = _store_copies(store, tmp_path, 2)
    run = Running(engine)
    for name in first:
        engine.submit(Arrival(name))
    run.wait_for("ItemAnalysed", 2)
    run.stop()
    later = _store_copies(store, tmp_path, 2)  # received, then the process died
    store, engine = _engine(tmp_path, predictors)  # a new process, as after a kill
    run = Running(engine)
    resumed = run.wait_for("ItemAnalysed", 2)
    run.stop()
    assert sorted(e.name for e in resumed) == sorted(later)
    assert {e.origin for e in run.of("ItemStored")} == {"resumed"}
    rows = _rows(tmp_path)
    assert len(rows) == 4 and len({r["path"] for r in rows}) == 4
    assert [a["row"] for a in read_audit(tmp_path / "audit.jsonl")] == [1, 2, 3, 4]
    store, engine = _engine(tmp_path, predictors)  # and nothing is analysed a third time
    run = Running(engine, idle_exit_s=0.5)
    run._thread.join(30)
    assert run.of("ItemAnalysed") == [] and len(_rows(tmp_path)) == 4


def test_a_kill_between_csv_and_index_writes_nothing_twice(tmp_path, predictors):
    store, engine = _engine(tmp_path, predictors, default_task=None)  # two models: two rows per item
    names = _store_copies(store, tmp_path, 2)
    run = Running(engine)
    for name in names:
        engine.submit(Arrival(name))
    run.wait_for("ItemAnalysed", 2)
    run.stop()
    before, rows_before = (tmp_path / "results.csv").read_bytes(), _rows(tmp_path)
    # the kill: the last item's index line never written, its last CSV row torn, its audit record lost
    index = store.index_path.read_text().splitlines()
    store.index_path.write_text(index[0] + "\n")
    (tmp_path / "results.csv").write_bytes(before[: before.rstrip(b"\n").rfind(b"\n") + 1] + b"/torn,ok,")
    audit_lines = (tmp_path / "audit.jsonl").read_text().splitlines()
    (tmp_path / "audit.jsonl").write_text("\n".join(audit_lines[:-1]) + "\n")

    store, engine = _engine(tmp_path, predictors, default_task=None)
    run = Running(engine)
    run.wait_for("ItemAnalysed", 1)
    run.stop()
    # the torn row cut, the lost one written once: the same rows (the re-analysed item's probabilities to float
    # rounding — alone in its batch now, a model's kernels may round its last bit otherwise)
    after = (tmp_path / "results.csv").read_bytes()
    assert after.count(b"\n") == before.count(b"\n") and b"/torn" not in after
    assert _same_rows(_rows(tmp_path), rows_before)
    audit = read_audit(tmp_path / "audit.jsonl")
    assert sorted(a["row"] for a in audit) == [1, 2, 3, 4]
    assert len({(a["file_sha256"], a["model"]) for a in audit}) == 4
    assert store.load_index()[0] == set(names)


def test_routing_sends_an_item_to_its_task(tmp_path, predictors):
    routing = Routing((Rule("breast", modality="mr"), Rule("pneumonia", folder="chest")))
    store, engine = _engine(tmp_path, predictors, routing=routing)
    mr = _store_copies(store, tmp_path, 1, "MR_small.dcm")[0]
    ct = _store_copies(store, tmp_path, 1, "CT_small.dcm")[0]
    store.store("x.png", png_bytes(seed=3))
    assert read_facts(store.path(mr)).modality == "MR"
    run = Running(engine)
    engine.submit(Arrival(mr))
    engine.submit(Arrival(ct))
    engine.submit(Arrival("x.png", "folder", folder="chest"))
    done = {e.name: e for e in run.wait_for("ItemAnalysed", 3)}
    run.stop()
    assert [r.model for r in done[mr].rows] == ["breast-cnn"] and done[mr].modality == "MR"
    assert [r.model for r in done[ct].rows] == ["pneumonia-cnn"]  # no rule: the default task
    assert [r.model for r in done["x.png"].rows] == ["pneumonia-cnn"]


def test_what_the_producer_read_is_not_read_again(tmp_path, predictors, monkeypatch):
    """The node hands over the sha256 and routing facts of what it received: the engine uses them."""
    store, engine = _engine(tmp_path, predictors, routing=Routing((Rule("breast", modality="mr"),)))
    ct = _store_copies(store, tmp_path, 1, "CT_small.dcm")[0]
    sha = sha256_bytes(store.path(ct).read_bytes())
    monkeypatch.setattr(store, "pending", lambda analysed: [])  # handed over below, not resumed
    reads = []
    monkeypatch.setattr(engine_module, "read_facts", lambda *args: reads.append(args) or ItemFacts())
    monkeypatch.setattr(engine_module, "file_sha256", lambda path: reads.append(path))
    run = Running(engine)
    engine.submit(Arrival(ct, sha256=sha, facts=ItemFacts(modality="MR")))
    done = run.wait_for("ItemAnalysed", 1)
    run.stop()
    assert reads == []
    assert [r.model for r in done[0].rows] == ["breast-cnn"]  # routed by the facts handed over (the file is a CT)
    assert store.load_index() == ({ct}, {sha})


def test_a_refused_data_set_is_one_error_row(tmp_path, predictors):
    store, engine = _engine(tmp_path, predictors, default_task=None)
    name = store.reject(b"DICM garbage")
    run = Running(engine)
    engine.submit(Arrival(name, "dicom", rejected="DICOM data set cannot be decoded (ValueError)"))
    [failed] = run.wait_for("ItemFailed", 1)
    run.stop()
    [row] = _rows(tmp_path)
    assert row["status"] == "error" and row["model"] == "" and "cannot be decoded" in row["error"]
    assert row["path"] == str(store.rejected / name) and failed.name == name
    [record] = read_audit(tmp_path / "audit.jsonl")
    assert record["status"] == "error" and record["file_sha256"] == name[:-4]


def test_a_csv_with_other_columns_is_refused(tmp_path, predictors):
    (tmp_path / "results.csv").write_text("path,status\n")
    _, engine = _engine(tmp_path, predictors)
    with pytest.raises(ResultsCsvError, match="other columns"):
        engine.run()


def test_the_outbox_retries_until_delivered_and_survives_a_restart(tmp_path):
    folder = tmp_path / "outbox"
    up = threading.Event()
    events, sent = [], []

    def send(paths):
        if not up.is_set():
            raise ConnectionError("destination not reachable")
        sent.extend(p.name for p in paths)
        return {p: None for p in paths}

    (tmp_path / "a.dcm").write_bytes(b"a")
    (tmp_path / "b.dcm").write_bytes(b"b")
    outbox = Outbox(folder, send, "PACS@127.0.0.1:1", notify=events.append, first_retry_s=0.05, max_retry_s=0.2)
    outbox.put(tmp_path / "a.dcm")
    outbox.start()
    wait_until(lambda: sum(isinstance(e, DeliveryFailed) for e in events) >= 3, 10, "retries")
    outbox.stop()
    failed = [e for e in events if isinstance(e, DeliveryFailed)]
    assert [e.attempt for e in failed[:3]] == [1, 2, 3] and failed[1].retry_in_s == 2 * failed[0].retry_in_s
    assert [p.name for p in outbox.waiting()] == ["a.dcm"]  # kept on disk

    outbox = Outbox(folder, send, "PACS@127.0.0.1:1", notify=events.append, first_retry_s=0.05)  # a restart
    outbox.put(tmp_path / "b.dcm")
    up.set()
    outbox.start()
    wait_until(lambda: sum(isinstance(e, Delivered) for e in events) == 2, 10, "delivery")
    outbox.stop()
    assert sorted(sent) == ["a.dcm", "b.dcm"] and outbox.waiting() == []
    assert (tmp_path / "a.dcm").is_file()  # the original results stay where they were written


def test_build_engine_shortens_the_gil_switch_interval(tmp_path, predictors):
    """The node's association threads wait for the GIL at most ~1 ms while the engine runs Python."""
    import sys

    from meddiag_desktop.core.intake.assembly import GIL_SWITCH_S, build_engine

    before = sys.getswitchinterval()
    try:
        sys.setswitchinterval(0.005)
        build_engine(IntakeStore(tmp_path / "intake"), predictors, tmp_path / "results.csv",
                     audit=AuditLog(tmp_path / "audit.jsonl"))
        assert sys.getswitchinterval() <= GIL_SWITCH_S
        sys.setswitchinterval(0.0002)
        build_engine(IntakeStore(tmp_path / "intake"), predictors, tmp_path / "results.csv",
                     audit=AuditLog(tmp_path / "audit.jsonl"))
        assert sys.getswitchinterval() < GIL_SWITCH_S  # never raised
    finally:
        sys.setswitchinterval(before)


def test_a_store_interrupted_by_a_kill_leaves_no_temporary_file_after_restart(tmp_path):
    """A kill during an atomic store leaves ``.<name>.<random>.tmp``: the next engine start deletes the
    ones older than itself (that item was never acknowledged) and keeps a write in progress."""
    from meddiag_desktop.core.intake.store import IntakeStore

    store = IntakeStore(tmp_path / "node")
    store.store("kept.dcm", b"data")
    stale = store.instances / ".lost.dcm.abc123.tmp"
    stale.write_bytes(b"half")
    os.utime(stale, (time.time() - 5, time.time() - 5))
    live = store.instances / ".live.dcm.def456.tmp"
    live.write_bytes(b"in progress")
    assert store.remove_interrupted_writes(before=time.time() - 1) == 1
    assert sorted(os.listdir(store.instances)) == [".live.dcm.def456.tmp", "kept.dcm"]


def test_an_idle_engine_checkpoints_the_receive_journal(tmp_path, predictors):
    """What the node received through the journal is made durable as files and the segment dropped
    once the engine has analysed it and is idle."""
    store, engine = _engine(tmp_path, predictors)
    src = tmp_path / "src"
    src.mkdir()
    run = Running(engine)
    for path in copies("CT_small.dcm", src, 3):
        data = open(path, "rb").read()
        name = instance_name(pydicom.dcmread(path).SOPInstanceUID, data)
        store.receive(name, data, sha256_bytes(data))
        engine.submit(Arrival(name, "dicom", sha256=sha256_bytes(data)))
    assert list(store.journal.folder.glob("*.journal"))
    run.wait_for("ItemAnalysed", 3)
    wait_until(lambda: not list(store.journal.folder.glob("*.journal")), 10, "the checkpoint")
    run.stop()
    assert len(_rows(tmp_path)) == 3


def test_the_forward_worker_gives_the_rows_the_engine_would(tmp_path, predictors):
    """Batches of small files decoded and predicted in a worker process (``forward_workers``): the
    same CSV rows as the engine's own forward; a pool that cannot start leaves the forward here."""
    from meddiag_desktop.core.intake import forward as forward_module

    results = {}
    for label, workers in (("here", 0), ("worker", 1)):
        folder = tmp_path / label
        store, engine = _engine(folder, predictors, forward_workers=workers)
        assert engine.forward.usable == bool(workers)
        names = []
        for i, sample in enumerate(("chest_xray_pneumonia_val0.dcm", "chest_xray_pneumonia_val0_monochrome1.dcm") * 2):
            names.append(f"{i}.dcm")
            ds = pydicom.dcmread(SAMPLES / sample)
            ds.SOPInstanceUID = f"1.2.3.{i}"  # distinct content: the same content twice is analysed once
            ds.save_as(folder / names[-1])
            store.store(names[-1], (folder / names[-1]).read_bytes())
        run = Running(engine)
        run.wait_for("ItemAnalysed", 4, timeout=120)
        run.stop()
        rows = _rows(folder)
        results[label] = sorted((os.path.basename(r["path"]), r["model"], r["probability"], r["label"], r["ood_score"])
                                for r in rows)
        assert {os.path.basename(r["path"]) for r in rows} == set(names)
    assert results["worker"] == results["here"] and len(results["here"]) == 4
    assert all(probability for _, _, probability, _, _ in results["here"])  # analysed, not refused

    def no_processes():
        raise OSError("no process start-up here")

    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr(forward_module, "process_context", no_processes)
    try:
        store, engine = _engine(tmp_path / "fallback", predictors, forward_workers=1)
        names = _store_copies(store, tmp_path / "fallback", 2)
        run = Running(engine)
        run.wait_for("ItemAnalysed", 2)
        run.stop()
        assert not engine.forward.usable and len(_rows(tmp_path / "fallback")) == 2
    finally:
        monkeypatch.undo()


def test_large_items_are_hashed_here_decoded_in_threads_and_the_same_content_analysed_once(tmp_path, predictors,
                                                                                          monkeypatch):
    """Large instances arrive unhashed (the node leaves that to the engine): the engine hashes them, skips
    content it has analysed, and decodes the rest in threads with that hash (not taken again)."""
    import numpy as np
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    from meddiag_desktop.core import scan_decode
    from meddiag_desktop.core.scan_pool import LARGE_FILE_BYTES

    def large(path):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.SOPClassUID, ds.SOPInstanceUID = SecondaryCaptureImageStorage, generate_uid()
        ds.file_meta.MediaStorageSOPClassUID, ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPClassUID, ds.SOPInstanceUID
        ds.Modality, ds.PhotometricInterpretation, ds.SamplesPerPixel = "OT", "MONOCHROME2", 1
        ds.Rows, ds.Columns, ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 640, 640, 16, 16, 15, 0
        ds.PixelData = np.random.default_rng(len(str(path))).integers(0, 4000, (640, 640), np.uint16).tobytes()
        ds.save_as(path, enforce_file_format=True)
        return path.read_bytes()

    hashed = []
    real_read = scan_decode._read
    monkeypatch.setattr(scan_decode, "_read", lambda path, sha256=None: (hashed.append(sha256 is None),
                                                                         real_read(path, sha256))[1])
    store, engine = _engine(tmp_path, predictors, workers=2)
    first, second = large(tmp_path / "a.dcm"), large(tmp_path / "bb.dcm")
    assert len(first) >= LARGE_FILE_BYTES
    for name, data in (("a.dcm", first), ("b.dcm", second), ("a-again.dcm", first)):
        store.store(name, data)
        time.sleep(0.01)  # taken over oldest first
    run = Running(engine)  # taken over as stored, without a sha256: as the node hands over a large data set
    run.wait_for("ItemAnalysed", 2)
    run.wait_for("ItemSkipped", 1)
    run.stop()
    assert sorted(e.name for e in run.of("ItemAnalysed")) == ["a.dcm", "b.dcm"]
    assert [e.name for e in run.of("ItemSkipped")] == ["a-again.dcm"]
    assert sorted(r["file_sha256"] for r in read_audit(tmp_path / "audit.jsonl")) == sorted(
        [sha256_bytes(first), sha256_bytes(second)])
    assert [r["status"] for r in _rows(tmp_path)] == ["ok", "ok"]
    assert hashed == [False, False]  # decoded with the engine's hashes


def test_one_thread_pool_serves_the_whole_run_and_ends_with_it(tmp_path, predictors, monkeypatch):
    """Hashing (and decoding large files) runs in ONE pool of ``workers`` threads for the engine's run -
    not a pool per batch - which is shut down when the run ends."""
    seen = []
    real_sha256 = engine_module.file_sha256
    monkeypatch.setattr(engine_module, "file_sha256", lambda path: (seen.append(threading.current_thread()),
                                                                     real_sha256(path))[1])
    store, engine = _engine(tmp_path, predictors, workers=2)
    _store_copies(store, tmp_path, 3)  # taken over unhashed, as a killed run left them
    run = Running(engine)
    run.wait_for("ItemAnalysed", 3)
    (tmp_path / "later").mkdir()
    for name in _store_copies(store, tmp_path / "later", 3, name="MR_small.dcm"):
        engine.submit(Arrival(name, "watch"))  # a second batch, unhashed as well
    run.wait_for("ItemAnalysed", 6)
    alive = [t for t in seen if t.is_alive()]
    run.stop()
    assert len(seen) == 6 and all(t.name.startswith("meddiag-intake") for t in seen)
    assert len(set(seen)) <= 2  # the same threads for both batches
    assert alive and not any(t.is_alive() for t in seen)  # alive while the run was, gone after it
