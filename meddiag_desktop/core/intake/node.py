"""The DICOM node: a Storage SCP (the image classes we can read, their usual transfer syntaxes,
compressed included) and Verification (C-ECHO), on pynetdicom.

Association threads only store and hand over: each received data set is checked (header readable,
SOP Instance UID present), stored as ``instances/<SOP Instance UID>.dcm`` in the intake folder
(``IntakeStore.receive``: durable through the receive journal, one flush shared by concurrent
associations) and submitted to the engine (``IntakeEngine.submit``) before Success is answered -
so an instance acknowledged to the sender is on disk, whatever happens next.

Safe by default: binds 127.0.0.1; with an allow-list, any other calling AE title or host gets an
association reject (permanent, "calling AE title not recognised"), and when every entry names its
host a connection from any other address is closed on accept; a bounded number of connections
(``admits``) and associations, PDU and data set size (``pdu_reader``) and network timeouts; with
less than ``min_free_bytes`` free on the intake folder's disk new data is refused with 0xA700 (out
of resources); a data set that cannot be decoded gets 0xC210 and one error row. pynetdicom's loggers are kept at WARNING
(``sender.quiet_pynetdicom``): no log line carries a data set's contents.
"""
from __future__ import annotations

import io
import shutil
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Callable

from pydicom import dcmread
from pydicom.filereader import read_dataset
from pydicom.uid import (DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian, ExplicitVRLittleEndian,
                         ImplicitVRLittleEndian, JPEG2000, JPEG2000Lossless, JPEGBaseline8Bit, JPEGExtended12Bit,
                         JPEGLosslessSV1, JPEGLSLossless, JPEGLSNearLossless, RLELossless)
from pydicom.uid import UID
from pydicom.uid import JPEGLossless as JPEGLosslessP14

from .addresses import Peer
from .events import Arrival, ItemFacts
from .pdu_reader import PduReader, pdu_limit
from .routing import facts_of
from .sender import quiet_pynetdicom
from .store import DIRECT_STORE_BYTES, IntakeStore, instance_name, sha256_bytes

PIXEL_DATA_TAGS = {0x7FE00008, 0x7FE00009, 0x7FE00010}  # float, double float and plain Pixel Data
# Image storage SOP classes whose pixel data core.io reads.
STORAGE_CLASSES = {
    "CR": "1.2.840.10008.5.1.4.1.1.1",
    "DX for presentation": "1.2.840.10008.5.1.4.1.1.1.1",
    "DX for processing": "1.2.840.10008.5.1.4.1.1.1.1.1",
    "MG for presentation": "1.2.840.10008.5.1.4.1.1.1.2",
    "MG for processing": "1.2.840.10008.5.1.4.1.1.1.2.1",
    "CT": "1.2.840.10008.5.1.4.1.1.2",
    "Enhanced CT": "1.2.840.10008.5.1.4.1.1.2.1",
    "MR": "1.2.840.10008.5.1.4.1.1.4",
    "Enhanced MR": "1.2.840.10008.5.1.4.1.1.4.1",
    "US": "1.2.840.10008.5.1.4.1.1.6.1",
    "US (retired)": "1.2.840.10008.5.1.4.1.1.6",
    "US multi-frame": "1.2.840.10008.5.1.4.1.1.3.1",
    "US multi-frame (retired)": "1.2.840.10008.5.1.4.1.1.3",
    "SC": "1.2.840.10008.5.1.4.1.1.7",
    "SC multi-frame single bit": "1.2.840.10008.5.1.4.1.1.7.1",
    "SC multi-frame grayscale byte": "1.2.840.10008.5.1.4.1.1.7.2",
    "SC multi-frame grayscale word": "1.2.840.10008.5.1.4.1.1.7.3",
    "SC multi-frame true colour": "1.2.840.10008.5.1.4.1.1.7.4",
}
TRANSFER_SYNTAXES = (ExplicitVRLittleEndian, ImplicitVRLittleEndian, DeflatedExplicitVRLittleEndian,
                     ExplicitVRBigEndian, JPEGBaseline8Bit, JPEGExtended12Bit, JPEGLosslessP14, JPEGLosslessSV1,
                     JPEGLSLossless, JPEGLSNearLossless, JPEG2000Lossless, JPEG2000, RLELossless)
