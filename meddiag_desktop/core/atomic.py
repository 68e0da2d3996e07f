"""Atomic file writes: write a temporary file in the same folder, fsync it, rename it over the target,
fsync the folder. A kill at any point leaves the old file or the new one, never a mix."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except FileNotFoundError:  # a new folder (one stat less per write where it exists)
        path.parent.mkdir(parents=True, exist_ok=True)
        fsync_path(path.parent.parent)  # the new folder's own entry
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            # mkstemp makes 0600 files; keep the target's mode, or an ordinary readable file's
            try:
                mode = path.stat().st_mode & 0o777
            except FileNotFoundError:
                mode = 0o644
            if hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), mode)
            else:  # Windows
                os.chmod(tmp, mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_path(path.parent)


def atomic_write_json(path: str | os.PathLike, obj) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=False, allow_nan=False) + "\n").encode("utf-8"))


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` to ``fd`` (``os.write`` may write fewer)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def append_complete_lines(path: str | os.PathLike, data: bytes, mode: int = 0o600) -> int:
    """Append ``data`` (complete lines) in one write with ``O_APPEND``; a torn last line (a crash in
    an earlier write) is closed off first, so it stays one bad line of its own. Returns the open
    descriptor, for the caller to fsync (now or later) and close."""
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0), mode)
    try:
        size = os.fstat(fd).st_size
        if size:
            os.lseek(fd, size - 1, os.SEEK_SET)
            if os.read(fd, 1) != b"\n":
                data = b"\n" + data
        write_all(fd, data)
    except BaseException:
        os.close(fd)
        raise
    return fd


def sync_and_close(fd: int) -> None:
    """Flush an open file to disk, then close it (closed even when the flush fails)."""
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_path(path: Path) -> None:
    """Flush a file (or, where the platform allows, a folder) to disk."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # Windows cannot open folders
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
