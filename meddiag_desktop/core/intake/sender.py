"""C-STORE of result files to one destination AE (the PACS), for ``outbox.Outbox``.

Each file is offered on its own SOP class and transfer syntax (read from its file meta, nothing
else is read), all files of a batch in one association. This is the only place that connects
anywhere, and only to the destination the user named.

Permanent or transient (``classify_status``): the destination's answer is final - the file is
``Refused`` and leaves the outbox for ``outbox/failed/`` - when retrying the same bytes cannot
change it: "data set does not match SOP class" (0xA9xx), "cannot understand" (0xCxxx), the
general failures about the object itself (0x01xx / 0x02xx: missing or invalid attributes, SOP
class not supported, not authorised, duplicate instance...), no accepted presentation context for
the file's SOP class and transfer syntax, an unreadable file. Everything else is transient and
retried with back-off: out of resources (0xA7xx), processing failure (0x0110), duplicate
invocation (0x0210), resource limitation (0x0213), cancel (0xFE00), an unknown code, no response,
and every association-level failure (unreachable, rejected, aborted: a setting at the PACS, not
the file).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from pydicom.filereader import read_file_meta_info

from .addresses import Destination
from .events import Refused

MAX_CONTEXTS = 128  # presentation contexts one association may propose
DELIVERED = (0x0000, 0xB000, 0xB006, 0xB007)  # success; warnings: coerced, elements discarded, no match
TRANSIENT = {0x0110: "processing failure", 0x0210: "duplicate invocation", 0x0213: "resource limitation",
             0xFE00: "cancelled"}
def quiet_pynetdicom() -> None:
    """pynetdicom logs data set contents (patient data) at INFO / DEBUG: keep it at WARNING, and
    turn its identifier logging off. Its debug logger is never enabled by this application."""
    from pynetdicom import _config

    _config.LOG_HANDLER_LEVEL = "none"
    _config.LOG_REQUEST_IDENTIFIERS = False
    _config.LOG_RESPONSE_IDENTIFIERS = False
    logging.getLogger("pynetdicom").setLevel(logging.WARNING)


def reactor_resumed(assoc, timeout_s: float = 1.0) -> None:
    """Between two ``send_c_store`` calls of one association: wait until its reactor has resumed.
    pynetdicom 3's requestor races otherwise: the next call sees a stale "paused" flag, the reactor
    takes that call's C-STORE response off the queue ("Received unexpected C-STORE service
    message") and the call waits out the DIMSE timeout, then aborts. Only where the flag exists
    (the pynetdicom this was seen with); at most ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while getattr(assoc, "_is_paused", False) and assoc.is_established and time.monotonic() < deadline:
        time.sleep(0.0001)


def classify_status(code: int | None) -> None | str | Refused:
    """A C-STORE response status as ``send`` reports it: None (delivered), a reason (transient:
    retry) or ``Refused`` (permanent). The module docstring states the rule."""
    if code in DELIVERED:
        return None
    if code is None:
        return "no response"
    text = f"status 0x{code:04X}"
    if code in TRANSIENT:
        return f"{text} ({TRANSIENT[code]})"
    if code & 0xFF00 == 0xA700:
        return f"{text} (out of resources)"
    if code & 0xFF00 == 0xA900:
        return Refused(f"{text} (data set does not match SOP class)")
    if code & 0xF000 == 0xC000:
        return Refused(f"{text} (cannot understand)")
    if code & 0xFF00 in (0x0100, 0x0200):
        return Refused(text)
    return text


class CStoreSender:
    """``send(paths) -> {path: None | reason | Refused}``; raises ``ConnectionError`` when no
    association (a transient failure of every path)."""

    def __init__(self, destination: Destination, ae_title: str = "MEDDIAG", *, timeout_s: float = 30.0) -> None:
        self.destination, self.ae_title, self.timeout_s = destination, ae_title, timeout_s

    def __call__(self, paths: Sequence[Path]) -> dict:
        from pynetdicom import AE

        quiet_pynetdicom()
        outcome: dict[Path, str | None] = {}
        contexts: dict[Path, tuple[str, str]] = {}
        for path in paths:
            try:
                meta = read_file_meta_info(path)
                contexts[path] = (str(meta.MediaStorageSOPClassUID), str(meta.TransferSyntaxUID))
            except FileNotFoundError:
                outcome[path] = "file gone"
            except Exception as exc:
                outcome[path] = Refused(f"cannot read the file meta ({type(exc).__name__})")
        wanted = list(dict.fromkeys(contexts.values()))[:MAX_CONTEXTS]
        if not wanted:
            return outcome
        ae = AE(ae_title=self.ae_title)
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = ae.connection_timeout = self.timeout_s
        for sop_class, syntax in wanted:
            ae.add_requested_context(sop_class, syntax)
        dest = self.destination
        assoc = ae.associate(dest.host, dest.port, ae_title=dest.ae_title)
        if not assoc.is_established and not (assoc.rejected_contexts and not assoc.accepted_contexts):
            raise ConnectionError("association rejected" if assoc.is_rejected else "destination not reachable")
        # Accepted with none of our contexts (pynetdicom then aborts): as permanent as one refused context.
        accepted = {(c.abstract_syntax, c.transfer_syntax[0]) for c in assoc.accepted_contexts}
        try:
            for path, context in contexts.items():
                if context not in wanted:
                    outcome[path] = "too many kinds of file for one association"
                    continue
                if context not in accepted:
                    outcome[path] = Refused("no presentation context: the destination does not accept "
                                            f"SOP class {context[0]} in transfer syntax {context[1]}")
                    continue
                try:
                    code = getattr(assoc.send_c_store(path), "Status", None)
                except (ValueError, AttributeError, OSError) as exc:  # file gone, unreadable data set
                    outcome[path] = f"not sent ({type(exc).__name__})"
                    continue
                outcome[path] = classify_status(code)
                if not assoc.is_established:
                    break
                reactor_resumed(assoc)
        finally:
            if assoc.is_established:
                assoc.release()
        return outcome
