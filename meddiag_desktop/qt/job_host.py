"""One window's background work: its lanes, its jobs in flight by key, one error handler, one shutdown.

Usage (GUI thread)::

    self.host = JobHost(self, on_error=self._on_job_error)   # on_error(job, JobError)
    self.host.add_lane("models")                              # a workers.JobRunner (own thread)
    self.host.add_lane("training", low_priority=False)
    job = self.host.submit("models", Job(fn, *args, name="predict", tag="predict", key=("predict", path)), 50)
    self.host.in_flight(("predict", path))                    # that job until it finishes, else None
    self.host.shutdown()                                      # window closed: cancel all, join the threads

A job with a ``key`` replaces the one in flight with the same key (which is cancelled). Every job's
``errored`` goes to ``on_error`` (and ``progressed`` to ``on_progress`` when given).
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Hashable

from PySide6.QtCore import QObject

from .workers import Job, JobError, JobRunner, Progress

log = logging.getLogger(__name__)


class JobHost(QObject):
    def __init__(self, parent: QObject, on_error: Callable[[Job, JobError], Any] | None = None,
                 on_progress: Callable[[Job, Progress], Any] | None = None) -> None:
        super().__init__(parent)
        self.on_error, self.on_progress = on_error, on_progress
        self.lanes: dict[str, JobRunner] = {}
        self.closed = False
        self._in_flight: dict[Hashable, Job] = {}

    def add_lane(self, name: str, low_priority: bool = True) -> JobRunner:
        """A lane (one worker thread, started on its first job); ``low_priority`` as in ``JobRunner``."""
        if name in self.lanes:
            raise ValueError(f"lane {name!r} exists")
        self.lanes[name] = JobRunner(name, self, low_priority=low_priority)
        return self.lanes[name]

    def submit(self, lane: str, job: Job, priority: int = 0) -> Job:
        """Queue ``job`` on ``lane``; a job in flight with the same ``key`` is cancelled first."""
        if job.key is not None:
            previous = self._in_flight.get(job.key)
            if previous is not None:
                previous.cancel()
            self._in_flight[job.key] = job
            job.finished.connect(lambda: self._forget(job))
        if self.on_error is not None:
            job.errored.connect(lambda error: self.on_error(job, error))
        if self.on_progress is not None:
            job.progressed.connect(lambda progress: self.on_progress(job, progress))
        return self.lanes[lane].submit(job, priority)

    def in_flight(self, key: Hashable) -> Job | None:
        return self._in_flight.get(key)

    def jobs_in_flight(self) -> list[Job]:
        """The keyed jobs queued or running, oldest first."""
        return list(self._in_flight.values())

    def _forget(self, job: Job) -> None:
        if self._in_flight.get(job.key) is job:
            del self._in_flight[job.key]

    def shutdown(self) -> None:
        """Mark the window closed, cancel every job and join every lane's thread. Idempotent."""
        self.closed = True
        for lane in self.lanes.values():
            lane.shutdown()
