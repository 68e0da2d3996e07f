"""Where a scan decodes: the calling thread, a thread pool or a pool of worker processes.

``decode_ahead(files, configs, workers, kind, lookahead)`` yields ``DecodedFile`` in input order
with at most ``lookahead`` files submitted but not yet taken, so memory stays bounded however many
files there are. ``kind``:

* ``"thread"``: decoding shares the GIL with the forward; best for small files on few cores
  (PNG/zlib and the torch resize release the GIL only part of the time);
* ``"process"``: a pool of ``workers`` processes, started once per scan, fed chunks of paths, each
  returning the small preprocessed arrays (``core.scan_decode``); the forward stays in the calling
  process. Uses every core on large images. The processes are started with ``spawn`` (Windows,
  macOS, frozen apps) or ``forkserver`` (Linux: the server imports the decoder once, then forks
  cheap children; never ``fork``, which would copy torch's thread pools mid-state). Workers
  ignore SIGINT (Ctrl-C reaches the scan, which shuts the pool down), run torch on one thread and
  exit by themselves if the scan's process dies;
  ``run_ahead`` is the same pool for any per-chunk work, e.g. decoding and predicting whole
  batches (``core.scan``: the models loaded once per process by a ``setup`` function);
* ``"auto"``: ``choose_kind`` (processes for large files - in threads on 2 cores where this process keeps
  freed buffers, as ``meddiag scan`` does - or for many small files).

Small files travel several to a task, large ones one by one (``chunk_size``). While the worker
processes start (a thread starts them: on Linux each start waits for the forkserver's imports), the
calling process decodes the first files itself, then queued chunks no worker has taken yet. Decode
processes keep freed image buffers for the next file (``keep_freed_buffers``). The caller's forward
should keep to the cores the decoders leave (``forward_threads``; ``core.scan`` does).

Stopping (cancel, Ctrl-C, closing the generator): queued work is dropped, running chunks finish
and every worker process has exited when the generator's ``close`` returns.
"""
from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import statistics
import sys
import threading
from collections import deque
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import closing
from functools import partial
from typing import Callable, Iterator, Mapping, Sequence

from .scan_decode import DecodedFile, decode_file, decode_files

__all__ = ["LARGE_FILE_BYTES", "THREAD_DECODE_CORES", "WORKERS_KINDS", "choose_kind", "chunk_size", "decode_ahead",
           "default_workers", "forward_threads", "keep_freed_buffers", "may_choose_processes", "median_size",
           "prestart_processes", "run_ahead", "usable_cores"]

WORKERS_KINDS = ("auto", "thread", "process")
LARGE_FILE_BYTES = 512 * 1024  # median file size from which "auto" picks processes
MIN_PROCESS_FILES = 64  # fewer files than this: starting processes costs more than it saves
MANY_FILES = 2000  # this many small files: processes pay too (the per-file Python work leaves the GIL)
THREAD_DECODE_CORES = 2  # up to this many cores, large files decode in threads (see choose_kind)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc mallopt parameters
_TRIM_BYTES = 256 << 20  # free memory a decoding process keeps (default: 128 KB, raised to 2x the largest freed block)
_MMAP_BYTES = 32 << 20  # blocks up to this come from the heap, reused (glibc's maximum; default 128 KB, adaptive)
_PILLOW_BLOCKS = 8  # Pillow's image blocks kept for reuse (default 0)


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # Windows, macOS
        return os.cpu_count() or 1


def median_size(files: Sequence[str], sample: int = 16) -> int | None:
    """Median size in bytes of the first ``sample`` readable files (None when none is)."""
    sizes = []
    for path in files[:sample]:
        try:
            sizes.append(os.path.getsize(path))
        except OSError:
            pass
    return int(statistics.median(sizes)) if sizes else None


def choose_kind(files: Sequence[str], cores: int | None = None, sample: int = 16,
                buffers_kept: bool | None = None) -> str:
    """``"process"`` when there are >= 2 cores and enough files, either large ones (median size of the
    first ``sample`` >= ``LARGE_FILE_BYTES``) or ``MANY_FILES`` small ones; else ``"thread"``. Large files
    stay in threads on up to ``THREAD_DECODE_CORES`` cores when this process keeps freed buffers
    (``buffers_kept``, default: whether ``keep_freed_buffers`` ran here - the CLI, never the window):
    their decoding holds the GIL ~7 % of its time (PNG inflate, sha256, numpy and the torch resize release
    it), so on 2 cores two threads use both (2 % of their time waiting for the GIL, py-spy) without the
    processes' start-up (the forkserver's torch import, ~1.5 s of a core, and each worker's first file)."""
    cores = usable_cores() if cores is None else cores
    if cores < 2 or len(files) < MIN_PROCESS_FILES:
        return "thread"
    size = median_size(files, sample)
    if size is not None and size >= LARGE_FILE_BYTES:
        return "thread" if _large_in_threads(cores, buffers_kept) else "process"
    return "process" if len(files) >= MANY_FILES else "thread"


