"""One pattern for every long job: ``Job`` handles run by a ``JobRunner`` lane on a QThread.

Usage (GUI thread)::

    runner = JobRunner("models", parent=window)           # one worker thread, jobs run one at a time
    job = runner.submit(Job(fn, arg1, arg2, name="predict"), priority=10)
    job.yielded.connect(window.on_event)                  # any callable is fine, see below
    job.errored.connect(window.on_error)                  # JobError(message, details, exception)
    job.cancel()                                          # no yielded/returned signal after this

The job function runs in the worker thread as ``fn(progress, cancel, *args, **kwargs)``:

* ``progress(done, total=None, text="")`` reports progress (throttled to ~20 Hz);
* ``cancel`` is a ``threading.Event``: check it (or pass it to core, e.g. ``explain(cancel=...)``);
  raising ``core.jobs.Cancelled`` - or anything while ``cancel`` is set - ends the job as cancelled;
* it may ``return`` a value (-> ``returned``) or be a generator: each ``yield`` -> ``yielded``
  (live results, loss curves...), its ``return`` value -> ``returned``; cancel is checked between yields.
* any exception becomes ``errored(JobError)``; the thread lives on and runs the next job.

Values cross threads by reference: yield/return immutable records or fresh arrays, never something
the job mutates later. Yield at a human rate (per image, per epoch, or throttle per batch yourself):
every yield is one event for the GUI thread; ``progress`` is throttled for you.

Thread rule (the Qt trap): a lambda or plain function connected to a signal *emitted in the worker
thread* runs in the worker thread. So the worker only ever emits to the runner, a QObject living in
the GUI thread, and the runner re-emits every event from the ``Job``'s own signals - in the GUI
thread. Whatever is connected to a ``Job`` therefore runs in the GUI thread.

``JobRunner.shutdown()`` (window close) drops queued jobs, cancels the running one and joins the
thread. For independent work use another runner (e.g. the window has an "io" lane for image
loading and a "models" lane for torch, so a slow model never delays showing an image).
"""
from __future__ import annotations

import gc
import heapq
import inspect
import itertools
import logging
import os
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Hashable

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from ..core.jobs import Cancelled, Progress  # noqa: F401 - Progress re-exported
from .guard import GUI_GUARD, ensure_gui_thread, gui_only  # noqa: F401 - re-exported

log = logging.getLogger(__name__)

# The GUI thread and the lanes share one GIL. A lane running torch / numpy from Python holds it
# between C calls; a GUI slot or paint that releases it for a Qt call then waits up to the switch
# interval (CPython default 5 ms) to get it back - per Qt call. A paint of the image view makes
# dozens of such calls, so 5 ms turned into 40-80 ms stalls. 1 ms keeps each wait short; the lanes
# lose well under 1 % (a switch only happens when another thread asks for the GIL).
GIL_SWITCH_INTERVAL_S = 0.001


def favour_gui_thread() -> None:
    """Process-wide: shorten the GIL switch interval to GIL_SWITCH_INTERVAL_S (never lengthen it)."""
    if sys.getswitchinterval() > GIL_SWITCH_INTERVAL_S:
        sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)


# On two cores a lane running flat out competes with the GUI thread for a CPU: when a timer or input
# event wakes the GUI thread it should get one at once. A lane's thread runs a few nice levels below
# the process (Linux: per-thread nice; elsewhere QThread's LowPriority maps to the OS scheduler).
LANE_NICE_INCREMENT = 5


def lower_lane_priority() -> None:
    """Called in a lane's thread: make it yield the CPU to the GUI thread (best effort)."""
    if not hasattr(os, "setpriority") or not sys.platform.startswith("linux"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + LANE_NICE_INCREMENT))
    except OSError as exc:
        log.debug("could not lower the lane's priority: %s", exc)


def freeze_long_lived_objects() -> None:
    """Move every object alive now (modules, torch, the models) out of the cyclic GC's reach.

    With torch, Qt and pyqtgraph imported, a full (generation 2) collection walks ~400 000
    objects: 200-500 ms holding the GIL, at a moment nobody chooses - measured as the longest UI
    stall while fine-tuning. Called once the heavy imports are done; objects made later are
    collected as usual, and reference counting still frees everything that is not in a cycle."""
    gc.freeze()


@dataclass(frozen=True)
class JobError:
    """A job's failure, ready for a message box: one readable line plus the traceback."""

    job: str
    message: str
    details: str
    exception: BaseException | None = None

    @classmethod
    def from_exception(cls, job: str, exc: BaseException) -> "JobError":
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        return cls(job=job, message=message, details=details, exception=exc)


