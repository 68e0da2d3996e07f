"""The intake folder: what arrived, what was analysed, and the engine's identity.

Layout of ``root``::

    instances/      the stored items, <SOP Instance UID>.dcm or <sha256><suffix>, written atomically
    journal/        the node's receive journal (``journal``): received instances are durable there
                    first, their files behind it
    rejected/       data sets the node refused (corrupt), <sha256>.dcm, for a human look
    analysed.jsonl  the index: one {"name", "sha256"} line per analysed item, appended + fsync'd per batch
    intake.json     the audit scan id of this intake folder (its rows continue across restarts)

Producers call ``store`` (any thread: each write goes to its own temporary file, then an atomic
rename) or, the node, ``receive`` (the file renamed into place unflushed, then one journal flush:
durable on return; a large data set's file is flushed itself, without the journal); only the
engine appends to the index and checkpoints the journal. A new store settles what a killed process
left in the journal. An item is *pending* when it is in ``instances/`` but not in the index: a
restart analyses exactly those.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import uuid
from pathlib import Path

from ..atomic import append_complete_lines, atomic_write_bytes, atomic_write_json, sync_and_close, write_all
from .journal import ReceiveJournal, fsync_path, sync_filesystem

INDEX_FILE = "analysed.jsonl"
# A checkpoint (files flushed, journal segment dropped) at least this often while busy; always when idle.
CHECKPOINT_RECORDS = 512
CHECKPOINT_BYTES = 64 << 20
# From this size a received data set skips the journal: its file is flushed itself (file, rename, folder).
# Journalled, every byte went to disk twice (journal, then the file at the checkpoint): at ~10 MB per
# instance the page cache's writeback throttled the writes (19 ms per 10 MB write, 64 ms per store),
# while two fsyncs cost ~15 ms there (benchmarks/node_throughput.py --size large).
DIRECT_STORE_BYTES = 1 << 20
STATE_FILE = "intake.json"
_UID = re.compile(r"[0-9]+(\.[0-9]+)*")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def instance_name(sop_instance_uid: str | None, data: bytes) -> str:
    """``<uid>.dcm`` for a well-formed UID, else ``<sha256>.dcm``: never anything from the patient."""
    uid = (sop_instance_uid or "").strip()
    if _UID.fullmatch(uid) and len(uid) <= 64:
        return f"{uid}.dcm"
    return f"{sha256_bytes(data)}.dcm"


def append_line(path: Path, record: dict) -> None:
    """One JSON line with O_APPEND + fsync; a torn last line (a kill) is closed off first."""
    append_lines(path, [record])


def append_lines(path: Path, records: list[dict]) -> None:
    """JSON lines in one write with O_APPEND, one fsync; a torn last line (a kill) is closed off first."""
    data = "".join(json.dumps(record, allow_nan=False) + "\n" for record in records).encode("utf-8")
    sync_and_close(append_complete_lines(path, data, 0o644))


def read_lines(path: Path) -> list[dict]:
    """The complete JSON lines of ``path`` (torn or foreign lines skipped)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    records = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


