"""The node's receive journal (issue 17): a received instance is durable after one journal flush,
concurrent receivers share flushes, a checkpoint makes the files durable and drops the segment, and
a new store settles what a killed process left - missing or damaged files written again, a torn
last record dropped, a segment still open in this process left alone."""
from __future__ import annotations

import os
import subprocess
import sys
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


def _received_by_a_killed_process(root, count: int):
    """A process that receives ``count`` instances into ``root`` and dies (no checkpoint): its segment."""
    code = ("import os, sys, hashlib; from meddiag_desktop.core.intake.store import IntakeStore; "
            "s = IntakeStore(sys.argv[1]); "
            "[s.receive(f'{i}.dcm', (f'instance {i} ' * (50 + i)).encode(), "
            "hashlib.sha256((f'instance {i} ' * (50 + i)).encode()).hexdigest()) for i in range(int(sys.argv[2]))]; "
            "os._exit(0)")
    subprocess.run([sys.executable, "-c", code, str(root), str(count)], check=True, timeout=120,
                   env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    (segment,) = sorted((root / "journal").glob("*.journal"))
    return segment


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
    assert store.checkpoint(force=True) == 5
    assert _segments(store) == []
    _receive(store, 9)  # a new segment
    assert len(_segments(store)) == 1
    # Where the file system cannot be flushed at once (not Linux): every file, then the folder.
    from meddiag_desktop.core.intake import store as store_module

    monkeypatch.setattr(store_module, "sync_filesystem", lambda path: False)
    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd))[1])
    for i in range(3):
        _receive(store, 10 + i)
    assert store.checkpoint(force=True) == 4 and _segments(store) == []
    assert len(synced) == 4 + 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="syncfs (Linux)")
def test_a_checkpoint_flushes_the_file_system_at_once_on_linux(tmp_path):
    assert journal_module.sync_filesystem(tmp_path)


def test_a_checkpoint_writes_a_file_gone_missing_from_the_journal(tmp_path):
    store = IntakeStore(tmp_path / "intake")
    for i in range(3):
        _receive(store, i)
    store.path("1.dcm").unlink()
    assert store.checkpoint(force=True) == 3
    assert store.path("1.dcm").read_bytes() == _data(1) and _segments(store) == []


def test_a_new_store_settles_what_a_killed_process_left(tmp_path):
    root = tmp_path / "intake"
    left = _received_by_a_killed_process(root, 4)
    instances = root / "instances"
    (instances / "0.dcm").unlink()  # never renamed into place / lost in a power cut
    (instances / "1.dcm").write_bytes(b"")  # an unflushed file after a power cut
    (instances / "2.dcm").write_bytes(_data(2)[:10])
    with open(left, "ab") as f:  # a record torn by the kill: never acknowledged
        f.write(journal_module.MAGIC + b"\x05\x00")
    restarted = IntakeStore(root)
    assert not left.exists()
    assert all(restarted.path(f"{i}.dcm").read_bytes() == _data(i) for i in range(4))
    assert restarted.pending(set()) and sorted(restarted.pending(set())) == [f"{i}.dcm" for i in range(4)]


def test_a_damaged_record_ends_the_segment(tmp_path):
    left = _received_by_a_killed_process(tmp_path / "intake", 3)
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


@pytest.mark.skipif(os.name != "posix", reason="advisory locks (POSIX)")
def test_a_segment_another_process_has_open_is_left_alone(tmp_path):
    root = tmp_path / "intake"
    IntakeStore(root)
    code = ("import sys, time; from meddiag_desktop.core.intake.store import IntakeStore; "
            "s = IntakeStore(sys.argv[1]); s.receive('0.dcm', b'x' * 64, __import__('hashlib').sha256(b'x' * 64).hexdigest()); "
            "print('ready', flush=True); sys.stdin.read()")
    other = subprocess.Popen([sys.executable, "-c", code, str(root)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    try:
        assert other.stdout.readline().strip() == "ready"
        (segment,) = sorted((root / "journal").glob("*.journal"))
        IntakeStore(root)  # e.g. the window on a folder `meddiag listen` is filling
        assert segment.exists()
    finally:
        other.stdin.close()
        other.wait(30)
    IntakeStore(root)  # that process is gone: its segment is settled now
    assert not segment.exists()


@needs_fdatasync
def test_a_large_instance_is_flushed_once_without_the_journal(tmp_path, monkeypatch):
    """From DIRECT_STORE_BYTES on, the file itself is flushed (file, then the folder for the rename) and
    the journal holds no copy of it: a large data set goes to disk once, not twice."""
    from meddiag_desktop.core.intake.store import DIRECT_STORE_BYTES

    flushed = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (flushed.append(os.fstat(fd).st_size), real_fsync(fd))[1])
    monkeypatch.setattr(os, "fdatasync", lambda fd: pytest.fail("the journal was flushed"))
    store = IntakeStore(tmp_path / "intake")
    flushed.clear()
    data = os.urandom(DIRECT_STORE_BYTES)
    store.receive("big.dcm", data, None)  # the node leaves large data sets unhashed
    assert store.path("big.dcm").read_bytes() == data
    assert flushed[0] == len(data) and len(flushed) == 2  # the file, then its folder
    assert not _segments(store) and store.pending(set()) == ["big.dcm"]
    assert not [p for p in store.instances.iterdir() if p.name.startswith(".")]
