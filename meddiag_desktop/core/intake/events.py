"""What producers hand to the intake engine and what the engine yields (torch-free records).

Names are the stored file names (``<SOP Instance UID>.dcm`` or ``<sha256><suffix>``): they never
carry patient data, so front ends may print them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

ORIGINS = ("dicom", "folder", "resumed")


@dataclass(frozen=True)
class ItemFacts:
    """What routing knows of an item (``routing``): DICOM header values and the watched sub-folder."""

    modality: str = ""
    photometric: str = ""
    body_part: str = ""
    folder: str = ""


@dataclass(frozen=True)
class Arrival:
    """An item a producer has stored in the intake folder (``name`` under ``store.instances``),
    or - ``rejected`` set - one it refused (kept under ``store.rejected`` when ``name`` is set)."""

    name: str
    origin: str = "dicom"  # one of ORIGINS
    folder: str = ""  # watch: the sub-folder it appeared in (for routing); node: empty
    rejected: str | None = None  # why it could not be accepted (path-free)
    sha256: str | None = None  # the stored bytes' sha256 when the producer had them (saves a re-read)
    facts: ItemFacts | None = None  # the routing facts when the producer read the header


@dataclass(frozen=True)
class ItemStored:
    """The engine took an item over (from a producer, or left from before a restart)."""

    name: str
    origin: str


@dataclass(frozen=True)
class ItemAnalysed:
    """An item's rows are in the CSV and the audit log; ``rows`` are ``core.scan.ScanResult``."""

    name: str
    path: str
    rows: tuple
    modality: str = ""
    dicom_outputs: tuple = field(default=())  # core.dicom_results.writer.DicomOutput records


@dataclass(frozen=True)
class ItemSkipped:
    """Not analysed again: the same content was analysed before (sha256 index)."""

    name: str
    reason: str = "already analysed"


@dataclass(frozen=True)
class ItemFailed:
    """An item that could not be analysed (a corrupt data set...): one error row was written."""

    name: str
    reason: str


@dataclass(frozen=True)
class Delivered:
    """A result file left the outbox: the destination accepted it."""

    name: str
    destination: str


@dataclass(frozen=True)
class DeliveryFailed:
    """A delivery attempt failed. Transient: the file stays in the outbox and is retried in
    ``retry_in_s``. ``permanent``: the destination refused it for good (``Refused``); it was moved
    to ``outbox/failed/`` with a reason record and is not retried."""

    name: str
    destination: str
    reason: str
    attempt: int
    retry_in_s: float
    permanent: bool = False


@dataclass(frozen=True)
class Refused:
    """A sender's answer for a file the destination refuses in a way retrying cannot change
    (see ``sender.classify_status``); a plain reason string means "try again later"."""

    reason: str
