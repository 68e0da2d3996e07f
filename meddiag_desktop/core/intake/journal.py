"""The receive journal: what makes a received instance durable before the node answers Success.

A C-STORE's data set is written as its file (visible at once, not yet flushed) and appended to the
journal; one ``fdatasync`` of the journal then makes it durable, instead of two fsyncs and a
rename of an atomic write per instance. Concurrent associations share that flush (group commit:
a flush covers every record appended before it). The files are made durable behind: a
*checkpoint* (the engine, between batches and when idle) starts a new segment, flushes every file
the old one names and deletes it. A segment left by a kill or a power cut is *settled* at the next
start: each complete record whose file is missing or differs is written again (atomically), then
the segment goes; a torn last record was never acknowledged and is dropped.

Layout: ``<folder>/<time_ns>-<pid>.journal`` segments of records ``MAGIC, name length, data
length, sha256(data), crc32(name), name, data``.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import struct
import sys
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from ..atomic import fsync_path, write_all

__all__ = ["ReceiveJournal", "fsync_path", "records", "sync_filesystem"]

MAGIC = b"MDJ1"
_HEADER = struct.Struct("<4sHI32sI")  # magic, name length, data length, sha256 of the data, crc32 of the name
SUFFIX = ".journal"
_live: set[str] = set()  # segments open in this process (another store object on the folder keeps off them)
try:  # and an advisory lock on each open segment keeps another process's settling off it (POSIX)
    import fcntl
except ImportError:  # Windows
    fcntl = None


def _in_use(path: Path) -> bool:
    """Whether a process holds ``path`` open as its current segment (its lock)."""
    if str(path) in _live:
        return True
    if fcntl is None:
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return True  # gone meanwhile: nothing to settle
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing drops the probe's lock
    return False


@dataclass
class _Segment:
    path: Path
    fd: int
    names: list[str] = field(default_factory=list)
    size: int = 0


def _fdatasync(fd: int) -> None:
    getattr(os, "fdatasync", os.fsync)(fd)  # macOS and Windows have only fsync


def sync_filesystem(path: Path) -> bool:
    """Flush everything written to the file system holding ``path`` (Linux ``syncfs``: one call for a
    checkpoint's files and renames, ~10-30 ms here where an fsync per file took ~0.4-1.3 s for 512);
    False where unavailable or failed (then flush file by file)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        syncfs = ctypes.CDLL(None, use_errno=True).syncfs
        fd = os.open(path, os.O_RDONLY)
    except (OSError, AttributeError):
        return False
    try:
        return syncfs(fd) == 0
    finally:
        os.close(fd)


def records(path: Path) -> Iterator[tuple[str, bytes, bytes]]:
    """(name, data, sha256 digest) of each complete, intact record of a segment, up to the first that is not."""
    blob = path.read_bytes()
    offset = 0
    while offset + _HEADER.size <= len(blob):
        magic, name_len, data_len, digest, name_crc = _HEADER.unpack_from(blob, offset)
        start = offset + _HEADER.size
        end = start + name_len + data_len
        if magic != MAGIC or end > len(blob):
            return
        name_bytes, data = blob[start:start + name_len], blob[start + name_len:end]
        if zlib.crc32(name_bytes) != name_crc or hashlib.sha256(data).digest() != digest:
            return
        yield name_bytes.decode("utf-8"), data, digest
        offset = end


class ReceiveJournal:
    """``append`` (any thread) returns once the record is on disk; ``checkpoint`` and ``settle``
    (one thread at a time) make the files durable and drop segments. ``write(name, data, sha256_hex)``
    makes one file durable with that content (settling); ``durable(names)`` flushes the files
    named, False when one is missing (a checkpoint then settles the segment from its records).
    See the module docstring."""

    def __init__(self, folder: str | os.PathLike, write: Callable[[str, bytes, str], None],
                 durable: Callable[[list[str]], bool]) -> None:
        self.folder, self.write, self.durable = Path(folder), write, durable
        if not self.folder.is_dir():
            self.folder.mkdir(parents=True, exist_ok=True)
            fsync_path(self.folder.parent)
        self._lock = threading.Lock()  # the segment, appends
        self._flush = threading.Lock()  # one flush at a time
        self._segment: _Segment | None = None
        self._appended = self._flushed = 0  # records appended / known flushed (group commit tickets)

    def append(self, name: str, data: bytes, sha256_hex: str) -> None:
        name_bytes = name.encode("utf-8")
        record = _HEADER.pack(MAGIC, len(name_bytes), len(data), bytes.fromhex(sha256_hex), zlib.crc32(name_bytes))
        with self._lock:
            segment = self._segment or self._open_segment()
            write_all(segment.fd, record + name_bytes)
            write_all(segment.fd, data)  # not joined: a copy of the data set
            segment.names.append(name)
            segment.size += len(record) + len(name_bytes) + len(data)
            self._appended += 1
            ticket = self._appended
        with self._flush:
            if self._flushed >= ticket:  # another thread's flush covered this record
                return
            with self._lock:
                upto, fd = self._appended, self._segment.fd
            _fdatasync(fd)
            self._flushed = upto

    def backlog(self) -> tuple[int, int]:
        """(records, bytes) in the open segment: what the next checkpoint makes durable."""
        segment = self._segment
        return (len(segment.names), segment.size) if segment is not None else (0, 0)

    def checkpoint(self) -> int:
        """Start a new segment, make the old one's files durable, drop it; its record count."""
        with self._flush:
            with self._lock:
                segment, self._segment = self._segment, None
                upto = self._appended
            if segment is None:
                return 0
            _fdatasync(segment.fd)
            self._flushed = max(self._flushed, upto)
            os.close(segment.fd)
        if not self.durable(segment.names):
            return self._settle_segment(segment.path)
        self._drop(segment.path)
        return len(segment.names)

    def settle(self) -> int:
        """At start: the segments a previous process left, record by record; the records settled."""
        return sum(self._settle_segment(path) for path in sorted(self.folder.glob(f"*{SUFFIX}"))
                   if not _in_use(path))

    def _settle_segment(self, path: Path) -> int:
        count = 0
        for name, data, digest in records(path):
            self.write(name, data, digest.hex())
            count += 1
        self._drop(path)
        return count

    def _open_segment(self) -> _Segment:
        path = self.folder / f"{time.time_ns():020d}-{os.getpid()}{SUFFIX}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | getattr(os, "O_BINARY", 0), 0o644)
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)  # held while open: see ``_in_use``
        fsync_path(self.folder)  # the new segment's entry is durable before a record in it is acknowledged
        _live.add(str(path))
        self._segment = _Segment(path, fd)
        return self._segment

    def _drop(self, path: Path) -> None:
        path.unlink(missing_ok=True)
        _live.discard(str(path))
