"""Batch scanning: walk folders, decode in parallel, run every model, stream results and progress.

``scan(paths, predictors)`` is a generator shared by the CLI (``meddiag scan``) and the GUI. It
yields ``Progress`` events (one with ``done == 0`` as soon as the file list is known, then one
per batch) and one ``ScanResult`` per (file, model), in file order and, per file, predictor order.

File selection: see :mod:`core.walk` (``iter_image_files``).

Decoding runs ``load_image`` + ``preprocess`` (once per distinct model input config) in a
thread pool with a bounded look-ahead of ``2 * batch_size`` files, so at most about
``3 * batch_size`` decoded images are alive however many files there are; the full-size image is
dropped in the worker as soon as its model inputs exist. The file's sha256 (for the audit
trail) is taken in the same worker.

Why threads, not a torch DataLoader with worker processes: measured on the development box
(2 CPU cores, shared with a training job, so figures are noisy; best of 3 runs, files/s):

    scan, demo cnn, batch 32      model  inline  1 thread  2 threads  4 threads  DataLoader 2 procs
    600 PNG 28 px, torch 1 thr     1154     641       562        718        704         412
    600 PNG 28 px, torch 2 thr      179      97        89        176        134          76
    120 PNG 512 px, torch 1 thr     991     159       178        146        137         109
    120 PNG 512 px, torch 2 thr     164      61        51         54         66          52

("model" = the forward alone on decoded tensors; decoding alone, serial / 2 / 4 threads /
DataLoader 2 processes: 28 px PNG 2221 / 1743 / 856 / 1686 files/s, 512 px PNG 135 / 156 / 303 /
140.) Worker processes were slowest everywhere: pickling results back, start-up (seconds
with Windows' spawn; a frozen PyInstaller app needs extra care) and no spare core to win.
Tiny PNGs are GIL-bound Python work, so what pays is overlapping decoding with the forward
(torch releases the GIL); two threads did that best. Large images gain from more threads
(zlib/JPEG release the GIL) when cores are free; ``workers`` is a parameter (``--workers``).
"""
from __future__ import annotations

import os
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from functools import partial
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np
import torch

from .audit import file_sha256
from .inference import Predictor, Result
from .io import ImageLoadError, load_image
from .jobs import CancelFlag, Progress, is_cancelled
from .preprocess import preprocess
from .walk import WalkStats, iter_image_files

__all__ = ["DEFAULT_WORKERS", "ScanResult", "scan"]

DEFAULT_WORKERS = 2  # see the module docstring: more threads only add GIL contention on small images


# ------------------------------------------------------------------- events
@dataclass
class ScanResult(Result):
    """A ``Result`` plus what the audit trail needs: the input's and the weights' sha256."""

    file_sha256: str | None = None  # None when the file cannot be read
    model_sha256: str | None = None


# ----------------------------------------------------------------- decoding
ConfigKey = tuple  # (img_size, in_chans, mean, std): predictors sharing it share the model input


def config_key(config) -> ConfigKey:
    return (config.img_size, config.in_chans, tuple(config.mean), tuple(config.std))


@dataclass
class _Decoded:
    path: str
    sha256: str | None
    inputs: dict | None = None  # ConfigKey -> preprocessed tensor (C, H, W)
    error: str | None = None


def _decode(path: str, configs: dict) -> _Decoded:
    """Runs in a worker thread; every failure becomes a path-free reason, never an exception."""
    sha = file_sha256(path)
    try:
        array = load_image(path).array
        return _Decoded(path, sha, {key: preprocess(array, cfg) for key, cfg in configs.items()})
    except ImageLoadError as err:
        return _Decoded(path, sha, error=str(err))
    except MemoryError:
        return _Decoded(path, sha, error="not enough memory to load image")
    except Exception as err:  # a surprise in one file must not end a scan of thousands
        return _Decoded(path, sha, error=f"could not process image ({type(err).__name__})")