VERIFICATION = "1.2.840.10008.1.1"

SUCCESS, OUT_OF_RESOURCES, CANNOT_UNDERSTAND = 0x0000, 0xA700, 0xC210
MAX_WAITING_CONNECTIONS = 8  # see ``admits``
STARTING_S = 5.0  # a connection admitted this long ago has its association thread, or has ended
_NO_TITLE = "\\"  # cannot be an AE title: a list holding only it admits no one


@dataclass(frozen=True)
class NodeConfig:
    ae_title: str = "MEDDIAG"
    port: int = 11112  # 0: any free port (tests)
    bind: str = "127.0.0.1"  # loopback until the user names an interface
    allow: tuple[Peer, ...] = ()  # empty: any caller
    max_associations: int = 4
    # Bytes; 0 would mean unlimited - never used. pynetdicom holds a whole PDU in memory (at most this
    # per association); a 10 MB instance came in 160 PDUs of 64 KiB, each costing Python work: 4 MiB
    # cut the node's CPU per such instance by ~7 ms (benchmarks/node_throughput.py --size large).
    max_pdu: int = 4 << 20
    # pynetdicom's threads block on their work, not a 1 ms poll (``prompt_reactor``), and plain C-STORE
    # responses are encoded directly (``store_response``)
    lean_protocol: bool = True
    # A C-STORE's data set is gathered in memory by pynetdicom (copied ~2x more on the way to disk): a
    # larger one closes the connection (``pdu_reader``). Uncompressed US cine / MG run to a few 100 MB.
    max_dataset_bytes: int = 1 << 30
    network_timeout_s: float = 60.0
    acse_timeout_s: float = 30.0
    dimse_timeout_s: float = 60.0
    min_free_bytes: int = 1 << 30  # refuse new data below 1 GiB free
    storage_classes: dict = field(default_factory=lambda: dict(STORAGE_CLASSES))


def admits(config: NodeConfig, host: str, connections: int) -> bool:
    """Whether a new connection from ``host`` is taken, ``connections`` being open already. Refused
    at once (closed, before it costs a thread or an association slot): a host the allow-list leaves
    out when every entry names its host, and any connection past ``max_associations`` +
    ``MAX_WAITING_CONNECTIONS`` (each costs two threads until it asks for an association or its ACSE
    timeout ends it; only established associations count against ``max_associations``)."""
    if config.allow and all(p.host is not None for p in config.allow) and host not in {p.host for p in config.allow}:
        return False
    return connections < config.max_associations + MAX_WAITING_CONNECTIONS


def _make_ae(config: NodeConfig):
    from pynetdicom import AE
    from pynetdicom.transport import ThreadedAssociationServer

    class GuardedServer(ThreadedAssociationServer):
        """Screens each connection on accept (``admits``), counting those whose association thread
        is not running yet (it starts in a handler thread, a moment later) and not closed."""

        starting: list = []  # (accepted connection, monotonic time admitted), for up to STARTING_S

        def verify_request(self, request, client_address) -> bool:  # False: the server closes it
            now, running = time.monotonic(), self.active_associations
            taken = {id(_connection_of(a)) for a in running}
            self.starting = [(c, t) for c, t in self.starting
                             if now - t < STARTING_S and id(c) not in taken and c.fileno() != -1]
            if not admits(config, str(client_address[0]), len(running) + len(self.starting)):
                return False
            self.starting.append((request, now))
            return True

    class AllowListAE(AE):
        """``require_calling_aet`` per association: the titles allowed from the calling host.
        pynetdicom checks it in the association's own thread, where ``current_thread()`` is the
        association, so a title from a host not paired with it is rejected like an unknown title.
        Its server screens connections first (``admits``)."""

        @property
        def require_calling_aet(self) -> list[str]:
            if not config.allow:
                return []
            requestor = getattr(threading.current_thread(), "requestor", None)
            host = getattr(requestor, "address", None) if requestor is not None else None
            titles = [p.ae_title for p in config.allow if p.host is None or p.host == host]
            return titles or [_NO_TITLE]

        @require_calling_aet.setter
        def require_calling_aet(self, titles) -> None:  # AE.__init__ sets it; the allow-list rules
            pass

        @property
        def active_associations(self) -> list:
            """Established associations (and the caller's own): what ``max_associations`` limits when
            pynetdicom negotiates one; a connection still silent does not take a slot (``admits``
            bounds those)."""
            me = threading.current_thread()
            return [a for a in super().active_associations if a.is_established or a is me]

        def make_server(self, address, *args, server_class=None, **kwargs):
            if server_class is ThreadedAssociationServer:  # start_server(block=False)
                server_class = GuardedServer
            return super().make_server(address, *args, server_class=server_class, **kwargs)

    return AllowListAE(ae_title=config.ae_title)


