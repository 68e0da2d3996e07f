"""The node's receive journal (issue 17): a received instance is durable after one journal flush,
concurrent receivers share flushes, a checkpoint makes the files durable and drops the segment, and
a new store settles what a killed process left - missing or damaged files written again, a torn
last record dropped, a segment still open in this process left alone."""
from __future__ import annotations

import os
import threading
import time

import pytest

from meddiag_desktop.core.intake import journal as journal_module
from meddiag_desktop.core.intake.store import IntakeStore, sha256_bytes


def _data(i: int) -> bytes:
    return f"instance {i} ".encode() * (50 + i)


def _receive(store: IntakeStore, i: int) -> None:
    store.receive(f"{i}.dcm", _data(i), sha256_bytes(_data(i)))


def _segments(store: IntakeStore) -> list:
    return sorted(store.journal.folder.glob("*.journal"))


def _as_left_by_a_killed_process(store: IntakeStore):
    """The open segment, renamed as another process's would be (no longer this process's live one)."""
    (segment,) = _segments(store)
    left = segment.with_name(f"{0:020d}-1.journal")
    os.replace(segment, left)
    return left


needs_fdatasync = pytest.mark.skipif(not hasattr(os, "fdatasync"), reason="counts fdatasync (Linux)")


@needs_fdatasync
def test_a_received_instance_is_its_file_plus_one_journal_flush(tmp_path, monkeypatch):
    flushes = []
    real = os.fdatasync
    monkeypatch.setattr(os, "fdatasync", lambda fd: (flushes.append(fd), real(fd))[1])
    store = IntakeStore(tmp_path / "intake")
    for i in range(3):
        _receive(store, i)
    assert len(flushes) == 3
    assert all(store.path(f"{i}.dcm").read_bytes() == _data(i) for i in range(3))
    assert [name for name, *_ in journal_module.records(_segments(store)[0])] == ["0.dcm", "1.dcm", "2.dcm"]
    assert not [p for p in store.instances.iterdir() if p.name.startswith(".")]  # no temporary file left


@needs_fdatasync
def test_concurrent_receivers_share_flushes(tmp_path, monkeypatch):
    flushes = []
    real = os.fdatasync

    def slow_flush(fd):  # a loaded disk: 20 ms per flush
        flushes.append(fd)
        time.sleep(0.02)
        real(fd)

    monkeypatch.setattr(os, "fdatasync", slow_flush)
    store = IntakeStore(tmp_path / "intake")
    threads = [threading.Thread(target=lambda k=k: [_receive(store, 10 * k + i) for i in range(10)]) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(list(journal_module.records(_segments(store)[0]))) == 40
    assert len(flushes) <= 30  # 40 one by one; group commit shares them


def test_a_checkpoint_flushes_the_files_and_drops_the_segment(tmp_path, monkeypatch):
    store = IntakeStore(tmp_path / "intake")
    for i in range(5):
        _receive(store, i)
    assert store.checkpoint() == 0  # below the thresholds: nothing yet
    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd))[1])
    assert store.checkpoint(force=True) == 5
    assert _segments(store) == [] and len(synced) >= 5 + 1  # every file, then the folder
    _receive(store, 9)  # a new segment
    assert len(_segments(store)) == 1


def test_a_checkpoint_writes_a_file_gone_missing_from_the_journal(tmp_path):
    store = IntakeStore(tmp_path / "intake")
    for i in range(3):
        _receive(store, i)
    store.path("1.dcm").unlink()
    assert store.checkpoint(force=True) == 3
    assert store.path("1.dcm").read_bytes() == _data(1) and _segments(store) == []


def test_a_new_store_settles_what_a_killed_process_left(tmp_path):
    root = tmp_path / "intake"
    store = IntakeStore(root)
    for i in range(4):
        _receive(store, i)
    left = _as_left_by_a_killed_process(store)
    store.path("0.dcm").unlink()  # never renamed into place / lost in a power cut
    store.path("1.dcm").write_bytes(b"")  # an unflushed file after a power cut
    store.path("2.dcm").write_bytes(_data(2)[:10])
    with open(left, "ab") as f:  # a record torn by the kill: never acknowledged
        f.write(journal_module.MAGIC + b"\x05\x00")
    restarted = IntakeStore(root)
    assert not left.exists()
    assert all(restarted.path(f"{i}.dcm").read_bytes() == _data(i) for i in range(4))
    assert restarted.pending(set()) and sorted(restarted.pending(set())) == [f"{i}.dcm" for i in range(4)]


def test_a_damaged_record_ends_the_segment(tmp_path):
    root = tmp_path / "intake"
    store = IntakeStore(root)
    for i in range(3):
        _receive(store, i)
    left = _as_left_by_a_killed_process(store)
    blob = bytearray(left.read_bytes())
    blob[-5] ^= 0xFF  # the last record's data no longer matches its sha256
    left.write_bytes(bytes(blob))
    assert [name for name, *_ in journal_module.records(left)] == ["0.dcm", "1.dcm"]


def test_a_segment_open_in_this_process_is_left_alone(tmp_path):
    root = tmp_path / "intake"
    store = IntakeStore(root)
    _receive(store, 0)
    (segment,) = _segments(store)
    IntakeStore(root)  # e.g. the window's view of the same folder
    assert segment.exists()
    _receive(store, 1)
    assert len(list(journal_module.records(segment))) == 2
