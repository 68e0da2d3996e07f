"""Results waiting for delivery: files in an outbox folder, sent by a background thread, retried
with exponential back-off, removed only once the destination accepted them. The folder is the
state: what a restart finds there is sent.

``send(paths)`` (e.g. ``sender.CStoreSender``) returns, per path, None for delivered, a short
reason for a transient failure (retried) or ``Refused`` for a permanent one; it may raise for
"destination unreachable" (every path failed, transiently). A refused file moves to
``failed/`` beside a ``<name>.json`` reason record (name, destination, reason, attempts, time:
nothing from the patient) and is never retried; a user may move it back to retry it. Every
outcome is handed to ``notify`` as a ``Delivered`` / ``DeliveryFailed`` event (the engine yields
them).
"""
from __future__ import annotations

import os
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

from ..atomic import atomic_write_bytes, atomic_write_json
from .events import Delivered, DeliveryFailed, Refused

SendFn = Callable[[Sequence[Path]], dict]


class Outbox:
    def __init__(self, folder: str | os.PathLike, send: SendFn, destination: str, *,
                 notify: Callable[[object], None] = lambda event: None, first_retry_s: float = 1.0,
                 max_retry_s: float = 60.0, batch: int = 50) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.failed = self.folder / "failed"
        self.send, self.destination, self.notify = send, destination, notify
        self.first_retry_s, self.max_retry_s, self.batch = first_retry_s, max_retry_s, batch
        self._attempts: dict[str, int] = {}
        self._not_before: dict[str, float] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def put(self, path: str | os.PathLike) -> Path:
        """Queue a copy of ``path`` (written atomically: a restart never sends half a file)."""
        source = Path(path)
        target = self.folder / source.name
        try:
            os.link(source, target.with_name(f".{source.name}.link"))
            os.replace(target.with_name(f".{source.name}.link"), target)
        except OSError:  # another file system, or no hard links
            atomic_write_bytes(target, source.read_bytes())
        self._wake.set()
        return target

    def waiting(self) -> list[Path]:
        return sorted(p for p in self.folder.iterdir() if p.is_file() and not p.name.startswith("."))

    def refused(self) -> list[Path]:
        """Files the destination refused for good (each with a ``.json`` reason record)."""
        if not self.failed.is_dir():
            return []
        return sorted(p for p in self.failed.iterdir() if p.is_file() and p.suffix != ".json")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="meddiag-outbox", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            due = [p for p in self.waiting() if self._not_before.get(p.name, 0.0) <= now][: self.batch]
            if due:
                self._deliver(due)
                continue
            later = [t for t in self._not_before.values() if t > now]
            self._wake.wait(min([1.0, *(t - now for t in later)]))
            self._wake.clear()

    def _deliver(self, paths: list[Path]) -> None:
        try:
            outcome = self.send(paths)
        except Exception as exc:  # unreachable, refused association: all of them wait
            outcome = {p: str(exc) or type(exc).__name__ for p in paths}
        for path in paths:
            reason = outcome.get(path, "no answer")
            if reason is None:
                path.unlink(missing_ok=True)
                self._attempts.pop(path.name, None)
                self._not_before.pop(path.name, None)
                self.notify(Delivered(path.name, self.destination))
                continue
            attempt = self._attempts.get(path.name, 0) + 1
            if isinstance(reason, Refused):
                self._set_aside(path, reason.reason, attempt)
                self.notify(DeliveryFailed(path.name, self.destination, reason.reason, attempt, 0.0, permanent=True))
                continue
            delay = min(self.max_retry_s, self.first_retry_s * 2 ** (attempt - 1))
            self._attempts[path.name] = attempt
            self._not_before[path.name] = time.monotonic() + delay
            self.notify(DeliveryFailed(path.name, self.destination, reason, attempt, delay))

    def _set_aside(self, path: Path, reason: str, attempts: int) -> None:
        """Move a refused file to ``failed/``, its reason record first (a crash in between leaves
        a record and the file still waiting: it is sent, and refused, once more)."""
        self.failed.mkdir(exist_ok=True)
        record = {"name": path.name, "destination": self.destination, "reason": reason, "attempts": attempts,
                  "refused_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        atomic_write_json(self.failed / f"{path.name}.json", record)
        os.replace(path, self.failed / path.name)
        self._attempts.pop(path.name, None)
        self._not_before.pop(path.name, None)

