#!/usr/bin/env python
"""A modality for the node benchmarks that costs the node's machine little: it C-STOREs files by
writing DICOM Upper Layer PDUs (PS3.8) straight to a socket and blocks on the socket for each
response, where a pynetdicom SCU spends ~3.5 ms of Python per small instance and polls its
connection every millisecond. A real modality is another machine; on this one the two share the
node's cores, so the benchmark's modality should take as little of them as it can.

    python benchmarks/lean_modality.py PORT ASSOCIATIONS < paths

Like the benchmark's pynetdicom SCU: the files named on stdin (DICOM Part 10, any transfer syntax:
each is sent in its own, as the file holds it), dealt out over ASSOCIATIONS associations to
MEDDIAG@127.0.0.1:PORT, all open before the first C-STORE; prints ``START`` (wall-clock time of the
first C-STORE), ``FAILED`` (C-STOREs without a Success) and ``CPU`` (its CPU seconds from START).
The node answers it as any peer: ``tests/core/test_lean_modality.py`` checks what it stores.
"""
from __future__ import annotations

import os
import socket
import struct
import sys
import threading
import time

IMPLEMENTATION_UID = b"1.2.826.0.1.3680043.9.7433.1.1"  # any UID; this one names no product
APPLICATION_CONTEXT = b"1.2.840.10008.3.1.1.1"
PDV_HEADER = 6  # item length (4), presentation context ID, message control header


def item(kind: int, payload: bytes) -> bytes:
    return struct.pack(">BxH", kind, len(payload)) + payload


def pdu(kind: int, body: bytes) -> bytes:
    return struct.pack(">BxI", kind, len(body)) + body


def part10(path: str) -> tuple[bytes, bytes, bytes, bytes]:
    """(SOP Class UID, SOP Instance UID, transfer syntax UID, the data set's bytes) of a Part 10 file,
    read off its file meta group (explicit VR little endian) without decoding the data set."""
    data = open(path, "rb").read()
    if data[128:132] != b"DICM":
        raise ValueError(f"{path}: not a DICOM Part 10 file")
    offset, end, meta = 132, None, {}
    while end is None or offset < end:
        group, element, vr = struct.unpack_from("<HH2s", data, offset)
        if group != 2:
            break
        if vr in (b"OB", b"OW", b"OF", b"SQ", b"UT", b"UN"):
            length, offset = struct.unpack_from("<I", data, offset + 8)[0], offset + 12
        else:
            length, offset = struct.unpack_from("<H", data, offset + 6)[0], offset + 8
        value = data[offset:offset + length]
        if element == 0:
            end = offset + length + struct.unpack("<I", value)[0]
        meta[element] = value.rstrip(b"\0 ")
        offset += length
    return meta[2], meta[3], meta[0x10], data[offset:]


def command_element(element: int, value: bytes) -> bytes:
    """One element of group 0000 in implicit VR little endian (UIDs padded to even length)."""
    if len(value) % 2:
        value += b"\0"
    return struct.pack("<HHI", 0, element, len(value)) + value


def c_store_rq(message_id: int, sop_class: bytes, sop_instance: bytes) -> bytes:
    body = (command_element(0x0002, sop_class) + command_element(0x0100, struct.pack("<H", 0x0001))
            + command_element(0x0110, struct.pack("<H", message_id)) + command_element(0x0700, b"\0\0")
            + command_element(0x0800, struct.pack("<H", 0x0001)) + command_element(0x1000, sop_instance))
    return command_element(0x0000, struct.pack("<I", len(body))) + body


def status_of(command: bytes) -> int | None:
    """The Status (0000,0900) of an implicit VR little endian command set."""
    offset = 0
    while offset + 8 <= len(command):
        group, element, length = struct.unpack_from("<HHI", command, offset)
        if (group, element) == (0, 0x0900):
            return struct.unpack_from("<H", command, offset + 8)[0]
        offset += 8 + length
    return None