class DicomNode:
    """``start()`` listens (non-blocking, association threads of its own), ``stop()`` ends it;
    ``port`` is the bound port. Received items go to ``submit``."""

    def __init__(self, config: NodeConfig, store: IntakeStore, submit: Callable[[Arrival], None]) -> None:
        self.config, self.store, self.submit = config, store, submit
        self.server = None

    @property
    def port(self) -> int:
        return self.server.server_address[1] if self.server is not None else self.config.port

    def start(self) -> "DicomNode":
        from pynetdicom import evt

        quiet_pynetdicom()
        config = self.config
        ae = _make_ae(config)
        ae.maximum_associations = config.max_associations
        ae.maximum_pdu_size = config.max_pdu
        ae.network_timeout = config.network_timeout_s
        ae.acse_timeout = config.acse_timeout_s
        ae.dimse_timeout = config.dimse_timeout_s
        for sop_class in config.storage_classes.values():
            ae.add_supported_context(sop_class, TRANSFER_SYNTAXES)
        ae.add_supported_context(VERIFICATION, (ExplicitVRLittleEndian, ImplicitVRLittleEndian))
        read_pdus = partial(_read_with_limits, max_pdu_bytes=pdu_limit(config.max_pdu),
                            max_dataset_bytes=config.max_dataset_bytes)
        handlers = [(evt.EVT_C_STORE, self._on_store), (evt.EVT_C_ECHO, lambda event: SUCCESS),
                    (evt.EVT_DATA_RECV, _ack_at_once), (evt.EVT_CONN_OPEN, read_pdus)]
        from .prompt_reactor import SUPPORTED, close_wake, wait_for_work  # these import pynetdicom: when started
        from .store_response import answer_stores_directly

        if config.lean_protocol and SUPPORTED:
            handlers += [(evt.EVT_CONN_OPEN, lambda event: (wait_for_work(event.assoc),
                                                            answer_stores_directly(event.assoc))),
                         (evt.EVT_CONN_CLOSE, lambda event: close_wake(event.assoc))]
        self.server = ae.start_server((config.bind, config.port), block=False, evt_handlers=handlers)
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server = None

    def _on_store(self, event) -> int:
        """Runs in an association thread: check, store, hand over; never raises."""
        try:
            free = shutil.disk_usage(self.store.root).free
        except OSError:
            free = 0
        if free < self.config.min_free_bytes:
            return OUT_OF_RESOURCES
        try:
            request = event.request
            meta = file_meta_bytes(request.AffectedSOPClassUID, request.AffectedSOPInstanceUID,
                                   event.context.transfer_syntax)
            data = b"".join((meta, request.DataSet.getvalue()))
        except Exception:
            return CANNOT_UNDERSTAND
        uid, facts, reason = _check(data, len(meta), event.context.transfer_syntax)
        try:
            if reason is not None:
                self.submit(Arrival(self.store.reject(data), "dicom", rejected=reason))
                return CANNOT_UNDERSTAND
            # A large data set is not hashed here: the engine does, off this C-STORE's round trip.
            name, sha = instance_name(uid, data), sha256_bytes(data) if len(data) < DIRECT_STORE_BYTES else None
            self.store.receive(name, data, sha)
        except OSError:  # disk full meanwhile, permissions
            return OUT_OF_RESOURCES
        self.submit(Arrival(name, "dicom", sha256=sha, facts=facts))
        return SUCCESS


