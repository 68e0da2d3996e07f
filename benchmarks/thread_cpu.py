"""CPU time of this process's threads, by kind, sampled from /proc (Linux; empty elsewhere): where a
process's time goes when its threads share it (e.g. the DICOM node's association and reader threads
beside the engine's decoders). A thread that ends between two samples loses at most one interval."""
from __future__ import annotations

import os
import threading
import time
from collections import Counter
from typing import Callable


class ThreadCpu:
    """``start()``, the work, ``stop()`` -> {kind: CPU seconds}; ``kind_of(thread)`` names a Python thread's
    kind (threads Python does not know are "native")."""

    def __init__(self, kind_of: Callable[[threading.Thread], str], interval_s: float = 0.02) -> None:
        self.kind_of, self.interval_s = kind_of, interval_s
        self.seconds: Counter = Counter()
        self._last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample_until_stopped, name="thread-cpu sampler", daemon=True)

    def start(self) -> "ThreadCpu":
        if os.path.isdir("/proc/self/task"):
            self._sample()
            self._thread.start()
        return self

    def stop(self) -> dict[str, float]:
        if self._thread.is_alive():
            self._stop.set()
            self._thread.join()
            self._sample()
        return dict(self.seconds)

    def _sample_until_stopped(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def _sample(self) -> None:
        by_id = {t.native_id: t for t in threading.enumerate()}
        tick = os.sysconf("SC_CLK_TCK")
        for entry in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{entry}/stat", encoding="ascii") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:  # ended meanwhile
                continue
            tid, seconds = int(entry), (int(fields[11]) + int(fields[12])) / tick
            if tid in self._last:
                thread = by_id.get(tid)
                self.seconds[self.kind_of(thread) if thread is not None else "native"] += seconds - self._last[tid]
            self._last[tid] = seconds