# ------------------------------------------------------------------------------------------ Job
class Job(QObject):
    """A unit of background work and its GUI-thread handle (create it in the GUI thread)."""

    started = Signal()
    progressed = Signal(object)  # Progress
    yielded = Signal(object)  # each value a generator job yields
    returned = Signal(object)  # the function's return value
    errored = Signal(object)  # JobError
    cancelled = Signal()
    finished = Signal()  # always last, whatever the outcome

    _ids = itertools.count(1)

    def __init__(self, fn: Callable[..., Any], *args: Any, name: str | None = None, tag: str | None = None,
                 key: Hashable | None = None, **kwargs: Any) -> None:
        super().__init__()
        self.id = next(self._ids)
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.name = name or getattr(fn, "__name__", "job")
        self.tag = tag  # free-form group name for JobRunner.cancel(tag=...)
        self.key = key  # what the job is for, e.g. ("predict", path): JobHost keeps one job per key
        self.cancel_event = threading.Event()
        self.state = "new"  # new -> queued -> running -> returned | errored | cancelled
        self.result: Any = None
        self.error: JobError | None = None
        self._runner: JobRunner | None = None

    @property
    def done(self) -> bool:
        return self.state in ("returned", "errored", "cancelled")

    @property
    def is_cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def cancel(self) -> None:
        """Ask the job to stop; a queued job is dropped at once. No results are delivered after this."""
        self.cancel_event.set()
        if self.state == "queued" and self._runner is not None:
            self._runner._drop(self)

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.name} {self.state}>"


@dataclass(frozen=True)
class _Task:
    """What crosses to the worker thread: plain data only, never the Job QObject."""

    id: int
    name: str
    fn: Callable[..., Any]
    args: tuple
    kwargs: dict
    cancel: threading.Event


class _Throttle:
    """progress(done, total, text) callable for the job: at most one event per ``interval`` seconds."""

    def __init__(self, emit: Callable[[Progress], None], interval: float = 0.05) -> None:
        self._emit, self._interval, self._last = emit, interval, 0.0

    def __call__(self, done: float, total: float | None = None, text: str = "") -> None:
        now = time.monotonic()
        if now - self._last >= self._interval or (total is not None and done >= total):
            self._last = now
            self._emit(Progress(done, total, text))


class _Worker(QObject):
    """Lives in the lane's thread; runs tasks and reports every event to the runner."""

    event = Signal(int, str, object)  # job id, kind, payload -> JobRunner._on_event (GUI thread)

    def __init__(self, low_priority: bool) -> None:
        super().__init__()
        self.low_priority = low_priority

    @Slot(object)
    def run(self, task: _Task) -> None:
        if threading.current_thread().name.startswith("Dummy"):  # first job: readable log lines ...
            threading.current_thread().name = QThread.currentThread().objectName()
            if self.low_priority:
                lower_lane_priority()  # ... and the GUI thread first for the CPU

        def emit(kind: str, payload: Any = None) -> None:
            self.event.emit(task.id, kind, payload)

        emit("started")
        progress = _Throttle(lambda p: emit("progress", p))
        try:
            out = task.fn(progress, task.cancel, *task.args, **task.kwargs)
            if inspect.isgenerator(out):
                out = self._drain(out, task.cancel, emit)
        except BaseException as exc:  # noqa: BLE001 - a job must never kill the thread
            if task.cancel.is_set() or isinstance(exc, Cancelled):
                emit("cancelled")
            else:
                log.warning("job %s failed: %s: %s", task.name, type(exc).__name__, exc)
                log.debug("job %s traceback", task.name, exc_info=exc)
                emit("errored", JobError.from_exception(task.name, exc))
            return
        emit("cancelled" if task.cancel.is_set() else "returned", out)

    @staticmethod
    def _drain(gen, cancel: threading.Event, emit) -> Any:
        try:
            while True:
                if cancel.is_set():
                    gen.close()
                    raise Cancelled()
                try:
                    value = next(gen)
                except StopIteration as stop:
                    return stop.value
                emit("yielded", value)
        finally:
            gen.close()

    @Slot()
    def stop(self) -> None:
        """Last call in the thread: forget Python's record of it, then end the event loop."""
        _forget_foreign_thread()
        QThread.currentThread().quit()


def _forget_foreign_thread() -> None:
    # Python < 3.13 registers a foreign (Qt) thread that touches `threading` - logging does - as a
    # _DummyThread and never removes it; drop it so threading.active_count() stays truthful.
    current = threading._active.get(threading.get_ident())  # noqa: SLF001
    if isinstance(current, threading._DummyThread):  # noqa: SLF001
        with threading._active_limbo_lock:  # noqa: SLF001
            threading._active.pop(threading.get_ident(), None)  # noqa: SLF001


