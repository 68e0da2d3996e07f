"""Job functions for ``core.child_job`` tests: module level, so that a spawned child imports them
by name (this module and what it imports are all the child loads besides core)."""
from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

log = logging.getLogger("meddiag_desktop.tests.childkit")


def count(progress, cancel, n: int):
    """Yields (i, its pid) n times, reporting progress; returns "counted"."""
    log.info("counting to %d", n)
    for i in range(n):
        progress(i + 1, n, "counting")
        yield i, os.getpid()
    return "counted"


def echo(progress, cancel, n: int, *, mailbox):
    """Yields the first ``n`` messages it is sent, as they arrived (waits up to 30 s for them)."""
    got: list = []
    mailbox.deliver(got.append)
    deadline = time.monotonic() + 30
    while len(got) < n and time.monotonic() < deadline:
        time.sleep(0.01)
    yield tuple(got)


def until_cancelled(progress, cancel, pid_file: str | None = None, *, mailbox=None):
    """Yields its pid, then waits for ``cancel``; writes "stopped" into ``pid_file`` + ".stopped" when it
    saw it (the clean end), with the messages it received."""
    got: list = []
    if mailbox is not None:
        mailbox.deliver(got.append)
    if pid_file:
        Path(pid_file).write_text(str(os.getpid()))
    yield os.getpid()
    while not cancel.is_set():
        time.sleep(0.01)
        if got:
            yield got.pop(0)
    if pid_file:
        Path(pid_file + ".stopped").write_text("stopped")


def deaf(progress, cancel, pid_file: str | None = None):
    """Yields its pid, then never stops by itself (ignores ``cancel``)."""
    if pid_file:
        Path(pid_file).write_text(str(os.getpid()))
    yield os.getpid()
    while True:
        time.sleep(0.05)


def fails(progress, cancel, message: str):
    yield "before"
    raise_value_error(message)


def raise_value_error(message: str):
    raise ValueError(message)


def dies(progress, cancel):
    yield "before"
    os._exit(3)


def raises_cancelled(progress, cancel):
    from meddiag_desktop.core.jobs import Cancelled

    raise Cancelled()


def priority(progress, cancel) -> int | None:
    """The child's nice level (None without one)."""
    return os.getpriority(os.PRIO_PROCESS, 0) if hasattr(os, "getpriority") else None


def not_a_generator(progress, cancel, a: int, b: int) -> int:
    progress(1, 1, "added")
    return a + b


if __name__ == "__main__":  # a parent for the orphan test: runs a child job, prints its pid, waits to be killed
    import threading

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from meddiag_desktop.core.child_job import run_in_child

    target = {"until_cancelled": until_cancelled, "deaf": deaf}[sys.argv[1]]
    for event in run_in_child(lambda *a: None, threading.Event(), target, sys.argv[2], stop_timeout_s=2.0):
        print(event, flush=True)
