"""The generic worker pattern: Job + JobRunner (results in the GUI thread, errors, cancel, join)."""
from __future__ import annotations

import logging
import os
import sys
import threading
import time

import pytest
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication

from meddiag_desktop.core.jobs import Cancelled
from meddiag_desktop.qt.workers import (
    GUI_GUARD, LANE_NICE_INCREMENT, Job, JobRunner, ensure_gui_thread,
)


def in_gui_thread() -> bool:
    return QThread.currentThread() is QApplication.instance().thread()


@pytest.fixture
def runner(qapp):
    lane = JobRunner("test")
    yield lane
    lane.shutdown()
    assert not lane.is_thread_running()


def test_function_job_returns_its_value_in_the_gui_thread(runner, qtbot):
    seen = []

    def work(progress, cancel, a, b):
        seen.append(in_gui_thread())
        return a + b

    job = Job(work, 2, 3)
    job.returned.connect(lambda value: seen.append((value, in_gui_thread())))  # a lambda is safe on a Job
    with qtbot.waitSignal(job.finished, timeout=10_000):
        runner.submit(job)
    assert seen == [False, (5, True)]
    assert job.state == "returned" and job.result == 5


def test_generator_job_streams_values_and_progress_then_returns(runner, qtbot):
    def count(progress, cancel, n):
        for i in range(n):
            progress(i + 1, n, f"step {i + 1}")
            yield i * i
        return "done"

    values, progress = [], []
    job = Job(count, 4)
    job.yielded.connect(values.append)
    job.progressed.connect(progress.append)
    with qtbot.waitSignal(job.finished, timeout=10_000):
        runner.submit(job)
    assert values == [0, 1, 4, 9]
    assert job.result == "done"
    assert progress and progress[-1].fraction == 1.0 and progress[-1].text == "step 4"


def test_an_error_becomes_a_readable_job_error_and_the_lane_goes_on(runner, qtbot):
    def broken(progress, cancel):
        raise ValueError("the input image is upside down")

    errors = []
    bad = Job(broken, name="broken job")
    bad.errored.connect(errors.append)
    good = Job(lambda progress, cancel: "still alive")
    with qtbot.waitSignal(good.finished, timeout=10_000):
        runner.submit(bad)
        runner.submit(good)
    (error,) = errors
    assert error.message == "the input image is upside down" and error.job == "broken job"
    assert "Traceback" in error.details and "ValueError" in error.details
    assert isinstance(error.exception, ValueError)
    assert bad.state == "errored" and good.result == "still alive"


def test_cancel_stops_a_running_generator_and_drops_queued_jobs(runner, qtbot):
    started = threading.Event()

    def endless(progress, cancel):
        i = 0
        while True:
            started.set()
            i += 1
            yield i
            time.sleep(0.005)

    running, queued = Job(endless), Job(lambda p, c: "never")
    after_cancel = []
    runner.submit(running)
    runner.submit(queued)
    assert started.wait(10)
    with qtbot.waitSignals([running.finished, queued.finished], timeout=10_000):
        running.cancel()
        running.yielded.connect(after_cancel.append)  # nothing may arrive after cancel()
        queued.cancel()
    assert running.state == queued.state == "cancelled"
    assert after_cancel == [] and not runner.busy


def test_job_cancelled_exception_ends_as_cancelled(runner, qtbot):
    def gives_up(progress, cancel):
        raise Cancelled()

    job = Job(gives_up)
    with qtbot.waitSignal(job.cancelled, timeout=10_000):
        runner.submit(job)
    assert job.error is None


def test_higher_priority_runs_first(runner, qtbot):
    gate, order = threading.Event(), []
    blocker = Job(lambda p, c: gate.wait(10))
    runner.submit(blocker)
    jobs = []
    for name, priority in (("low", 0), ("high", 50), ("mid", 10), ("high2", 50)):
        job = Job(lambda p, c, n=name: n)
        job.returned.connect(order.append)
        jobs.append(runner.submit(job, priority=priority))
    with qtbot.waitSignal(jobs[0].finished, timeout=10_000):
        gate.set()
    assert order == ["high", "high2", "mid", "low"]


def test_shutdown_cancels_the_running_job_and_joins_the_thread(qapp, qtbot):
    baseline = threading.active_count()
    lane = JobRunner("joined")
    started = threading.Event()

    def long_job(progress, cancel):
        logging.getLogger("meddiag_desktop.test").info("working")  # registers the Qt thread in `threading`
        started.set()
        while not cancel.wait(0.01):
            pass
        raise Cancelled()

    job = lane.submit(Job(long_job))
    assert started.wait(10)
    lane.shutdown()
    assert job.state == "cancelled"
    assert not lane.is_thread_running()
    assert threading.active_count() == baseline
    with pytest.raises(RuntimeError, match="shut down"):
        lane.submit(Job(long_job))


def test_gui_guard_catches_widget_code_run_from_another_thread(qapp):
    caught = []
    worker = threading.Thread(target=lambda: caught.append(pytest.raises(AssertionError, ensure_gui_thread, "x")))
    worker.start()
    worker.join()
    try:
        assert caught and "outside the GUI thread" in GUI_GUARD.violations[-1]
    finally:
        GUI_GUARD.violations.clear()
    ensure_gui_thread("from the GUI thread")  # no error here


def test_emitting_signals_keeps_bool_reference_counts(qapp):
    """PySide6 6.12.0 on Python 3.11: SignalInstance.emit/disconnect return a borrowed bool and the
    interpreter aborts after a few hundred emits (bool_dealloc); pyproject excludes that release."""
    import sys

    from PySide6.QtCore import QObject, Signal

    class Emitter(QObject):
        fired = Signal(int)

    emitter, slot = Emitter(), (lambda value: None)
    before = sys.getrefcount(True), sys.getrefcount(False)
    for i in range(2000):
        emitter.fired.emit(i)
    for _ in range(200):
        emitter.fired.connect(slot)
        emitter.fired.disconnect(slot)
    assert (sys.getrefcount(True), sys.getrefcount(False)) == before


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux-only")
def test_lane_threads_run_below_the_gui_thread(runner, qtbot):
    """The GUI thread must win the CPU when both want it: the lane's thread is niced, the GUI's not."""
    def nice_here(progress, cancel):
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    gui_nice = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    for _ in range(2):  # the second job runs at the same (lowered) level, not lower again
        job = Job(nice_here)
        with qtbot.waitSignal(job.finished, timeout=10_000):
            runner.submit(job)
        assert job.result == min(19, gui_nice + LANE_NICE_INCREMENT)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == gui_nice


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux-only")
def test_a_lane_can_keep_the_gui_threads_priority(qtbot):
    """The fine-tune lane leaves a core to the GUI by itself (torch threads = cores - 1): not niced."""
    def nice_here(progress, cancel):
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    lane = JobRunner("training", low_priority=False)
    try:
        job = Job(nice_here)
        with qtbot.waitSignal(job.finished, timeout=10_000):
            lane.submit(job)
        assert job.result == os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    finally:
        lane.shutdown()
    assert not lane.is_thread_running()
