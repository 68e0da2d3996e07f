"""The node's pynetdicom threads wait for their work instead of polling for it.

Per association pynetdicom runs two loops that look for work every millisecond: the reader (DUL)
sleeps 1 ms whenever it found nothing, then checks its outgoing queue and the connection; the
association's reactor sleeps 1 ms before each look at its queue of DIMSE messages. Each C-STORE
passes three such waits (the request in, the handler's turn, the response out): ~1.5 ms of a
small instance's ~5 ms, and 2 000 wake-ups a second per idle association, each taking the GIL
from the engine beside it. :func:`wait_for_work` changes one accepted association so that

- its reader blocks in ``select`` on the connection and on a wake-up socket pair (up to
  ``max_wait_s``), and whatever queues a PDU to send (``dul.send_pdu``) wakes it;
- its reactor blocks on its DIMSE message queue (up to ``max_wait_s``) instead of taking what is
  there after a fixed sleep.

Timers (ARTIM, the network timeout) and release / abort are still looked at every ``max_wait_s``
or sooner. Besides its public objects (the transport, ``dul.send_pdu``, ``dimse.get_msg``) this
sets pynetdicom's own idle-sleep knob (``dul._run_loop_delay``) to 0, so it is applied only to the
pynetdicom it was made for (``SUPPORTED``: 3.0; pyproject pins it); ``tests/test_node_waits.py``
fails if those loops stop calling it.
"""
from __future__ import annotations

import queue
import select
import socket
import time

import pynetdicom
from pynetdicom.transport import AssociationSocket

__all__ = ["PromptSocket", "SUPPORTED", "close_wake", "wait_for_work"]

# The pynetdicom whose loops were read for this; with another one the node keeps pynetdicom's polling.
SUPPORTED = pynetdicom.__version__.startswith("3.0.")

MAX_WAIT_S = 0.05
CLOSED_IDLE_S = 0.001  # pynetdicom's own idle sleep, kept where the connection is gone


class PromptSocket(AssociationSocket):
    """pynetdicom's transport whose ``ready`` waits (up to ``max_wait_s``) for data or a wake-up."""

    wake: socket.socket | None = None  # the pair's reading end; ``wake_writer`` its other end
    wake_writer: socket.socket | None = None
    max_wait_s = MAX_WAIT_S

    @property
    def ready(self) -> bool:
        if AssociationSocket.ready.fget(self):  # data now (a closed connection queues its event there)
            return True
        connection, wake = self.socket, self.wake
        if connection is None or wake is None:
            time.sleep(CLOSED_IDLE_S)
            return False
        try:
            readable, _, _ = select.select([connection, wake], [], [], self.max_wait_s)
        except (OSError, ValueError):  # closed meanwhile: the next look reports it
            time.sleep(CLOSED_IDLE_S)
            return False
        if wake in readable:
            try:
                wake.recv(4096)
            except OSError:
                pass
        return connection in readable


def wait_for_work(assoc, max_wait_s: float = MAX_WAIT_S) -> None:
    """Make ``assoc`` (accepted, its connection open, its threads not yet looking) wait for work."""
    dul, dimse = assoc.dul, assoc.dimse
    transport = getattr(dul, "socket", None)
    if transport is None or getattr(transport, "socket", None) is None or not isinstance(transport, AssociationSocket):
        return
    wake_reader, wake_writer = socket.socketpair()
    wake_reader.setblocking(False)
    wake_writer.setblocking(False)
    transport.__class__ = PromptSocket
    transport.wake, transport.max_wait_s = wake_reader, max_wait_s
    transport.wake_writer = wake_writer
    send_pdu = dul.send_pdu

    def send_and_wake(primitive) -> None:
        send_pdu(primitive)
        try:
            wake_writer.send(b"\0")
        except OSError:  # full (a wake-up is pending anyway) or closed
            pass

    dul.send_pdu = send_and_wake
    dul._run_loop_delay = 0  # noqa: SLF001 - the wait is in ``ready`` now (pynetdicom's own knob)
    messages = dimse.msg_queue

    def get_msg(block: bool = False):
        try:
            return messages.get(timeout=dimse.dimse_timeout if block else max_wait_s)
        except queue.Empty:
            return None, None

    dimse.get_msg = get_msg


def close_wake(assoc) -> None:
    """Close the wake-up pair of ``assoc`` (its connection closed)."""
    transport = getattr(assoc.dul, "socket", None)
    for name in ("wake", "wake_writer"):
        end = getattr(transport, name, None)
        if end is not None:
            end.close()
