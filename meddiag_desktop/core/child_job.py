"""A long job run in a child process: ``run_in_child`` is itself a job of the one shape.

::

    for event in run_in_child(progress, cancel, target, *args, mailbox=mailbox, **kwargs):
        ...  # the events target yields in the child, in order

``target(progress, cancel, *args, **kwargs)`` is a job function (a generator, or a plain function
whose return value becomes this generator's) at module level; it runs in a fresh process started
with multiprocessing's "spawn" method - the same on Linux, Windows, macOS and in the frozen app
(whose entry point calls ``multiprocessing.freeze_support()``, as for the scan's worker processes) -,
so ``target``, its arguments, its events and its return value must pickle. What crosses back:

* every yielded event, in order, through a pipe; ``progress(done, total, text)`` calls (throttled);
* the child's log records, handled by this process's loggers (so its log file and handlers see them);
* an exception: raised here as :class:`ChildJobError` (the child's message; ``kind``: its type name;
  ``details``: its traceback text, also chained as the cause); ``Cancelled`` stays ``Cancelled``.

``cancel`` reaches the child within ~0.1 s; the child then ends its job as it would in-process.
If it has not exited ``stop_timeout_s`` later it is killed. A child never outlives this process:
when the parent goes (even by SIGKILL) the child sees its command pipe close, cancels its job and
exits, forcibly after ``stop_timeout_s``. A :class:`Mailbox` carries messages (commands) from
any thread here to the child's job, which is then called with ``mailbox=`` (a :class:`Delivery`).

Why: a job that runs many Python threads (the DICOM node's association threads) competes with
the window's GUI thread for one GIL; in its own process it has its own.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from multiprocessing.connection import wait
from typing import Any, Callable, Iterator

from .jobs import CancelFlag, Cancelled

__all__ = ["ChildJobError", "Delivery", "Mailbox", "STOP_TIMEOUT_S", "run_in_child"]

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 8.0  # a window's lane is joined for 10 s at close: the child is gone before that
POLL_S = 0.1  # how often the parent looks at ``cancel`` while no event arrives
PROGRESS_INTERVAL_S = 0.05
NICE_INCREMENT = 5  # a low-priority child: as far below its parent as the window's lanes are (qt.workers)
BELOW_NORMAL_PRIORITY_CLASS = 0x00004000  # Windows


class ChildJobError(RuntimeError):
    """The child's job raised: ``str()`` is its message, ``kind`` its type name, ``details`` its traceback."""

    def __init__(self, message: str, kind: str = "", details: str = "") -> None:
        super().__init__(message)
        self.kind, self.details = kind, details


class RemoteTraceback(Exception):
    """The cause of a ``ChildJobError``: the child's traceback as text."""

    def __str__(self) -> str:
        return "\n\n" + "".join(self.args)


class Mailbox:
    """Messages from any thread of this process to a child's job, in order; sent before the child
    runs they wait, sent after it ended they are dropped."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: list = []
        self._post: Callable[[tuple], bool] | None = None
        self._closed = False

    def send(self, message: Any) -> None:
        with self._lock:
            if self._post is not None:
                self._post(("message", message))
            elif not self._closed:
                self._waiting.append(message)

    def _attach(self, post: Callable[[tuple], bool] | None) -> None:
        with self._lock:
            self._post, self._closed = post, post is None
            while post is not None and self._waiting:
                post(("message", self._waiting.pop(0)))


class Delivery:
    """The child's end of a :class:`Mailbox`: ``deliver(handler)`` calls ``handler(message)`` for each
    message (those that came before first), in the child's listening thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: list = []
        self._handler: Callable[[Any], None] | None = None

    def deliver(self, handler: Callable[[Any], None]) -> None:
        with self._lock:
            self._handler = handler
            for message in self._waiting:
                handler(message)
            self._waiting.clear()

    def put(self, message: Any) -> None:
        with self._lock:
            if self._handler is None:
                self._waiting.append(message)
                return
            handler = self._handler
        handler(message)


