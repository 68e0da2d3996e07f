"""``core.child_job.run_in_child``: a job of the one shape run in a spawned child process - its events
in order, cancel and messages reaching it, its errors and log records back, and no orphan ever
(a cancelled or a deaf child ends, a killed parent's child ends too)."""
from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import childkit
from meddiag_desktop.core.child_job import ChildJobError, Mailbox, RemoteTraceback, run_in_child
from meddiag_desktop.core.jobs import Cancelled

KIT = Path(childkit.__file__)


def _gone(pid: int) -> bool:
    """The process has exited (a zombie nobody reaped counts as exited)."""
    stat = Path(f"/proc/{pid}/stat")
    if stat.parent.parent.is_dir() and Path("/proc/self").is_dir():
        try:
            return stat.read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
        except OSError:
            return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not _gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_events_arrive_in_order_with_progress_logs_and_the_return_value(caplog):
    caplog.set_level(logging.INFO, logger="meddiag_desktop")
    progress, cancel = [], threading.Event()
    job = run_in_child(lambda *a: progress.append(a), cancel, childkit.count, 50)
    events = []
    while True:
        try:
            events.append(next(job))
        except StopIteration as stop:
            returned = stop.value
            break
    assert [i for i, _pid in events] == list(range(50))
    pids = {pid for _i, pid in events}
    assert len(pids) == 1 and pids != {os.getpid()}  # another process
    assert returned == "counted"
    assert progress and progress[-1] == (50, 50, "counting")  # throttled, the last one always
    assert "counting to 50" in caplog.text  # the child's log record, handled here
    assert not multiprocessing.active_children()


def test_messages_reach_the_child_in_order_those_sent_before_it_started_first():
    mailbox = Mailbox()
    mailbox.send("first")  # before the child runs: it waits
    mailbox.send(("second", 2))
    job = run_in_child(lambda *a: None, threading.Event(), childkit.echo, 3, mailbox=mailbox)
    mailbox.send({"third": 3})  # while it starts
    assert list(job) == [("first", ("second", 2), {"third": 3})]
    mailbox.send("after the end")  # dropped, no error


def test_a_plain_function_returns_its_value():
    job = run_in_child(lambda *a: None, threading.Event(), childkit.not_a_generator, 2, 3)
    with pytest.raises(StopIteration) as stop:
        next(job)
    assert stop.value.value == 5


@pytest.mark.skipif(not hasattr(os, "getpriority"), reason="POSIX nice levels")
def test_a_low_priority_child_runs_below_its_parent():
    mine = os.getpriority(os.PRIO_PROCESS, os.getpid())

    def nice_of(**options):
        with pytest.raises(StopIteration) as stop:
            next(run_in_child(lambda *a: None, threading.Event(), childkit.priority, **options))
        return stop.value.value

    assert nice_of() == mine
    assert nice_of(low_priority=True) == min(19, mine + 5)


def test_cancel_stops_the_child_cleanly_and_it_exits(tmp_path):
    cancel, mailbox = threading.Event(), Mailbox()
    pid_file = str(tmp_path / "pid")
    job = run_in_child(lambda *a: None, cancel, childkit.until_cancelled, pid_file, mailbox=mailbox)
    pid = next(job)
    mailbox.send("ping")
    assert next(job) == "ping"  # a message sent while it runs
    cancel.set()
    started = time.monotonic()
    assert list(job) == []
    assert time.monotonic() - started < 5
    assert Path(pid_file + ".stopped").read_text() == "stopped"  # it saw the cancel and ended its job
    assert _gone(pid) and not multiprocessing.active_children()


def test_closing_the_generator_stops_the_child(tmp_path):
    job = run_in_child(lambda *a: None, threading.Event(), childkit.until_cancelled, str(tmp_path / "pid"))
    pid = next(job)
    job.close()  # what the window's job runner does after a cancel
    assert (tmp_path / "pid.stopped").exists() and _gone(pid)


def test_a_child_that_ignores_cancel_is_killed_after_the_timeout():
    cancel = threading.Event()
    job = run_in_child(lambda *a: None, cancel, childkit.deaf, stop_timeout_s=1.0)
    pid = next(job)
    cancel.set()
    started = time.monotonic()
    assert list(job) == []
    assert 0.9 < time.monotonic() - started < 5
    assert _gone(pid) and not multiprocessing.active_children()


def test_an_exception_in_the_child_surfaces_with_its_message_and_traceback():
    job = run_in_child(lambda *a: None, threading.Event(), childkit.fails, "the routing file has no task")
    assert next(job) == "before"
    with pytest.raises(ChildJobError) as caught:
        next(job)
    error = caught.value
    assert str(error) == "the routing file has no task" and error.kind == "ValueError"
    assert "raise_value_error" in error.details and "ValueError: the routing file has no task" in error.details
    assert isinstance(error.__cause__, RemoteTraceback) and "raise_value_error" in str(error.__cause__)
    assert not multiprocessing.active_children()


def test_a_child_that_dies_is_an_error_not_a_hang():
    job = run_in_child(lambda *a: None, threading.Event(), childkit.dies)
    assert next(job) == "before"
    with pytest.raises(ChildJobError, match="ended unexpectedly.*exit code 3"):
        next(job)


def test_cancelled_in_the_child_is_cancelled_here():
    def never(*_):
        raise AssertionError("no progress expected")

    with pytest.raises(Cancelled):
        list(run_in_child(never, threading.Event(), childkit.raises_cancelled))


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX: kills the parent with SIGKILL")
@pytest.mark.parametrize("target", ["until_cancelled", "deaf"])
def test_a_killed_parent_leaves_no_child_running(tmp_path, target):
    """The parent (a subprocess) is SIGKILLed while its child runs: the child notices (its command pipe
    closes, the parent's sentinel fires), cancels its job and exits - the deaf one by force, 2 s later."""
    pid_file = tmp_path / "pid"
    parent = subprocess.Popen([sys.executable, str(KIT), target, str(pid_file)], stdout=subprocess.PIPE, text=True,
                              cwd=KIT.parent)
    try:
        first = parent.stdout.readline().strip()
        assert first.isdigit(), first
        child = int(first)
        assert int(pid_file.read_text()) == child and not _gone(child)
        parent.kill()
        parent.wait(10)
        assert _wait_gone(child, 10), f"child {child} still runs after its parent was killed"
        assert (tmp_path / "pid.stopped").exists() == (target == "until_cancelled")  # the job was cancelled
    finally:
        parent.kill()
        parent.wait(10)
