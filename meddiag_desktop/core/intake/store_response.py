"""The node's C-STORE responses, encoded directly.

pynetdicom answers each C-STORE by building a pydicom data set of the response's command elements
and encoding it twice (once for the group length): about a third of what the association thread
spends in Python per small instance. A plain response (a status, the two affected UIDs, the message
ID answered; no error comment or offending element) is seven fixed elements in implicit VR little
endian, written here with ``struct``: the same bytes (``tests/test_node_waits.py`` compares them with
pynetdicom's own encoding), handed to the association's DUL as pynetdicom would (one P-DATA, message
control header 0x03: command, last fragment). Anything else goes through pynetdicom unchanged.
"""
from __future__ import annotations

import struct

from pynetdicom.dimse_primitives import C_STORE
from pynetdicom.pdu_primitives import P_DATA

__all__ = ["c_store_response", "answer_stores_directly"]

C_STORE_RSP = 0x8001
NO_DATA_SET = 0x0101
COMMAND_LAST_FRAGMENT = b"\x03"


def _element(element: int, value: bytes) -> bytes:
    if len(value) % 2:
        value += b"\0"  # UIDs are padded with NUL to even length
    return struct.pack("<HHI", 0x0000, element, len(value)) + value


def c_store_response(primitive: C_STORE) -> bytes | None:
    """The command set of a plain C-STORE response (None: not plain; pynetdicom encodes it)."""
    if (primitive.MessageIDBeingRespondedTo is None or primitive.Status is None or primitive.DataSet is not None
            or primitive.ErrorComment is not None or primitive.OffendingElement is not None):
        return None
    elements = [_element(0x0100, struct.pack("<H", C_STORE_RSP)),
                _element(0x0120, struct.pack("<H", primitive.MessageIDBeingRespondedTo)),
                _element(0x0800, struct.pack("<H", NO_DATA_SET)), _element(0x0900, struct.pack("<H", primitive.Status))]
    if primitive.AffectedSOPClassUID is not None:
        elements.insert(0, _element(0x0002, str(primitive.AffectedSOPClassUID).encode("ascii")))
    if primitive.AffectedSOPInstanceUID is not None:
        elements.append(_element(0x1000, str(primitive.AffectedSOPInstanceUID).encode("ascii")))
    body = b"".join(elements)
    return _element(0x0000, struct.pack("<I", len(body))) + body


def answer_stores_directly(assoc) -> None:
    """Send ``assoc``'s plain C-STORE responses encoded by :func:`c_store_response`."""
    dimse, send_msg = assoc.dimse, assoc.dimse.send_msg

    def send(primitive, context_id: int) -> None:
        command = c_store_response(primitive) if type(primitive) is C_STORE else None
        limit = dimse.maximum_pdu_size  # the peer's; 0: unlimited
        if command is None or (limit and len(command) + 6 > limit):  # 6: the PDV's header
            send_msg(primitive, context_id)
            return
        pdata = P_DATA()
        pdata.presentation_data_value_list.append((context_id, COMMAND_LAST_FRAGMENT + command))
        assoc.dul.send_pdu(pdata)

    dimse.send_msg = send