def may_choose_processes(first_files: Sequence[str], cores: int | None = None,
                         buffers_kept: bool | None = None) -> bool:
    """Whether ``choose_kind`` may pick processes for a scan that starts with ``first_files`` (the
    count not known yet): worth starting the forkserver early (``prestart_processes``) only then."""
    cores = usable_cores() if cores is None else cores
    size = median_size(first_files)
    large = size is not None and size >= LARGE_FILE_BYTES
    return cores >= 2 and not (large and _large_in_threads(cores, buffers_kept))


def _large_in_threads(cores: int, buffers_kept: bool | None) -> bool:
    return cores <= THREAD_DECODE_CORES and (_Buffers.kept if buffers_kept is None else buffers_kept)


def chunk_size(files: Sequence[str], workers: int, lookahead: int) -> int:
    """Files per task: large files one by one (a chunk of them would leave a core idle at the end),
    small ones several (a task costs ~20 us in this process: a thread future, or an IPC message)."""
    size = median_size(files)
    if workers <= 0 or (size is not None and size >= LARGE_FILE_BYTES):
        return 1
    return max(1, min(8, lookahead // (2 * workers)))


def forward_threads(kind: str, workers: int, cores: int | None = None) -> int:
    """torch threads for the forward while ``workers`` decode beside it: the cores they leave (at
    least 1). Decoding threads share one GIL, so they take about one core. Fewer threads than cores
    matter: an OpenMP forward whose thread is pre-empted by a decoder stalls every thread of it."""
    cores = usable_cores() if cores is None else cores
    busy = 0 if workers <= 0 else 1 if kind == "thread" else workers
    return max(1, cores - busy)


def default_workers(kind: str, cores: int | None = None) -> int:
    """Threads: 2 (more only add GIL contention on small images); processes: one per core."""
    return 2 if kind == "thread" else max(1, usable_cores() if cores is None else cores)


def process_context() -> multiprocessing.context.BaseContext:
    if sys.platform.startswith("linux") and not getattr(sys, "frozen", False):
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["meddiag_desktop.core.scan_decode", "meddiag_desktop.core.scan_predict"])
        return context
    return multiprocessing.get_context("spawn")


def prestart_processes() -> None:
    """Start the forkserver (Linux) now, so that it imports the decoder (torch included) beside the
    caller's own start-up (loading models, listing files) rather than when the scan starts; no-op elsewhere."""
    if process_context().get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


def _exit_with_parent() -> None:
    parent = multiprocessing.parent_process()
    if parent is not None:
        parent.join()  # returns when the scan's process is gone (even after SIGKILL)
        os._exit(0)


class _Buffers:
    kept = False  # keep_freed_buffers ran in this process


def keep_freed_buffers() -> None:
    """Let this process reuse the memory of one file's large arrays for the next. By default glibc gives
    a freed 10-20 MB array back to the kernel and faults it in again page by page for the next file
    (~8000 page faults, ~20 ms of system time per 2-3 k px 16-bit file here), and Pillow frees its image
    blocks. Process-wide (memory stays with the process), so only for processes whose job is a scan (the
    decode workers, the ``meddiag scan`` command), never the window's; Pillow's part only off glibc."""
    from PIL import Image

    _Buffers.kept = True
    if hasattr(Image.core, "set_blocks_max"):
        Image.core.set_blocks_max(_PILLOW_BLOCKS)
    if not sys.platform.startswith("linux"):
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt  # glibc; musl has none
    except (OSError, AttributeError):
        return
    mallopt(_M_TRIM_THRESHOLD, _TRIM_BYTES)
    mallopt(_M_MMAP_THRESHOLD, _MMAP_BYTES)


def worker_setup(then: Callable[[], None] | None = None) -> None:
    """Initializer of a decode process: Ctrl-C is the scan's business, torch on one thread, freed
    image buffers kept for the next file; then ``then`` (e.g. loading the scan's models)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    keep_freed_buffers()
    import torch

    torch.set_num_threads(1)
    threading.Thread(target=_exit_with_parent, daemon=True, name="meddiag-parent-watch").start()
    if then is not None:
        then()


def _executor(kind: str, workers: int, setup: Callable[[], None] | None = None) -> Executor:
    if kind == "process":
        return ProcessPoolExecutor(workers, mp_context=process_context(), initializer=partial(worker_setup, setup))
    return ThreadPoolExecutor(workers, thread_name_prefix="meddiag-scan")


def _chunks(files: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(files), size):
        yield files[start:start + size]


def decode_ahead(files: Sequence[str], configs: Mapping, workers: int, kind: str = "thread",
                 lookahead: int = 64, chunk: int | None = None) -> Iterator[DecodedFile]:
    """Decoded files in input order; see the module docstring. ``workers <= 0`` decodes inline.
    ``chunk``: files per task (default ``chunk_size``)."""
    if kind not in ("thread", "process"):
        raise ValueError(f"unknown workers kind {kind!r}; use thread or process")
    if workers <= 0:
        for path in files:
            yield decode_file(path, configs)
        return
    chunk = chunk_size(files, workers, lookahead) if chunk is None else max(1, chunk)
    work = partial(decode_files, configs=configs)
    with closing(run_ahead(files, work, work, workers, kind, lookahead, chunk)) as parts:
        for part in parts:
            yield from part


def run_ahead(files: Sequence[str], here: Callable[[Sequence[str]], list], there: Callable[[Sequence[str]], list],
              workers: int, kind: str, lookahead: int, chunk: int,
              setup: Callable[[], None] | None = None) -> Iterator[list]:
    """``there(part)`` per chunk of ``chunk`` files in ``workers`` threads or processes, the lists in
    input order, at most ``lookahead`` files submitted but not yet taken. ``here``: the same work in
    this process (while the processes start); ``there`` and ``setup`` (run once per worker process
    after ``worker_setup``) must pickle for processes. Stopping: see the module docstring."""
    executor = _executor(kind, workers, setup)
    starter = _PoolStart(executor, workers) if kind == "process" else None
    pending: deque[_Task] = deque()
    todo = _chunks(files, chunk)
    warm = kind == "thread"  # threads start at once; processes take a second or two (imports)
    try:
        if starter is not None:
            for part in todo:  # the processes are being started: this process works, in order, meanwhile
                yield here(part)
                if not starter.running():
                    break
            starter.join()  # raises what starting the pool raised
        for part in todo:
            pending.append(_Task(part, executor.submit(there, part)))
            if (len(pending) + 1) * chunk > lookahead:
                break
        while pending:
            head = pending[0]
            while not warm and not head.ready() and _work_one_here(pending, here):
                pass  # the pool is still starting: this process works on queued chunks meanwhile
            pending.popleft()
            if head.done_here is None:
                warm = True
            yield head.result()  # the chunk being handed out counts in the look-ahead
            part = next(todo, None)
            if part is not None:
                pending.append(_Task(part, executor.submit(there, part)))
    finally:  # cancel, Ctrl-C or an early close: drop the look-ahead, wait for running chunks
        if starter is not None:
            starter.join(reraise=False)
        executor.shutdown(wait=True, cancel_futures=True)


class _PoolStart:
    """Starts a process pool's workers in a thread: on Linux each start waits until the forkserver has
    imported the decoder (torch: 1-2 s), which the caller spends decoding instead of waiting."""

    def __init__(self, executor: Executor, workers: int) -> None:
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(executor, workers), daemon=True,
                                        name="meddiag-pool-start")
        self._thread.start()

    def _run(self, executor: Executor, workers: int) -> None:
        try:
            for _ in range(workers):  # each task finding no idle worker starts one
                executor.submit(os.getpid)
        except BaseException as err:  # noqa: BLE001 - handed to the scan's thread by join()
            self.error = err

    def running(self) -> bool:
        return self._thread.is_alive()

    def join(self, reraise: bool = True) -> None:
        self._thread.join()
        if reraise and self.error is not None:
            raise self.error


class _Task:
    """A chunk of paths sent to the pool, or taken back and done in this process."""

    def __init__(self, paths: Sequence[str], future: Future) -> None:
        self.paths, self.future = paths, future
        self.done_here: list | None = None

    def ready(self) -> bool:
        return self.done_here is not None or self.future.done()

    def result(self) -> list:
        return self.done_here if self.done_here is not None else self.future.result()


def _work_one_here(pending: deque[_Task], here: Callable[[Sequence[str]], list]) -> bool:
    """Take back the first queued chunk no worker has started and do it here; False when none is left."""
    for task in pending:
        if task.done_here is None and task.future.cancel():
            task.done_here = here(task.paths)
            return True
    return False