def _decode_ahead(files: Sequence[str], decode: Callable[[str], _Decoded], workers: int,
                  lookahead: int) -> Iterator[_Decoded]:
    """Decoded files in input order; at most ``lookahead`` submitted but not yet taken."""
    if workers <= 0:
        yield from map(decode, files)
        return
    executor = ThreadPoolExecutor(workers, thread_name_prefix="meddiag-scan")
    pending: deque[Future] = deque()
    todo = iter(files)
    try:
        for path in todo:
            pending.append(executor.submit(decode, path))
            if len(pending) >= lookahead:
                break
        while pending:
            done = pending.popleft().result()
            path = next(todo, None)
            if path is not None:
                pending.append(executor.submit(decode, path))
            yield done
    finally:  # cancel, Ctrl-C or an early close: drop the look-ahead, wait for running decodes
        executor.shutdown(wait=True, cancel_futures=True)


# ---------------------------------------------------------------- batching
def _batches(items: Iterator[_Decoded], size: int, cancel: CancelFlag | None) -> Iterator[list[_Decoded]]:
    batch: list[_Decoded] = []
    for item in items:
        if is_cancelled(cancel):
            return
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _predict(batch: list[_Decoded], predictors: Sequence[Predictor]) -> list[ScanResult]:
    """Rows for a batch: each distinct model input is stacked once, every model runs once."""
    good = [item for item in batch if item.error is None]
    scores: list[tuple[np.ndarray, np.ndarray | None] | None] = [None] * len(predictors)
    stacked: dict[ConfigKey, torch.Tensor] = {}
    for i, predictor in enumerate(predictors if good else ()):
        key = config_key(predictor.card.config)
        if key not in stacked:
            stacked[key] = torch.stack([item.inputs[key] for item in good])
        scores[i] = predictor.scores(stacked[key])
    rows, index = [], 0
    for item in batch:
        for i, predictor in enumerate(predictors):
            if item.error is None:
                result = predictor.result_at(item.path, scores[i], index)
            else:
                result = predictor.error_result(item.path, item.error)
            rows.append(ScanResult(**vars(result), file_sha256=item.sha256,
                                   model_sha256=predictor.card.sha256 or None))
        index += item.error is None
    return rows


@dataclass
class _Tally:
    total: int
    skipped: int
    start: float
    ok: int = 0
    errors: int = 0

    def add(self, batch: list[_Decoded]) -> None:
        bad = sum(item.error is not None for item in batch)
        self.errors += bad
        self.ok += len(batch) - bad

    def progress(self) -> Progress:
        done, elapsed = self.ok + self.errors, time.perf_counter() - self.start
        rate = done / elapsed if done and elapsed > 0 else 0.0
        eta = (self.total - done) / rate if rate else (0.0 if done == self.total else None)
        return Progress(done, self.total, ok=self.ok, errors=self.errors, skipped=self.skipped, rate=rate,
                        eta_s=eta, elapsed_s=elapsed)


# -------------------------------------------------------------------- scan
def scan(paths: Iterable[str | os.PathLike], predictors: Sequence[Predictor], *, cancel: CancelFlag | None = None,
         batch_size: int = 32, workers: int = DEFAULT_WORKERS,
         recursive: bool = True) -> Iterator[Progress | ScanResult]:
    """Scan folders/files with every predictor; see the module docstring.

    ``workers=0`` decodes in the calling thread. Setting ``cancel`` stops the walk, or the scan
    before the next batch is predicted (rows already yielded stay valid); the last event is then
    a ``Progress`` with ``done < total`` (or ``total`` = the files found so far). Raises
    ``FileNotFoundError`` for a missing root.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if not predictors:
        raise ValueError("scan needs at least one predictor")
    start, stats, files = time.perf_counter(), WalkStats(), []
    for path in iter_image_files(paths, recursive, stats):
        if is_cancelled(cancel):
            break
        files.append(path)
    tally = _Tally(len(files), stats.skipped, start)
    yield tally.progress()
    if is_cancelled(cancel):
        return

    configs = {config_key(p.card.config): p.card.config for p in predictors}
    decode = partial(_decode, configs=configs)
    with closing(_decode_ahead(files, decode, workers, lookahead=2 * batch_size)) as decoded:
        for batch in _batches(decoded, batch_size, cancel):
            if is_cancelled(cancel):
                break
            yield from _predict(batch, predictors)
            tally.add(batch)
            yield tally.progress()
