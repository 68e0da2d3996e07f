"""C-STORE of result files to one destination AE (the PACS), for ``outbox.Outbox``.

Each file is offered on its own SOP class and transfer syntax (read from its file meta, nothing
else is read), all files of a batch in one association. This is the only place that connects
anywhere, and only to the destination the user named.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from pydicom.filereader import read_file_meta_info

MAX_CONTEXTS = 128  # presentation contexts one association may propose
_DESTINATION = re.compile(r"(?P<aet>[^@\\]{1,16})@(?P<host>[^:@]+):(?P<port>\d{1,5})")


@dataclass(frozen=True)
class Destination:
    ae_title: str
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.ae_title}@{self.host}:{self.port}"

    @classmethod
    def parse(cls, text: str) -> "Destination":
        """``AET@HOST:PORT``; ``ValueError`` when it is not one."""
        match = _DESTINATION.fullmatch(text.strip())
        if not match or not 0 < int(match["port"]) < 65536:
            raise ValueError(f"not AET@HOST:PORT: {text!r}")
        return cls(match["aet"].strip(), match["host"], int(match["port"]))


def quiet_pynetdicom() -> None:
    """pynetdicom logs data set contents (patient data) at INFO / DEBUG: keep it at WARNING, and
    turn its identifier logging off. Its debug logger is never enabled by this application."""
    from pynetdicom import _config

    _config.LOG_HANDLER_LEVEL = "none"
    _config.LOG_REQUEST_IDENTIFIERS = False
    _config.LOG_RESPONSE_IDENTIFIERS = False
    logging.getLogger("pynetdicom").setLevel(logging.WARNING)


class CStoreSender:
    """``send(paths) -> {path: None | reason}``; raises ``ConnectionError`` when no association."""

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
            except Exception as exc:
                outcome[path] = f"cannot read the file meta ({type(exc).__name__})"
        wanted = list(dict.fromkeys(contexts.values()))[:MAX_CONTEXTS]
        if not wanted:
            return outcome
        ae = AE(ae_title=self.ae_title)
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = ae.connection_timeout = self.timeout_s
        for sop_class, syntax in wanted:
            ae.add_requested_context(sop_class, syntax)
        dest = self.destination
        assoc = ae.associate(dest.host, dest.port, ae_title=dest.ae_title)
        if not assoc.is_established:
            raise ConnectionError("association rejected" if assoc.is_rejected else "destination not reachable")
        try:
            for path, context in contexts.items():
                if context not in wanted:
                    outcome[path] = "too many kinds of file for one association"
                    continue
                try:
                    code = getattr(assoc.send_c_store(path), "Status", None)
                except (ValueError, AttributeError, OSError) as exc:  # context not accepted, file gone
                    outcome[path] = f"not sent ({type(exc).__name__})"
                    continue
                outcome[path] = None if code in (0x0000, 0xB000, 0xB007, 0xB006) else (
                    "no response" if code is None else f"status 0x{code:04X}")
                if not assoc.is_established:
                    break
        finally:
            if assoc.is_established:
                assoc.release()
        return outcome
