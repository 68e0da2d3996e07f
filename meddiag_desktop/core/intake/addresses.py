"""Who may call the DICOM node (``Peer``) and where results go (``Destination``): parsed from the
user's text, with nothing heavier than ``re`` imported, so the window can check what the user typed
in the GUI thread without loading pydicom or pynetdicom."""
from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Destination", "Peer"]

_DESTINATION = re.compile(r"(?P<aet>[^@\\]{1,16})@(?P<host>[^:@]+):(?P<port>\d{1,5})")


@dataclass(frozen=True)
class Peer:
    """An allowed caller: ``AET`` (any host) or ``AET@HOST``."""

    ae_title: str
    host: str | None = None

    @classmethod
    def parse(cls, text: str) -> "Peer":
        title, _, host = text.strip().partition("@")
        if not title or len(title) > 16 or "\\" in title:
            raise ValueError(f"not AET or AET@HOST: {text!r}")
        return cls(title.strip(), host.strip() or None)


@dataclass(frozen=True)
class Destination:
    """The AE results are C-STOREd to: ``AET@HOST:PORT``."""

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
