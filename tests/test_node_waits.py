"""The DICOM node's pynetdicom threads wait for their work (``core.intake.prompt_reactor``) instead
of polling every millisecond, and still do all of it; the benchmarks' lean modality
(``benchmarks/lean_modality.py``: PDUs straight to a socket) is a peer the node stores correctly."""
from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pydicom
import pytest

from meddiag_desktop.core.intake import prompt_reactor
from meddiag_desktop.core.intake.store_response import c_store_response
from meddiag_desktop.core.intake.node import DicomNode, NodeConfig
from meddiag_desktop.core.intake.store import IntakeStore

from intakekit import copies, send, wait_until

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import lean_modality  # noqa: E402


@pytest.fixture
def node(tmp_path):
    arrivals = []
    node = DicomNode(NodeConfig(port=0, min_free_bytes=0, max_pdu=16384), IntakeStore(tmp_path / "node"),
                     arrivals.append).start()
    node.arrivals = arrivals
    yield node
    node.stop()


def _server_association(node):
    wait_until(lambda: len(node.server.active_associations) == 1, 10, "the node's association")
    return node.server.active_associations[0]


def test_an_idle_association_waits_instead_of_polling(node, monkeypatch, tmp_path):
    selects = []
    real_select = prompt_reactor.select.select
    monkeypatch.setattr(prompt_reactor, "select", SimpleNamespace(
        select=lambda *args: (selects.append(1), real_select(*args))[1]))
    peer = lean_modality.Association(node.port, b"1.2.840.10008.5.1.4.1.1.2", b"1.2.840.10008.1.2.1")
    assoc = _server_association(node)
    assert isinstance(assoc.dul.socket, prompt_reactor.PromptSocket)
    looks, get_msg = [], assoc.dimse.get_msg
    assoc.dimse.get_msg = lambda block=False: (looks.append(block), get_msg(block))[1]
    time.sleep(1.0)
    # pynetdicom's own loops look ~1 000 times a second each; waiting: ~1 / max_wait_s (20 a second)
    assert 5 <= len(selects) <= 60, len(selects)
    assert 5 <= len(looks) <= 60, len(looks)

    path = copies("CT_small.dcm", tmp_path, 1)[0]
    sop_class, sop_instance, _, dataset = lean_modality.part10(path)
    assert peer.store(sop_class, sop_instance, dataset) == 0  # the work itself is done (and answered)
    wake = assoc.dul.socket.wake
    peer.release()
    wait_until(lambda: wake.fileno() == -1, 10, "the wake-up pair closed with the connection")
    assert len(node.arrivals) == 1


def test_the_node_answers_promptly_many_times_in_a_row(node, tmp_path):
    """A response queued while the reader waits on the connection wakes it: else every C-STORE would
    wait out ``max_wait_s`` (100 in a row: >= 5 s; with the wake-up ~0.3 s here)."""
    paths = copies("CT_small.dcm", tmp_path, 100)
    sop_class, _, transfer_syntax, _ = lean_modality.part10(paths[0])
    peer = lean_modality.Association(node.port, sop_class, transfer_syntax)
    started = time.monotonic()
    statuses = [peer.store(*(lean_modality.part10(path)[i] for i in (0, 1, 3))) for path in paths]
    elapsed = time.monotonic() - started
    peer.release()
    assert statuses == [0] * 100
    assert elapsed < 100 * prompt_reactor.MAX_WAIT_S / 2, elapsed
    assert send(paths[:3], node.port) == [0] * 3  # pynetdicom's own SCU too (the same instances again)


def test_the_lean_protocol_can_be_turned_off(tmp_path):
    node = DicomNode(NodeConfig(port=0, min_free_bytes=0, lean_protocol=False), IntakeStore(tmp_path / "node"),
                     lambda arrival: None).start()
    try:
        peer = lean_modality.Association(node.port, b"1.2.840.10008.5.1.4.1.1.2", b"1.2.840.10008.1.2.1")
        assert not isinstance(_server_association(node).dul.socket, prompt_reactor.PromptSocket)
        peer.release()
    finally:
        node.stop()


@pytest.mark.parametrize("associations", [1, 3])
def test_the_lean_modality_stores_each_data_set_as_it_was(node, tmp_path, associations):
    """Data sets in several PDUs (CT_small's 39 KB over the node's 16 KB PDUs), concurrent associations;
    the node stores each data set byte for byte (behind its own file meta)."""
    (tmp_path / "src").mkdir()
    paths = copies("CT_small.dcm", tmp_path / "src", 6)
    sop_class, _, transfer_syntax, _ = lean_modality.part10(paths[0])
    peers = [lean_modality.Association(node.port, sop_class, transfer_syntax) for _ in range(associations)]
    statuses = []

    def send_share(peer, share):
        for path in share:
            klass, instance, _, dataset = lean_modality.part10(path)
            statuses.append(peer.store(klass, instance, dataset))
        peer.release()

    threads = [threading.Thread(target=send_share, args=(peer, paths[i::associations])) for i, peer in enumerate(peers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert statuses == [0] * 6
    stored = {pydicom.dcmread(p).SOPInstanceUID: p for p in (node.store.instances / a.name for a in node.arrivals)}
    for path in paths:
        source = pydicom.dcmread(path)
        kept = stored[source.SOPInstanceUID]
        assert lean_modality.part10(str(kept))[3] == lean_modality.part10(path)[3]


def test_the_lean_modality_reads_a_refusal(node):
    basic_text_sr = b"1.2.840.10008.5.1.4.1.1.88.11"  # not an image: no presentation context for it
    with pytest.raises(ConnectionError, match="presentation context"):
        lean_modality.Association(node.port, basic_text_sr, b"1.2.840.10008.1.2.1")


@pytest.mark.parametrize("status", [0x0000, 0xA700, 0xC000, 0xB000])
def test_a_plain_c_store_response_is_encoded_as_pynetdicom_encodes_it(status):
    from pynetdicom.dimse_messages import C_STORE_RSP
    from pynetdicom.dimse_primitives import C_STORE

    response = C_STORE()
    response.MessageIDBeingRespondedTo, response.Status = 65535, status
    response.AffectedSOPClassUID, response.AffectedSOPInstanceUID = "1.2.840.10008.5.1.4.1.1.1", "1.2.3.45"
    message = C_STORE_RSP()
    message.primitive_to_message(response)
    (pdata,) = message.encode_msg(1, 16384)
    assert pdata.presentation_data_value_list == [(1, b"\x03" + c_store_response(response))]
    response.ErrorComment = "not plain"
    assert c_store_response(response) is None  # left to pynetdicom