# ----------------------------------------------------------------------------- the parent
def run_in_child(progress, cancel: CancelFlag, target: Callable[..., Any], *args: Any, mailbox: Mailbox | None = None,
                 stop_timeout_s: float = STOP_TIMEOUT_S, low_priority: bool = False, **kwargs: Any) -> Iterator[Any]:
    """Run ``target(progress, cancel, *args, **kwargs)`` (``mailbox=`` too, when given) in a spawned
    child process and yield its events; see the module docstring. ``low_priority``: the child runs
    below this process (POSIX: ``NICE_INCREMENT`` nice levels more, as the window's lanes; Windows:
    the below-normal class), so that a GUI thread here gets a CPU first."""
    context = multiprocessing.get_context("spawn")
    commands_in, commands_out = context.Pipe(duplex=False)
    events_in, events_out = context.Pipe(duplex=False)
    name = getattr(target, "__name__", "job")
    levels = _logger_levels()
    process = context.Process(target=child_main, name=f"meddiag-{name}", daemon=False,  # it may start workers
                              args=(target, args, kwargs, mailbox is not None, commands_in, events_out, levels,
                                    stop_timeout_s, _lowered_nice() if low_priority else None))
    try:
        process.start()
    except BaseException:  # e.g. an argument that does not pickle
        for connection in (commands_in, commands_out, events_in, events_out):
            connection.close()
        raise
    commands_in.close()
    events_out.close()
    post = _Poster(commands_out)
    if mailbox is not None:
        mailbox._attach(post)
    ended = False
    try:
        while not cancel.is_set():
            if not wait([events_in, process.sentinel], POLL_S):
                continue
            try:
                kind, *payload = events_in.recv() if events_in.poll() else ("exited",)
            except EOFError:
                kind, payload = "exited", []
            if kind == "event":
                yield payload[0]
            elif kind == "progress":
                progress(*payload)
            elif kind == "log":
                _handle_record(payload[0])
            else:
                ended = True
                if kind == "done":
                    return payload[0]
                if kind == "cancelled":
                    raise Cancelled()
                if kind == "error":
                    message, error_kind, details = payload
                    raise ChildJobError(message, error_kind, details) from RemoteTraceback(details)
                process.join(1.0)
                raise ChildJobError(f"the {name} process ended unexpectedly (exit code {process.exitcode})",
                                    "exited")
    finally:
        if mailbox is not None:
            mailbox._attach(None)
        _stop(process, post, events_in, ended, stop_timeout_s)
    return None


class _Poster:
    """Sends to the child from any thread; False once the child is gone."""

    def __init__(self, connection) -> None:
        self.connection, self.lock = connection, threading.Lock()

    def __call__(self, message: tuple) -> bool:
        with self.lock:
            try:
                self.connection.send(message)
                return True
            except (OSError, ValueError):  # the child has gone (or the pipe is closed)
                return False

    def close(self) -> None:
        with self.lock:
            self.connection.close()


def _stop(process, post: _Poster, events_in, ended: bool, stop_timeout_s: float) -> None:
    """Cancel the child (unless its job has ended), keep reading its pipe so that it is never blocked
    on a full one, and kill it when it has not exited ``stop_timeout_s`` later."""
    deadline = time.monotonic() + stop_timeout_s
    if not ended:
        post(("cancel",))
    try:
        while process.is_alive() and time.monotonic() < deadline:
            if not wait([events_in, process.sentinel], max(0.0, deadline - time.monotonic())):
                break
            try:
                while events_in.poll():
                    message = events_in.recv()
                    if message[0] == "log":
                        _handle_record(message[1])
            except (EOFError, OSError):
                process.join(max(0.0, deadline - time.monotonic()))
                break
    finally:
        post.close()
        events_in.close()
        if process.is_alive():
            log.warning("%s did not stop within %.0f s after cancel: killed", process.name, stop_timeout_s)
            process.kill()
        process.join()
        process.close()


def _logger_levels() -> dict[str, int]:
    """The levels set on this process's loggers (root: ""), for the child to log as this one does."""
    levels = {name: logger.level for name, logger in logging.root.manager.loggerDict.items()
              if isinstance(logger, logging.Logger) and logger.level != logging.NOTSET}
    return {**levels, "": logging.getLogger().level}


def _lowered_nice() -> int | bool:
    """What the child's ``nice`` is to be: this process's (its main thread's) plus NICE_INCREMENT;
    True where there is no nice (Windows)."""
    if not hasattr(os, "getpriority"):
        return True
    try:
        return min(19, os.getpriority(os.PRIO_PROCESS, os.getpid()) + NICE_INCREMENT)
    except OSError:
        return NICE_INCREMENT