class IntakeStore:
    """The intake folder ``root`` (see the module docstring)."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.instances = self.root / "instances"
        self.rejected = self.root / "rejected"
        self.index_path = self.root / INDEX_FILE
        for folder in (self.instances, self.rejected):
            folder.mkdir(parents=True, exist_ok=True)
        self.journal = ReceiveJournal(self.root / "journal", self._write_durable, self._flush_files)
        self.journal.settle()  # what a killed process acknowledged: its files are made whole and durable

    # ---------------------------------------------------------------- producers (any thread)
    def store(self, name: str, data: bytes) -> Path:
        """Write ``data`` as ``instances/<name>`` atomically."""
        path = self.instances / name
        atomic_write_bytes(path, data)
        return path

    def receive(self, name: str, data: bytes, sha256_hex: str | None) -> Path:
        """Store ``data`` as ``instances/<name>`` durably (journal, see the module docstring): the file
        first (temporary, renamed, not flushed), then the journal record, flushed with others at once;
        from ``DIRECT_STORE_BYTES`` on, the file is flushed itself instead (one write to disk, not two;
        ``sha256_hex`` may then be None: the engine hashes the file)."""
        path = self.instances / name
        tmp = self.instances / f".{name}.{secrets.token_hex(4)}.tmp"
        direct = len(data) >= DIRECT_STORE_BYTES
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644)
        try:
            write_all(fd, data)
            if direct:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        if direct:
            fsync_path(self.instances)  # the rename
        else:
            self.journal.append(name, data, sha256_hex or sha256_bytes(data))
        return path

    def checkpoint(self, force: bool = False) -> int:
        """Make the journal's files durable and drop its segment (``force``: whatever it holds; else
        only past ``CHECKPOINT_RECORDS`` / ``CHECKPOINT_BYTES``); the records it covered."""
        records, size = self.journal.backlog()
        if records and (force or records >= CHECKPOINT_RECORDS or size >= CHECKPOINT_BYTES):
            return self.journal.checkpoint()
        return 0

    def _write_durable(self, name: str, data: bytes, sha256_hex: str) -> None:
        """Settling a journal record: the file as received, flushed (rewritten when missing or different)."""
        path = self.instances / name
        try:
            same = path.stat().st_size == len(data) and sha256_bytes(path.read_bytes()) == sha256_hex
        except OSError:
            same = False
        if same:
            fsync_path(path)
        else:
            atomic_write_bytes(path, data)
        fsync_path(self.instances)

    def _flush_files(self, names: list[str]) -> bool:
        names = list(dict.fromkeys(names))
        if not all((self.instances / name).is_file() for name in names):
            return False
        if not sync_filesystem(self.instances):
            for name in names:
                fsync_path(self.instances / name)
            fsync_path(self.instances)  # the renames
        return True

    def reject(self, data: bytes) -> str:
        """Keep a refused data set as ``rejected/<sha256>.dcm``; its name."""
        name = f"{sha256_bytes(data)}.dcm"
        atomic_write_bytes(self.rejected / name, data)
        return name

    def has(self, name: str) -> bool:
        return (self.instances / name).is_file()

    def path(self, name: str) -> Path:
        return self.instances / name

    # ---------------------------------------------------------------- the engine only
    def scan_id(self) -> str:
        """The audit scan id of this folder, made on first use."""
        state = self.root / STATE_FILE
        try:
            return str(json.loads(state.read_text(encoding="utf-8"))["scan_id"])
        except (OSError, ValueError, KeyError, TypeError):
            scan_id = f"intake-{uuid.uuid4().hex}"
            atomic_write_json(state, {"scan_id": scan_id})
            return scan_id

    def load_index(self) -> tuple[set[str], set[str]]:
        """(names, sha256s) of the analysed items."""
        records = read_lines(self.index_path)
        return {str(r.get("name")) for r in records}, {str(r.get("sha256")) for r in records}

    def mark_analysed(self, name: str, sha256: str | None) -> None:
        append_line(self.index_path, {"name": name, "sha256": sha256})

    def mark_analysed_many(self, items: list[tuple[str, str | None]]) -> None:
        """Index lines for a batch: one write, one fsync (group commit)."""
        if items:
            append_lines(self.index_path, [{"name": name, "sha256": sha} for name, sha in items])

    def release_pages(self, names: list[str]) -> None:
        """Drop the page cache of analysed instances that were stored directly (durable on disk, from
        ``DIRECT_STORE_BYTES`` on): nothing reads them again soon, and the next instance's write then
        reuses their memory - on a VM, writing a 10 MB file into fresh page-cache memory cost ~26 ms of
        CPU, into recycled pages ~2.6 ms (benchmarks/node_throughput.py --size large). Where the OS
        offers ``posix_fadvise``; smaller (journalled, maybe not yet flushed) files are left alone."""
        advise = getattr(os, "posix_fadvise", None)
        if advise is None:
            return
        for name in names:
            try:
                if os.stat(self.path(name)).st_size < DIRECT_STORE_BYTES:
                    continue  # one stat per small instance, nothing opened
                fd = os.open(self.path(name), os.O_RDONLY)
            except OSError:  # removed meanwhile
                continue
            try:
                advise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            except OSError:
                pass
            finally:
                os.close(fd)

    def remove_interrupted_writes(self, before: float) -> int:
        """Delete the temporary files of stores a kill interrupted (``.<name>.<random>.tmp``, older than
        ``before``, a time.time()): such an item was never acknowledged, so its sender sends it again."""
        removed = 0
        for entry in os.scandir(self.instances):
            if entry.name.startswith(".") and entry.name.endswith(".tmp") and entry.stat().st_mtime < before:
                Path(entry.path).unlink(missing_ok=True)
                removed += 1
        return removed

    def pending(self, analysed_names: set[str]) -> list[str]:
        """Stored items not yet analysed, oldest first."""
        entries = []
        for entry in os.scandir(self.instances):
            if entry.is_file() and not entry.name.startswith(".") and entry.name not in analysed_names:
                entries.append((entry.stat().st_mtime_ns, entry.name))
        return [name for _, name in sorted(entries)]