class Association:
    """One association to the node: negotiated for one SOP class and transfer syntax (context 1)."""

    def __init__(self, port: int, sop_class: bytes, transfer_syntax: bytes, called: bytes = b"MEDDIAG",
                 calling: bytes = b"MODALITY") -> None:
        self.connection = socket.create_connection(("127.0.0.1", port))
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        context = item(0x20, b"\x01\0\0\0" + item(0x30, sop_class) + item(0x40, transfer_syntax))
        user = item(0x50, item(0x51, struct.pack(">I", 0)) + item(0x52, IMPLEMENTATION_UID))
        fixed = struct.pack(">HH", 1, 0) + called.ljust(16) + calling.ljust(16) + bytes(32)
        self.connection.sendall(pdu(0x01, fixed + item(0x10, APPLICATION_CONTEXT) + context + user))
        kind, body = self.receive()
        if kind != 0x02:
            raise ConnectionError(f"association not accepted (PDU type {kind:#04x})")
        self.max_fragment, accepted, offset = 1 << 20, False, 68
        while offset < len(body):
            sub, length = body[offset], struct.unpack_from(">H", body, offset + 2)[0]
            payload = body[offset + 4:offset + 4 + length]
            if sub == 0x21 and payload[0] == 1:
                accepted = payload[2] == 0
            elif sub == 0x50 and payload[:1] == b"\x51":
                peer_max = struct.unpack_from(">I", payload, 4)[0]
                self.max_fragment = (peer_max - PDV_HEADER) if peer_max else 1 << 20
            offset += 4 + length
        if not accepted:
            raise ConnectionError("presentation context not accepted")
        self.message_id = 0

    def receive(self) -> tuple[int, bytes]:
        header = self.exactly(6)
        return header[0], self.exactly(struct.unpack_from(">I", header, 2)[0])

    def exactly(self, count: int) -> bytes:
        chunks = []
        while count:
            chunk = self.connection.recv(min(count, 1 << 20))
            if not chunk:
                raise ConnectionError("the node closed the connection")
            chunks.append(chunk)
            count -= len(chunk)
        return b"".join(chunks)

    def store(self, sop_class: bytes, sop_instance: bytes, dataset: bytes) -> int | None:
        """C-STORE one data set; the response's status."""
        self.message_id = self.message_id % 0xFFFF + 1
        command = c_store_rq(self.message_id, sop_class, sop_instance)
        out = [pdu(0x04, struct.pack(">IBB", len(command) + 2, 1, 0x03) + command)]
        for start in range(0, len(dataset), self.max_fragment):
            fragment = dataset[start:start + self.max_fragment]
            last = 0x02 if start + self.max_fragment >= len(dataset) else 0x00
            out.append(pdu(0x04, struct.pack(">IBB", len(fragment) + 2, 1, last) + fragment))
        self.connection.sendall(b"".join(out))
        response = []
        while True:
            kind, body = self.receive()
            if kind != 0x04:
                raise ConnectionError(f"PDU type {kind:#04x} instead of the C-STORE response")
            offset = 0
            while offset < len(body):
                length, _, control = struct.unpack_from(">IBB", body, offset)
                response.append(body[offset + PDV_HEADER:offset + 4 + length])
                offset += 4 + length
                if control & 0x03 == 0x03:  # command, last fragment
                    return status_of(b"".join(response))

    def release(self) -> None:
        self.connection.sendall(pdu(0x05, bytes(4)))
        try:
            while self.receive()[0] != 0x06:
                pass
        finally:
            self.connection.close()


def run_modality(connect, store, release) -> int:
    """The benchmark's modality, whatever speaks the protocol: ``connect(port, first_path)`` opens one
    association, ``store(association, path)`` C-STOREs a file (its status), ``release(association)``.
    Reads ``PORT ASSOCIATIONS`` from argv and the paths from stdin; prints START, FAILED and CPU."""
    port, count, paths = int(sys.argv[1]), int(sys.argv[2]), sys.stdin.read().split()
    associations = [connect(port, paths[0]) for _ in range(count)]
    bad: list[int] = []

    def send(association, share: list[str]) -> None:
        left = len(share)
        try:
            for path in share:
                bad.append(store(association, path) != 0)
                left -= 1
            release(association)
        except Exception as exc:  # an aborted association: what is left failed
            print(f"ERROR {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            bad.append(left)

    threads = [threading.Thread(target=send, args=(a, paths[i::count])) for i, a in enumerate(associations)]
    cpu = os.times()
    print(f"START {time.time():.6f}", flush=True)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(f"FAILED {sum(bad)}", flush=True)
    print(f"CPU {os.times().user + os.times().system - cpu.user - cpu.system:.3f}", flush=True)
    return 0


def connect(port: int, first_path: str) -> Association:
    sop_class, _, transfer_syntax, _ = part10(first_path)
    return Association(port, sop_class, transfer_syntax)


def store(association: Association, path: str) -> int | None:
    sop_class, sop_instance, _, dataset = part10(path)
    return association.store(sop_class, sop_instance, dataset)


if __name__ == "__main__":
    sys.exit(run_modality(connect, store, Association.release))
