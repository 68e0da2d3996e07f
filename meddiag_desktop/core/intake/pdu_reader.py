"""How the DICOM node reads its connections: pynetdicom's ``transport.recv``, replaced per accepted
connection by a :class:`PduReader`.

pynetdicom reads a PDU as its 6-byte header, then a body of the length the header claims. Its own
transport reads 4 KiB per call and extends a bytearray each time (~2 600 Python iterations, each
taking the GIL, for a 10 MB instance); here each read goes straight into one buffer
(``recv_exactly``). And it trusts the peer: anyone who reaches the port can send a header claiming
a 4 GiB PDU (before the allow-list is asked), and a C-STORE's data set, which pynetdicom gathers in
memory, has no size limit (nor has its command set). Here these are limits: a PDU longer than the node
reads (``pdu_limit``), a data set past ``max_dataset_bytes`` and a command set past 1 MiB raise ``OSError`` before the bytes are read or allocated, and
pynetdicom, as for a broken connection, closes it (the association ends; nothing is stored).
"""
from __future__ import annotations

import struct

__all__ = ["MAX_COMMAND_BYTES", "MAX_UNLIMITED_PDU", "MIN_PDU_LIMIT", "P_DATA_TF", "PduReader", "pdu_limit", "recv_exactly"]

MIN_PDU_LIMIT, MAX_UNLIMITED_PDU = 1 << 20, 64 << 20  # see ``pdu_limit``
HEADER_BYTES, P_DATA_TF = 6, 0x04
MAX_COMMAND_BYTES = 1 << 20  # a DIMSE command set is a few hundred bytes
_PDV_HEADER = struct.Struct(">LBB")  # item length, presentation context ID, message control header


def pdu_limit(max_pdu: int) -> int:
    """The longest PDU the node reads: what it told the peer (``max_pdu``: the variable field of a
    P-DATA-TF PDU), at least 1 MiB (an association request with 128 presentation contexts is far
    shorter), and 64 MiB when ``max_pdu`` is 0 (unlimited)."""
    return max(max_pdu or MAX_UNLIMITED_PDU, MIN_PDU_LIMIT)


class PduReader:
    """``recv(nr_bytes)`` for one connection of pynetdicom's ``transport``, with the node's limits."""

    def __init__(self, transport, max_pdu_bytes: int, max_dataset_bytes: int) -> None:
        self.transport = transport
        self.max_pdu_bytes, self.max_dataset_bytes = max_pdu_bytes, max_dataset_bytes
        self.announced: tuple[int, int] | None = None  # (type, length) of the header just read
        self.dataset_bytes = self.command_bytes = 0  # of the data set / command set being received, so far

    def __call__(self, nr_bytes: int) -> bytearray:
        announced, self.announced = self.announced, None
        if nr_bytes > self.max_pdu_bytes:
            raise OSError(f"the peer announced a PDU of {nr_bytes} bytes; this node reads at most {self.max_pdu_bytes}")
        data = recv_exactly(self.transport, nr_bytes)
        if announced is not None and announced == (P_DATA_TF, nr_bytes):
            self._count(data)
        elif announced is None and nr_bytes == HEADER_BYTES and len(data) == HEADER_BYTES:
            pdu_type, _, length = struct.unpack(">BBL", data)
            self.announced = (pdu_type, length)
        return data

    def _count(self, body: bytearray) -> None:
        """Add up the fragments of a P-DATA-TF body: a message's command set and its data set, each
        gathered by pynetdicom in memory until its last fragment, are held to their limits."""
        offset = 0
        while offset + _PDV_HEADER.size <= len(body):
            length, _context, control = _PDV_HEADER.unpack_from(body, offset)
            command = bool(control & 0x01)  # bit 0: a command fragment, else a data set fragment
            total = (self.command_bytes if command else self.dataset_bytes) + max(0, length - 2)
            limit = MAX_COMMAND_BYTES if command else self.max_dataset_bytes
            if total > limit:
                raise OSError(f"the peer sent a {'command set' if command else 'data set'} of over {limit} bytes; "
                              "the node takes at most that")
            total = 0 if control & 0x02 else total  # bit 1: the last fragment
            if command:
                self.command_bytes = total
            else:
                self.dataset_bytes = total
            offset += 4 + length


def recv_exactly(transport, nr_bytes: int) -> bytearray:
    """``nr_bytes`` from the connection of pynetdicom's ``transport`` (fewer only when the peer closed:
    pynetdicom then reports a short PDU), read straight into one buffer."""
    buffer = bytearray(nr_bytes)
    view, got = memoryview(buffer), 0
    with view:
        while got < nr_bytes:
            count = transport.socket.recv_into(view[got:], nr_bytes - got)
            if not count:
                break
            got += count
    if got < nr_bytes:
        del buffer[got:]
    return buffer