def file_meta_bytes(sop_class_uid: str, sop_instance_uid: str, transfer_syntax: str) -> bytes:
    """Preamble, ``DICM`` and the file meta group of a received data set - the bytes pynetdicom's
    ``Event.encoded_dataset`` puts before it, encoded here directly (it builds and writes a pydicom
    data set: ~0.3 ms per C-STORE)."""
    from pynetdicom import PYNETDICOM_IMPLEMENTATION_UID, PYNETDICOM_IMPLEMENTATION_VERSION

    def element(number: int, vr: bytes, value: bytes, pad: bytes = b"\x00") -> bytes:
        value += pad * (len(value) % 2)
        if vr == b"OB":
            return struct.pack("<HH2s2xI", 2, number, vr, len(value)) + value
        return struct.pack("<HH2sH", 2, number, vr, len(value)) + value

    group = b"".join((element(0x0001, b"OB", b"\x00\x01"), element(0x0002, b"UI", str(sop_class_uid).encode("ascii")),
                      element(0x0003, b"UI", str(sop_instance_uid).encode("ascii")),
                      element(0x0010, b"UI", str(transfer_syntax).encode("ascii")),
                      element(0x0012, b"UI", str(PYNETDICOM_IMPLEMENTATION_UID).encode("ascii")),
                      element(0x0013, b"SH", str(PYNETDICOM_IMPLEMENTATION_VERSION).encode("ascii"), b" ")))
    return b"\x00" * 128 + b"DICM" + element(0x0000, b"UL", struct.pack("<I", len(group))) + group


def _read_with_limits(event, max_pdu_bytes: int, max_dataset_bytes: int) -> None:
    """This association's connection reads its PDUs through a ``PduReader`` (the connection is just
    open, its reactor not started; only this association's transport object is changed)."""
    transport = getattr(event.assoc.dul, "socket", None)
    if transport is not None and getattr(transport, "socket", None) is not None:
        transport.recv = PduReader(transport, max_pdu_bytes, max_dataset_bytes)


def _connection_of(assoc):
    """The accepted connection under pynetdicom's association (None once closed)."""
    return getattr(getattr(assoc.dul, "socket", None), "socket", None)


def _ack_at_once(event) -> None:
    """Acknowledge received TCP data at once (Linux ``TCP_QUICKACK``, re-armed after every read).
    A sender with Nagle's algorithm on (pynetdicom's SCU, many modalities) holds a data set's
    PDU until its command PDU is acknowledged; a delayed ACK made every C-STORE wait ~40 ms."""
    quickack = getattr(socket, "TCP_QUICKACK", None)
    sock = _connection_of(event.assoc)
    if quickack is not None and sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, quickack, 1)
        except OSError:
            pass


def _check(data: bytes, dataset_at: int, transfer_syntax) -> tuple[str | None, ItemFacts | None, str | None]:
    """(SOP Instance UID, routing facts, None) for a readable header, else (None, None, a path-free
    reason). ``data``: file meta, then from ``dataset_at`` the data set in ``transfer_syntax``."""
    try:
        # Read to the pixel data: a length past the end or a torn element stops the read, so the UID
        # after it is missing. Values are not converted here; the analysis decodes the instance anyway.
        # The data set is read as it came, without the file meta we wrote before it (dcmread's file
        # meta and preamble handling took ~80 % of the check); deflated ones are inflated by dcmread.
        syntax = UID(transfer_syntax)
        if syntax.is_deflated:
            header = dcmread(io.BytesIO(data), stop_before_pixels=True)
        else:
            stream = io.BytesIO(data)
            stream.seek(dataset_at)
            header = read_dataset(stream, syntax.is_implicit_VR, syntax.is_little_endian, stop_when=_at_pixel_data)
        uid = str(header.SOPInstanceUID)
        facts = facts_of(header)
    except Exception as exc:  # the type only: pydicom's messages can quote values
        return None, None, f"DICOM data set cannot be decoded ({type(exc).__name__})"
    if not uid.strip():
        return None, None, "DICOM data set has no SOP Instance UID"
    return uid, facts, None


def _at_pixel_data(tag, vr, length) -> bool:
    return tag in PIXEL_DATA_TAGS