def _lower_priority(nice: int | bool) -> None:
    """In the child, before any thread starts (threads inherit it): never raises its priority."""
    try:
        if nice is True:
            if sys.platform == "win32":
                import ctypes

                kernel32 = ctypes.windll.kernel32
                kernel32.SetPriorityClass(kernel32.GetCurrentProcess(), BELOW_NORMAL_PRIORITY_CLASS)
        elif os.getpriority(os.PRIO_PROCESS, 0) < nice:
            os.setpriority(os.PRIO_PROCESS, 0, nice)
    except (OSError, AttributeError) as exc:
        log.debug("could not lower the child's priority: %s", exc)


def _handle_record(record: logging.LogRecord) -> None:
    logger = logging.getLogger(record.name)
    if logger.isEnabledFor(record.levelno):
        logger.handle(record)


# ----------------------------------------------------------------------------- the child
def child_main(target, args: tuple, kwargs: dict, with_mailbox: bool, commands, events, levels: dict[str, int],
               stop_timeout_s: float, nice: int | bool | None = None) -> None:
    """The child process's entry point (module level: spawn imports it by name). ``nice``: run at this
    POSIX nice level at least (True: Windows' below-normal class; None: as started)."""
    if nice is not None:
        _lower_priority(nice)
    if hasattr(signal, "SIGINT"):
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's business
    cancel = threading.Event()
    send_lock = threading.Lock()

    def post(*message) -> None:
        with send_lock:
            try:
                events.send(message)
            except (OSError, ValueError):  # the parent has gone: stop
                cancel.set()

    logging.getLogger().handlers[:] = [_PipeHandler(post)]
    for name, level in levels.items():
        logging.getLogger(name or None).setLevel(level)
    delivery = Delivery() if with_mailbox else None
    threading.Thread(target=_listen, args=(commands, cancel, delivery, stop_timeout_s), daemon=True,
                     name="meddiag-parent-commands").start()
    if delivery is not None:
        kwargs = {**kwargs, "mailbox": delivery}
    last = [0.0]

    def progress(done: float, total: float | None = None, text: str = "") -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_INTERVAL_S or (total is not None and done >= total):
            last[0] = now
            post("progress", done, total, text)

    try:
        out = target(progress, cancel, *args, **kwargs)
        if hasattr(out, "__next__"):
            out = _post_all(out, post)
        post("done", out)
    except Cancelled:
        post("cancelled")
    except BaseException as exc:  # noqa: BLE001 - everything goes to the parent
        message = str(exc).strip() or type(exc).__name__
        post("error", message, type(exc).__name__, "".join(traceback.format_exception(exc)))
    finally:
        with send_lock:
            events.close()


def _post_all(generator, post) -> Any:
    """Post every event of ``generator``; its return value."""
    while True:
        try:
            event = next(generator)
        except StopIteration as stop:
            return stop.value
        post("event", event)


def _listen(commands, cancel: threading.Event, delivery: Delivery | None, stop_timeout_s: float) -> None:
    """The child's thread reading the parent's commands. The pipe's end, or the parent process's
    (its sentinel, as the scan's worker processes watch it), means the parent is gone: the job is
    cancelled and the process ends, forcibly ``stop_timeout_s`` later."""
    parent = multiprocessing.parent_process()
    watched = [commands] + ([parent.sentinel] if parent is not None else [])
    while commands in wait(watched):
        try:
            kind, *payload = commands.recv()
        except (EOFError, OSError):
            break
        if kind == "cancel":
            cancel.set()
        elif kind == "message" and delivery is not None:
            delivery.put(payload[0])
    cancel.set()
    time.sleep(stop_timeout_s)
    os._exit(1)


class _PipeHandler(logging.Handler):
    """The child's log records, ready to pickle (message formatted, traceback as text), to the parent."""

    def __init__(self, post) -> None:
        super().__init__()
        self.post = post

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.msg, record.args, record.exc_info = record.getMessage(), None, None
            self.post("log", record)
        except Exception:  # noqa: BLE001 - logging never breaks the job
            self.handleError(record)