# ------------------------------------------------------------------------------------ JobRunner
class JobRunner(QObject):
    """A lane: one QThread running queued jobs one at a time, highest priority first (FIFO on ties).

    ``low_priority`` (default) nices the lane's thread below the GUI thread. A lane whose jobs leave
    a core free for the GUI by themselves (fine-tuning: torch threads = cores - 1) passes False:
    there the nice bought no responsiveness and cost ~6 % of the training throughput (measured with
    benchmarks/finetune_throughput.py: median of 6 runs each, 302 vs 321 samples/s)."""

    jobStarted = Signal(object)  # Job
    jobFinished = Signal(object)  # Job
    busyChanged = Signal(bool)
    _dispatch = Signal(object)  # -> _Worker.run in the worker thread
    _stop = Signal()  # -> _Worker.stop

    def __init__(self, name: str = "worker", parent: QObject | None = None, low_priority: bool = True) -> None:
        super().__init__(parent)
        self.name = name
        self.low_priority = low_priority
        self._queue: list[tuple[int, int, Job]] = []  # heap of (-priority, seq, job)
        self._seq = itertools.count()
        self._jobs: dict[int, Job] = {}  # queued + running, by id
        self._running: Job | None = None
        self._thread: QThread | None = None
        self._worker: _Worker | None = None
        self._closed = False
        self._was_busy = False
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    # ------------------------------------------------------------------ public API
    @property
    def busy(self) -> bool:
        return self._running is not None or bool(self._queue)

    @property
    def running_job(self) -> Job | None:
        return self._running

    def jobs(self, tag: str | None = None) -> list[Job]:
        """Queued and running jobs (optionally one tag)."""
        return [j for j in self._jobs.values() if tag is None or j.tag == tag]

    def is_thread_running(self) -> bool:
        return self._thread is not None and self._thread.isRunning()

    def submit(self, job: Job, priority: int = 0) -> Job:
        ensure_gui_thread("JobRunner.submit")
        if self._closed:
            raise RuntimeError(f"job runner {self.name!r} is shut down")
        if job.state != "new":
            raise ValueError(f"{job!r} was already submitted")
        job._runner, job.state = self, "queued"
        self._jobs[job.id] = job
        heapq.heappush(self._queue, (-priority, next(self._seq), job))
        self._pump()
        return job

    def cancel(self, tag: str | None = None) -> None:
        """Cancel all queued and running jobs, or those with ``tag``."""
        for job in self.jobs(tag):
            job.cancel()

    def shutdown(self, timeout_s: float = 10.0) -> None:
        """Drop queued jobs, cancel the running one, stop and join the thread. Idempotent."""
        if self._closed:
            return
        self._closed = True
        for _, _, job in list(self._queue):
            job.cancel_event.set()
            self._drop(job)
        if self._running is not None:
            self._running.cancel_event.set()
        if self._thread is not None:
            self._stop.emit()
            if not self._thread.wait(int(timeout_s * 1000)):
                log.warning("%s: worker still busy after %.0f s; waiting for it to finish", self.name, timeout_s)
                self._thread.wait()
            QCoreApplication.sendPostedEvents(self, 0)  # deliver the last job's final event
        if self._running is not None:  # no final event arrived: close it here
            job, self._running = self._running, None
            self._finish(job, "cancelled", None)

    # ------------------------------------------------------------------ internals
    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        favour_gui_thread()
        self._thread = QThread(self)
        self._thread.setObjectName(f"meddiag-{self.name}")
        self._worker = _Worker(self.low_priority)
        self._worker.moveToThread(self._thread)
        # Auto connections between objects of different threads are queued: each slot runs in its
        # receiver's thread (run/stop in the worker, _on_event in the GUI thread).
        self._dispatch.connect(self._worker.run)
        self._stop.connect(self._worker.stop)
        self._worker.event.connect(self._on_event)
        self._thread.start(QThread.Priority.LowPriority if self.low_priority else QThread.Priority.InheritPriority)

    def _pump(self) -> None:
        if self._running is not None or self._closed:
            self._update_busy()
            return
        while self._queue:
            _, _, job = heapq.heappop(self._queue)
            if job.cancel_event.is_set():  # cancelled while queued but not yet dropped
                self._finish(job, "cancelled", None)
                continue
            self._ensure_thread()
            self._running, job.state = job, "running"
            self._dispatch.emit(_Task(job.id, job.name, job.fn, job.args, job.kwargs, job.cancel_event))
            break
        self._update_busy()

    def _update_busy(self) -> None:
        if self.busy != self._was_busy:
            self._was_busy = self.busy
            self.busyChanged.emit(self._was_busy)

    def _drop(self, job: Job) -> None:
        self._queue = [entry for entry in self._queue if entry[2] is not job]
        heapq.heapify(self._queue)
        self._finish(job, "cancelled", None)

    @Slot(int, str, object)
    def _on_event(self, job_id: int, kind: str, payload: Any) -> None:
        ensure_gui_thread("JobRunner._on_event")
        job = self._jobs.get(job_id)
        if job is None:  # already finished (e.g. dropped at shutdown)
            return
        if kind == "started":
            job.started.emit()
            self.jobStarted.emit(job)
        elif kind in ("returned", "errored", "cancelled"):
            if job.cancel_event.is_set():
                kind = "cancelled"
            self._running = None
            self._finish(job, kind, payload)
            self._pump()
        elif job.cancel_event.is_set():
            return  # nothing but the final event after cancel()
        elif kind == "progress":
            job.progressed.emit(payload)
        elif kind == "yielded":
            job.yielded.emit(payload)

    def _finish(self, job: Job, state: str, payload: Any) -> None:
        self._jobs.pop(job.id, None)
        job.state = state
        if state == "returned":
            job.result = payload
            job.returned.emit(payload)
        elif state == "errored":
            job.error = payload
            job.errored.emit(payload)
        else:
            job.cancelled.emit()
        job.finished.emit()
        self.jobFinished.emit(job)
        self._update_busy()
