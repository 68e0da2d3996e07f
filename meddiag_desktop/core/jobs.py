"""The one shape of a long job: a generator that yields small events and takes ``cancel``.

Every long core job (``scan``, ``training.fit``, ``pipeline.train_model``, ``finetune.run_finetune``,
``anonymize_files``, ``load_predictors``, ``audited_scan``) is written as::

    def job(inputs..., *, cancel: CancelFlag | None = None) -> Iterator[Progress | ...]:

``cancel`` is anything with ``is_set()`` (a ``threading.Event``, or ``any_of(stop, cancel)``); the
job checks it between units of work and ends early. A job that cannot end early with a partial
result raises :class:`Cancelled`. Front ends drive the generator: the CLI with :func:`last` or a
loop, the window's job runner (``qt.workers``) by forwarding each event to the GUI thread.

No torch, no Qt: importing this module is free.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Protocol, TypeVar, runtime_checkable

__all__ = ["Cancelled", "CancelFlag", "Progress", "any_of", "is_cancelled", "last", "raise_if_cancelled"]

T = TypeVar("T")


class Cancelled(Exception):
    """A job stopped because its cancel flag was set; the job ends as cancelled, not as an error."""


@runtime_checkable
class CancelFlag(Protocol):
    """What a job's ``cancel`` argument needs: ``threading.Event`` qualifies."""

    def is_set(self) -> bool: ...


@dataclass(frozen=True)
class Progress:
    """How far a job is: ``done`` of ``total`` units (``total`` None: unknown), plus counters."""

    done: float
    total: float | None = None
    text: str = ""
    ok: int = 0  # units that succeeded
    errors: int = 0  # units that failed (and became error records)
    skipped: int = 0  # units left out (e.g. non-image files)
    rate: float = 0.0  # units per second
    eta_s: float | None = None  # None until a rate is known
    elapsed_s: float = 0.0

    @property
    def fraction(self) -> float | None:
        return None if not self.total else max(0.0, min(1.0, self.done / self.total))


class _AnyOf:
    def __init__(self, flags: tuple[CancelFlag, ...]) -> None:
        self.flags = flags

    def is_set(self) -> bool:
        return any(flag.is_set() for flag in self.flags)


def any_of(*flags: CancelFlag | None) -> CancelFlag:
    """A flag that is set when any of ``flags`` is (None entries are ignored)."""
    return _AnyOf(tuple(flag for flag in flags if flag is not None))


def is_cancelled(cancel: CancelFlag | None) -> bool:
    return cancel is not None and cancel.is_set()


def raise_if_cancelled(cancel: CancelFlag | None) -> None:
    if is_cancelled(cancel):
        raise Cancelled()


def last(events: Iterable[T]) -> T | None:
    """Drive a job to its end; its last event (None when it yielded nothing)."""
    event = None
    for event in events:
        pass
    return event
