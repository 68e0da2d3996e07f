"""Batch scanning: walk folders, decode in parallel, run every model, stream results and progress.

``scan(paths, predictors)`` is a generator shared by the CLI (``meddiag scan``) and the GUI. It
yields ``Progress`` events (one with ``done == 0`` as soon as the file list is known, then one
per batch) and one ``ScanResult`` per (file, model), in file order and, per file, predictor order.

File selection: see :mod:`core.walk` (``iter_image_files``). The per-file work (read, sha256,
``load_image`` + ``preprocess`` once per distinct model input) is :func:`core.scan_decode.decode_file`;
it runs ahead of the forward in threads or worker processes (:mod:`core.scan_pool`,
``workers_kind``), with a bounded look-ahead of ``2 * batch_size`` files, so at most about
``3 * batch_size`` decoded inputs are alive however many files there are; the full-size image never
leaves the worker. The forward runs here, batch by batch (``core.scan_predict.predict_decoded``:
the same code a cluster actor runs), and rows come out in file order. Worker processes on small
files with CPU models (``forward_in_workers``) run the forward too: each loads the models once and
turns whole batches of the scan into rows (``core.scan_predict``), this process only orders them;
per file this process then spends ~0.12 ms instead of ~0.7 ms (forward + rows) on 28 px files.

Threads or processes (``workers_kind="auto"`` picks, see ``core.scan_pool.choose_kind``): tiny
files are GIL-bound Python work where two threads overlapping decoding with the forward (torch
releases the GIL) do best and process start-up (about a second) does not pay; large images
(2-3 k px, 16-bit) are decode-bound and a process per core scales with the cores. Measured
figures: README, "Benchmarks".
"""
from __future__ import annotations

import os
import time
from contextlib import closing
from dataclasses import dataclass
from functools import partial
from typing import Callable, Container, Iterable, Iterator, Sequence

import torch

from .inference import Predictor
from .jobs import CancelFlag, Progress, is_cancelled
from .scan_decode import ConfigKey, DecodedFile, config_key, decode_files, input_configs
from .scan_pool import (LARGE_FILE_BYTES, WORKERS_KINDS, choose_kind, decode_ahead, default_workers, forward_threads,
                        median_size, run_ahead)
from .scan_predict import (ScanResult, can_predict_in_workers, load_worker_models, predict_decoded,
                           predict_paths)
from .walk import WalkStats, iter_image_files

__all__ = ["DEFAULT_WORKERS", "WORKERS_KINDS", "ConfigKey", "ScanResult", "config_key", "BatchRunner",
           "forward_in_workers", "local_runner", "predict_decoded", "scan"]

DEFAULT_WORKERS = 2  # decode threads; worker processes default to one per core (core.scan_pool)


# ---------------------------------------------------------------- batching
def _batches(items: Iterator[DecodedFile], size: int) -> Iterator[list[DecodedFile]]:
    batch: list[DecodedFile] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass
class _Tally:
    total: int
    skipped: int
    start: float
    ok: int = 0
    errors: int = 0

    def add(self, rows: Sequence[ScanResult], models: int) -> None:
        bad = sum(row.status != "ok" for row in rows) // models  # a file's rows share its status
        self.errors += bad
        self.ok += len(rows) // models - bad

    def progress(self) -> Progress:
        done, elapsed = self.ok + self.errors, time.perf_counter() - self.start
        rate = done / elapsed if done and elapsed > 0 else 0.0
        eta = (self.total - done) / rate if rate else (0.0 if done == self.total else None)
        return Progress(done, self.total, ok=self.ok, errors=self.errors, skipped=self.skipped, rate=rate,
                        eta_s=eta, elapsed_s=elapsed)


# -------------------------------------------------------------------- engines
BatchRunner = Callable[[Sequence[str], Sequence[Predictor], int], Iterator[list[ScanResult]]]
"""An engine: (files, predictors, batch_size) -> lists of rows of whole files, in file order."""


