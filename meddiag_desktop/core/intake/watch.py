"""The folder watcher: new files in a watched folder are copied into the intake store and handed
to the engine, once each, never while still being written.

Decision: files are **copied** (``instances/<sha256><suffix>``), the watched folder is never
modified. A copy the engine owns cannot vanish or change under it, so renames and deletes in the
watched folder cost nothing, a restart finds what was copied but not analysed, and the CSV's
``path`` stays valid however the folder is tidied. (The content hash also makes a renamed or
duplicated file one item.)

How new files are seen: watchdog's events (inotify, FSEvents, ReadDirectoryChangesW) and a
periodic rescan of the whole folder (``rescan_s``), which is all that works on network shares.
A candidate is ready when its size and modification time stayed the same across checks
``settle_s`` apart and it decodes (``core.io.load_image``); a file that never decodes is handed
over anyway once it was stable for ``give_up_s`` (the engine writes its error rows). Hidden files
(``.name``) and files that are not images (``core.walk``'s rule) are ignored.
"""
from __future__ import annotations

import hashlib
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..io import load_image, sniff_format
from ..walk import IMAGE_SUFFIXES
from .events import Arrival
from .store import IntakeStore


@dataclass
class _Candidate:
    size: int
    mtime_ns: int
    since: float  # monotonic time the (size, mtime) was first seen


def _signature(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns) if os.path.isfile(path) else None


def _is_image(path: str) -> bool:
    return os.path.splitext(path)[1].lower() in IMAGE_SUFFIXES or sniff_format(path) is not None


def _decodes(path: str) -> bool:
    try:
        load_image(path)
    except Exception:
        return False
    return True


class FolderWatcher:
    """``start()`` / ``stop()``; ready files are stored in ``store`` and passed to ``submit``."""

    def __init__(self, folder: str | os.PathLike, store: IntakeStore, submit: Callable[[Arrival], None], *,
                 settle_s: float = 1.0, rescan_s: float = 30.0, give_up_s: float = 30.0,
                 use_events: bool = True) -> None:
        self.folder = Path(folder).resolve()
        if not self.folder.is_dir():
            raise FileNotFoundError(f"no such folder: {folder}")
        if Path(store.root).resolve().is_relative_to(self.folder):
            raise ValueError("the intake store must not be inside the watched folder")
        self.store, self.submit = store, submit
        self.settle_s, self.rescan_s, self.give_up_s, self.use_events = settle_s, rescan_s, give_up_s, use_events
        self._candidates: dict[str, _Candidate] = {}
        self._done: dict[str, tuple[int, int]] = {}  # path -> signature handed over (or known)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._observer = None

    # ------------------------------------------------------------------ life
    def start(self) -> "FolderWatcher":
        if self.use_events:
            self._observer = _start_observer(self.folder, self.notice)
        self._thread = threading.Thread(target=self._loop, name="meddiag-watch", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(5)
        if self._thread is not None:
            self._thread.join(10)

    def notice(self, path: str) -> None:
        """A file may be new or changed (any thread)."""
        if self._visible(path):
            with self._lock:
                self._candidates.setdefault(path, _Candidate(-1, -1, time.monotonic()))

    # ------------------------------------------------------------------ the loop
    def _loop(self) -> None:
        next_rescan = 0.0
        while not self._stop.is_set():
            if time.monotonic() >= next_rescan:
                self._rescan()
                next_rescan = time.monotonic() + self.rescan_s
            self._check()
            self._stop.wait(self.settle_s / 2)

    def _visible(self, path: str) -> bool:
        rel = os.path.relpath(path, self.folder)
        return not rel.startswith("..") and not any(part.startswith(".") for part in Path(rel).parts)

    def _rescan(self) -> None:
        for root, dirs, files in os.walk(self.folder):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in files:
                path = os.path.join(root, name)
                if not name.startswith(".") and self._done.get(path) != _signature(path):
                    self.notice(path)

    def _check(self) -> None:
        now = time.monotonic()
        with self._lock:
            candidates = list(self._candidates.items())
        for path, seen in candidates:
            if self._stop.is_set():
                return
            signature = _signature(path)
            if signature is None or self._done.get(path) == signature:  # gone, renamed, or known
                self._forget(path)
                continue
            if signature != (seen.size, seen.mtime_ns):  # new or still growing
                with self._lock:
                    self._candidates[path] = _Candidate(*signature, now)
                continue
            stable_for = now - seen.since
            if stable_for < self.settle_s or signature[0] == 0:
                continue
            if not _is_image(path):
                self._done[path] = signature
                self._forget(path)
                continue
            if not _decodes(path) and stable_for < self.give_up_s:
                continue
            self._hand_over(path, signature)

    def _forget(self, path: str) -> None:
        with self._lock:
            self._candidates.pop(path, None)

    def _hand_over(self, path: str, signature: tuple[int, int]) -> None:
        try:
            data = Path(path).read_bytes()
        except OSError:
            return  # gone meanwhile; a rename shows up as a new path
        if _signature(path) != signature or len(data) != signature[0]:
            return  # changed while read: checked again next round
        suffix = os.path.splitext(path)[1].lower()
        if suffix not in IMAGE_SUFFIXES:
            suffix = ".dcm" if sniff_format(path) == "dicom" else ".img"
        sha = hashlib.sha256(data).hexdigest()
        name = f"{sha}{suffix}"
        self._done[path] = signature
        self._forget(path)
        if self.store.has(name):
            return  # the same content again (a copy, a rename): already taken
        try:
            self.store.store(name, data)
        except OSError:
            self._done.pop(path, None)  # disk full: tried again at the next rescan
            return
        rel = Path(os.path.relpath(path, self.folder)).parts
        self.submit(Arrival(name, "folder", folder=rel[0] if len(rel) > 1 else "", sha256=sha))


def _start_observer(folder: Path, notice: Callable[[str], None]):
    from watchdog.events import FileSystemEventHandler
    from watchdog.observers import Observer

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event) -> None:
            if event.is_directory:
                return
            for path in (getattr(event, "dest_path", ""), event.src_path):
                if path and os.path.isfile(path):
                    notice(os.fsdecode(path))

    observer = Observer()
    observer.schedule(Handler(), str(folder), recursive=True)
    observer.daemon = True
    observer.start()
    return observer
