"""The intake engine's forward in a worker process: decode, preprocess and predict a batch there.

The node's process holds one GIL for its association threads (receiving, checking, storing) and
the engine; decoding small DICOM files and the models' Python around the forward take as much of
it as receiving does. A worker process (the scan's machinery: ``core.scan_pool.worker_setup``, the
forkserver with the decoder pre-imported) loads every model of the engine once from its card and
returns the rows of a batch (``core.scan_predict.predict_decoded``: the same rows as a scan); the
node's process keeps receiving meanwhile. Only where every model can be rebuilt from its card on
the CPU (``can_predict_in_workers``) and the files are small; a pool that breaks (a killed worker)
is replaced on the next batch, the failed one analysed here (after ``MAX_BROKEN`` pools, or when
none can start, every batch is analysed here).

Large instances (a modality's 5-20 MB) are decoded in threads of the engine's process instead
(``predict_in_threads``, as ``meddiag scan`` decodes large files on 2 cores): decoding one holds the
GIL ~7 % of its time, so the threads use every core, and the bytes never cross a process boundary.
The hashes the engine took already are passed on, not taken again.
"""
from __future__ import annotations

import threading
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import Sequence

from ..inference import Predictor
from ..scan_decode import decode_file, decode_files, input_configs
from ..scan_pool import process_context, worker_setup
from ..scan_predict import ScanResult, can_predict_in_workers, predict_decoded

__all__ = ["ForwardPool", "load_models", "predict_batch", "predict_in_threads"]

MAX_BROKEN = 3
_models: list[Predictor] = []  # in a worker: the engine's models, in its order


def load_models(cards: Sequence) -> None:
    """Worker-process initializer: every model of the engine, once, on the CPU."""
    _models[:] = [Predictor(card, "cpu") for card in cards]


def predict_batch(paths: Sequence[str], models: Sequence[int]) -> list[ScanResult]:
    """In a worker: rows of ``paths`` (file then model order) by the engine's models at ``models``."""
    chosen = [_models[i] for i in models]
    return predict_decoded(decode_files(paths, input_configs(chosen)), chosen)


def predict_in_threads(paths: Sequence[str], sha256s: Sequence[str | None], predictors: Sequence[Predictor],
                       threads: Executor | None) -> list[ScanResult]:
    """Rows of ``paths`` (file then model order): decoded in the ``threads`` pool (the engine's, for
    its whole run; None: here, one by one; ``sha256s``: the files' known hashes, None where not
    known), then one forward here."""
    configs = input_configs(predictors)
    if threads is None or len(paths) <= 1:
        decoded = [decode_file(path, configs, sha) for path, sha in zip(paths, sha256s)]
    else:
        decoded = list(threads.map(decode_file, paths, [configs] * len(paths), sha256s))
    return predict_decoded(decoded, predictors)


class ForwardPool:
    """``workers`` processes that run ``predict_batch`` for the engine; ``usable`` says whether its
    models can run there at all. ``start()`` (the engine's start) begins loading them in the background."""

    def __init__(self, predictors: Sequence[Predictor], workers: int = 1) -> None:
        self.predictors = list(predictors)
        self.workers = workers
        self.usable = workers > 0 and can_predict_in_workers(predictors)
        self._executor: ProcessPoolExecutor | None = None
        self._started: list = []
        self._broken = 0  # pools that broke: after MAX_BROKEN the engine's process does the forward
        self._lock = threading.Lock()  # start / stop from the engine's thread and a caller's (``ready``)

    def start(self) -> None:
        """Start the workers (their model loading runs in the background); a pool that cannot start
        (no process start-up here) leaves the forward in the engine's process."""
        with self._lock:
            if not self.usable or self._executor is not None:
                return
            setup = partial(worker_setup, partial(load_models, [p.card for p in self.predictors]))
            executor = None
            try:
                executor = ProcessPoolExecutor(self.workers, mp_context=process_context(), initializer=setup)
                self._started = [executor.submit(int) for _ in range(self.workers)]
                self._executor = executor
            except Exception:  # e.g. the forkserver failed to start
                if executor is not None:
                    executor.shutdown(wait=False, cancel_futures=True)
                self.usable = False

    def ready(self, timeout: float | None = None) -> bool:
        """Wait until the workers have loaded their models (True; at once when not usable)."""
        self.start()
        with self._lock:
            started, usable = list(self._started), self.usable
        if not usable:
            return True
        try:
            for future in started:
                future.result(timeout)
        except Exception:  # a timeout, a broken pool: not ready
            return False
        return True

    def predict(self, paths: Sequence[str], predictors: Sequence[Predictor]) -> list[ScanResult] | None:
        """The batch's rows from a worker; None when the pool is not usable or broke (analyse here)."""
        if not self.usable:
            return None
        self.start()
        executor = self._executor
        if executor is None:
            return None
        try:
            return executor.submit(predict_batch, list(paths), [self.predictors.index(p) for p in predictors]).result()
        except (BrokenProcessPool, OSError):  # a killed worker, a failed start: a new pool next time
            self.stop()
            self._broken += 1
            self.usable = self._broken < MAX_BROKEN
            return None

    def stop(self) -> None:
        with self._lock:
            executor, self._executor, self._started = self._executor, None, []
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