def local_runner(workers: int | None = DEFAULT_WORKERS, workers_kind: str = "auto") -> BatchRunner:
    """The engine of this machine: decode ahead in threads or processes, the forward here - or, for
    processes on small files with CPU models (``forward_in_workers``), decode and forward in them.
    ``workers=None``: the kind's default (``core.scan_pool.default_workers``); 0 decodes inline."""
    if workers_kind not in WORKERS_KINDS:
        raise ValueError(f"unknown workers kind {workers_kind!r}; use one of {', '.join(WORKERS_KINDS)}")

    def run(files: Sequence[str], predictors: Sequence[Predictor], batch_size: int) -> Iterator[list[ScanResult]]:
        kind = choose_kind(files) if workers_kind == "auto" else workers_kind
        count = default_workers(kind) if workers is None else workers
        threads = torch.get_num_threads()
        torch.set_num_threads(min(threads, forward_threads(kind, count)))  # the decoders keep their cores
        try:
            if kind == "process" and count > 0 and forward_in_workers(files, predictors):
                yield from _predicted_in_workers(files, predictors, batch_size, count)
                return
            decoded = decode_ahead(files, input_configs(predictors), count, kind, lookahead=2 * batch_size)
            with closing(decoded):
                for batch in _batches(decoded, batch_size):
                    yield predict_decoded(batch, predictors)
        finally:
            torch.set_num_threads(threads)

    return run


def forward_in_workers(files: Sequence[str], predictors: Sequence[Predictor]) -> bool:
    """Whether worker processes also run the forward: CPU models they can load, and small files (per-file
    Python work dominates; a batch of large files per task would leave cores idle at the end)."""
    size = median_size(files)
    return can_predict_in_workers(predictors) and (size is None or size < LARGE_FILE_BYTES)


def _predicted_in_workers(files: Sequence[str], predictors: Sequence[Predictor], batch_size: int,
                          workers: int) -> Iterator[list[ScanResult]]:
    """Rows per batch from worker processes that decode and predict whole batches (the same batches
    as the forward here would see), two in flight per worker; this process does the first while they start."""
    configs = input_configs(predictors)
    here = lambda part: predict_decoded(decode_files(part, configs), predictors)  # noqa: E731
    setup = partial(load_worker_models, [p.card for p in predictors])
    rows = run_ahead(files, here, predict_paths, workers, "process", (2 * workers + 1) * batch_size, batch_size,
                     setup)
    with closing(rows):
        yield from rows


# -------------------------------------------------------------------- scan
def scan(paths: Iterable[str | os.PathLike], predictors: Sequence[Predictor], *, cancel: CancelFlag | None = None,
         batch_size: int = 32, workers: int | None = DEFAULT_WORKERS, recursive: bool = True,
         workers_kind: str = "auto", exclude: Container[str] = (),
         runner: BatchRunner | None = None) -> Iterator[Progress | ScanResult]:
    """Scan folders/files with every predictor; see the module docstring.

    ``workers=0`` decodes in the calling thread; ``workers_kind``: ``auto``, ``thread`` or
    ``process``. Files in ``exclude`` (as the walk names them) are left out, e.g. those a resumed
    scan has done. ``runner`` replaces the local engine (``local_runner(workers, workers_kind)``).
    Setting ``cancel`` stops the walk, or the scan before the next batch is yielded (rows already
    yielded stay valid); the last event is then a ``Progress`` with ``done < total`` (or ``total``
    = the files found so far). Raises ``FileNotFoundError`` for a missing root.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if not predictors:
        raise ValueError("scan needs at least one predictor")
    run = runner if runner is not None else local_runner(workers, workers_kind)
    start, stats, files = time.perf_counter(), WalkStats(), []
    for path in iter_image_files(paths, recursive, stats):
        if is_cancelled(cancel):
            break
        if path not in exclude:
            files.append(path)
    tally = _Tally(len(files), stats.skipped, start)
    yield tally.progress()
    if is_cancelled(cancel) or not files:
        return
    with closing(run(files, predictors, batch_size)) as batches:
        while not is_cancelled(cancel):  # checked before the next batch is decoded and predicted
            rows = next(batches, None)
            if rows is None:
                break
            yield from rows
            tally.add(rows, len(predictors))
            yield tally.progress()
