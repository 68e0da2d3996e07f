"""The DICOM node (issue 17) on loopback, in one process: a fake modality sends pydicom's test files
(CT, MR, US RGB, JPEG, RLE, JPEG-LS, JPEG 2000, multi-frame, a DX made from a copy), every one is
stored and analysed, the SR + SC reach a fake PACS and parse; C-ECHO; the allow-list rejects the
association; a corrupt data set gets a failure status and one error row; low disk gets A700; four
associations sending 200 instances at once lose nothing; a PACS that is down gets the results
once it is up; a PACS that refuses a result for good (a status retrying cannot change, no
presentation context) gets it moved to outbox/failed/, transient refusals are retried."""
from __future__ import annotations

import csv
import os
import pathlib
import threading

import pydicom
import pytest

from meddiag_desktop.core.audit import AuditLog, read_audit
from meddiag_desktop.core.intake.engine import IntakeEngine
from meddiag_desktop.core.intake.node import DicomNode, NodeConfig, Peer
from meddiag_desktop.core.intake.outbox import Outbox
from meddiag_desktop.core.intake.sender import CStoreSender, Destination
from meddiag_desktop.core.intake.routing import read_facts
from meddiag_desktop.core.intake.store import IntakeStore, sha256_bytes
from meddiag_desktop.core.jobs import last
from meddiag_desktop.core.loading import load_predictors
from meddiag_desktop.core.model_store import ModelStore

from dicomkit import make_sources, read_sr
from intakekit import SR_SC_CLASSES, FakePacs, Running, copies, free_port, send, wait_until
from testkit import DICOM_DIR


@pytest.fixture(scope="module")
def predictors():
    return last(load_predictors(ModelStore().resolve("pneumonia-cnn"), "cpu")).predictors


class Node:
    """Engine job + node (+ outbox to ``send_to``) on an ephemeral loopback port."""

    def __init__(self, root, predictors, send_to: Destination | None = None, dicom=False, **config) -> None:
        self.root = root
        self.store = IntakeStore(root)
        self.engine = IntakeEngine(self.store, predictors, root / "results.csv", audit=AuditLog(root / "audit.jsonl"),
                                   dicom_out=root / "dicom" if dicom or send_to else None)
        if send_to is not None:
            self.engine.outbox = Outbox(root / "outbox", CStoreSender(send_to), str(send_to), notify=self.engine.notify,
                                        first_retry_s=0.2, max_retry_s=0.5)
        self.run = Running(self.engine)
        config.setdefault("min_free_bytes", 0)
        self.node = DicomNode(NodeConfig(port=0, **config), self.store, self.engine.submit).start()
        self.port = self.node.port

    def rows(self) -> list[dict]:
        with open(self.root / "results.csv", newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))

    def stop(self) -> None:
        self.node.stop()
        self.run.stop()


@pytest.fixture
def node_factory(tmp_path, predictors):
    made = []

    def make(**kwargs):
        made.append(Node(tmp_path / f"node{len(made)}", predictors, **kwargs))
        return made[-1]

    yield make
    for node in made:
        node.stop()


def _sources(folder) -> list[str]:
    sources = make_sources(folder)
    for name in ("MR_small_RLE.dcm", "MR_small_jpeg_ls_lossless.dcm", "JPEG2000.dcm", "SC_rgb_rle_2frame.dcm"):
        sources[name] = copies(name, folder, 1)[0]
    return sorted(sources.values())


def test_modality_to_node_to_pacs(node_factory, tmp_path):
    pacs = FakePacs()
    node = node_factory(send_to=Destination("PACS", "127.0.0.1", pacs.port))
    try:
        folder = tmp_path / "modality"
        folder.mkdir()
        paths = _sources(folder)
        assert send(paths, node.port) == [0x0000] * len(paths)
        analysed = node.run.wait_for("ItemAnalysed", len(paths), timeout=120)
        uids = {str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID) for p in paths}
        assert {e.name for e in analysed} == {f"{uid}.dcm" for uid in uids}
        rows = node.rows()
        assert sorted(r["path"] for r in rows) == sorted(str(node.store.path(f"{u}.dcm")) for u in uids)
        assert all(r["status"] == "ok" for r in rows), [r["error"] for r in rows]
        written = [o for e in analysed for o in e.dicom_outputs if o.ok]
        assert len(written) == 2 * len(paths)  # an SR and an SC each
        wait_until(lambda: len(pacs.received) == len(written), 120, "the results at the PACS")
        # The PACS holds a dataset before the sender has its response and clears the outbox file.
        outbox = node.store.root.joinpath("outbox")
        assert outbox.is_dir()
        wait_until(lambda: not any(outbox.iterdir()), 60, "the outbox to empty")
        wait_until(lambda: len(node.run.of("Delivered")) == len(written), 60, "a Delivered event per object")
    finally:
        pacs.shutdown()
    by_uid = {str(ds.SOPInstanceUID): ds for ds in pacs.received}
    assert set(by_uid) == {o.sop_instance_uid for o in written}
    for output in written:
        received = by_uid[output.sop_instance_uid]
        assert received.SOPClassUID == pydicom.dcmread(output.path, stop_before_pixels=True).SOPClassUID
        assert received.StudyInstanceUID in {pydicom.dcmread(p, stop_before_pixels=True).StudyInstanceUID for p in paths}
        if output.kind == "SR":
            assert set(read_sr(output.path)) == {"pneumonia-cnn"}
        else:
            assert received.BurnedInAnnotation == "YES" and received.pixel_array.ndim == 3
    delivered = node.run.of("Delivered")
    assert len(delivered) == len(written)


def test_c_echo_and_the_allow_list(node_factory):
    from pynetdicom import AE

    node = node_factory(allow=(Peer.parse("MODALITY@127.0.0.1"), Peer.parse("OTHERHOST@10.9.9.9")))

    def associate(calling):
        ae = AE(ae_title=calling)
        ae.add_requested_context("1.2.840.10008.1.1")
        return ae.associate("127.0.0.1", node.port, ae_title="MEDDIAG")

    assoc = associate("MODALITY")
    assert assoc.is_established
    assert assoc.send_c_echo().Status == 0x0000
    assoc.release()
    for calling in ("STRANGER", "OTHERHOST"):  # an unknown title; a known title from another host
        assoc = associate(calling)
        assert assoc.is_rejected and not assoc.is_established
        assert assoc.acceptor.primitive.result == 0x01  # rejected-permanent
        assert assoc.acceptor.primitive.diagnostic == 0x03  # calling AE title not recognised


def test_a_corrupt_data_set_gets_a_failure_status_and_one_error_row(node_factory, tmp_path, monkeypatch):
    from pynetdicom import _config

    monkeypatch.setattr(_config, "STORE_SEND_CHUNKED_DATASET", True)  # the file's bytes as they are
    node = node_factory()
    good = copies("CT_small.dcm", tmp_path, 1)[0]
    ds = pydicom.dcmread(good)
    bad = tmp_path / "corrupt.dcm"
    ds.save_as(bad)
    raw = bad.read_bytes()
    start = raw.find(b"\x08\x00\x08\x00")  # ImageType: the first element after the file meta
    bad.write_bytes(raw[:start] + b"\x08\x00\x08\x00CS\xff\x7f" + b"\x00" * 64)  # a length past the end
    statuses = send([str(bad), good], node.port)
    assert statuses[0] in range(0xC000, 0xD000) and statuses[1] == 0x0000  # the node keeps going
    node.run.wait_for("ItemAnalysed", 1)
    node.run.wait_for("ItemFailed", 1)
    rows = node.rows()
    errors = [r for r in rows if r["status"] == "error"]
    assert len(errors) == 1 and errors[0]["model"] == "" and "cannot be decoded" in errors[0]["error"]
    assert len(rows) == 2


def test_low_disk_refuses_new_data_with_a700(node_factory, tmp_path):
    node = node_factory(min_free_bytes=1 << 62)
    assert send(copies("CT_small.dcm", tmp_path, 1), node.port) == [0xA700]
    assert list(node.store.instances.iterdir()) == []


def test_the_node_hands_over_the_sha256_and_routing_facts_it_read(tmp_path):
    store, arrivals = IntakeStore(tmp_path / "intake"), []
    node = DicomNode(NodeConfig(port=0, min_free_bytes=0), store, arrivals.append).start()
    try:
        assert send(copies("CT_small.dcm", tmp_path, 1), node.port) == [0]
    finally:
        node.stop()
    (arrival,) = arrivals
    stored = store.path(arrival.name)
    assert arrival.sha256 == sha256_bytes(stored.read_bytes())
    assert arrival.facts == read_facts(stored) and arrival.facts.modality == "CT"


def test_four_associations_sending_200_instances(node_factory, tmp_path):
    node = node_factory(max_associations=4)
    paths = copies("CT_small.dcm", tmp_path, 200)
    statuses: list = []
    threads = [threading.Thread(target=lambda part=paths[i::4]: statuses.extend(send(part, node.port)))
               for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert statuses == [0x0000] * 200
    assert len(list(node.store.instances.iterdir())) == 200
    node.run.wait_for("ItemAnalysed", 200, timeout=120)
    rows = node.rows()
    assert len(rows) == 200 and len({r["path"] for r in rows}) == 200
    audit = read_audit(node.root / "audit.jsonl")
    assert len(audit) == 200 and len({a["file_sha256"] for a in audit}) == 200
    assert len(node.store.load_index()[0]) == 200


def test_results_wait_in_the_outbox_while_the_pacs_is_down(node_factory, tmp_path):
    port = free_port()
    node = node_factory(send_to=Destination("PACS", "127.0.0.1", port))
    assert send(copies("CT_small.dcm", tmp_path, 2), node.port) == [0, 0]
    node.run.wait_for("ItemAnalysed", 2)
    node.run.wait_for("DeliveryFailed", 4)
    outbox = node.store.root / "outbox"
    assert len(list(outbox.iterdir())) == 4  # an SR and an SC per instance, kept on disk
    pacs = FakePacs(port)
    try:
        node.run.wait_for("Delivered", 4, timeout=60)
    finally:
        pacs.shutdown()
    assert len(pacs.received) == 4 and list(outbox.iterdir()) == []


def test_a_pacs_that_refuses_for_good_sends_results_to_failed(node_factory, tmp_path):
    """SC: "cannot understand" (permanent: moved to outbox/failed/ at once, with a reason record
    free of patient data); SR: "out of resources" twice (transient: retried, then delivered)."""
    busy: list = []

    def status(ds):
        if ds.SOPClassUID == SR_SC_CLASSES[1]:
            return 0xC001
        busy.append(ds.SOPInstanceUID)
        return 0xA700 if len(busy) <= 2 else 0x0000

    pacs = FakePacs(status=status)
    node = node_factory(send_to=Destination("PACS", "127.0.0.1", pacs.port))
    try:
        source = copies("CT_small.dcm", tmp_path, 1, PatientName="Marker^Refused", PatientID="MARKERID77")
        assert send(source, node.port) == [0]
        node.run.wait_for("Delivered", 1, timeout=60)
        [refused] = [e for e in node.run.of("DeliveryFailed") if e.permanent]
    finally:
        pacs.shutdown()
    assert "0xC001" in refused.reason and "cannot understand" in refused.reason
    outbox = node.store.root / "outbox"
    assert [p.name for p in outbox.iterdir() if p.is_file()] == []
    failed = sorted(p.name for p in (outbox / "failed").iterdir())
    assert failed == [refused.name, f"{refused.name}.json"]
    record = (outbox / "failed" / f"{refused.name}.json").read_text()
    assert "Marker" not in record and "MARKERID77" not in record and "cannot understand" in record
    assert [code for cls, code in pacs.answered if cls == SR_SC_CLASSES[1]] == [0xC001]  # asked once
    assert [code for cls, code in pacs.answered if cls == SR_SC_CLASSES[0]] == [0xA700, 0xA700, 0x0000]
    transient = [e for e in node.run.of("DeliveryFailed") if not e.permanent]
    assert len(transient) == 2 and all("out of resources" in e.reason for e in transient)


def test_no_presentation_context_is_a_permanent_refusal(node_factory, tmp_path):
    pacs = FakePacs(classes=SR_SC_CLASSES[:1])  # takes SRs only
    node = node_factory(send_to=Destination("PACS", "127.0.0.1", pacs.port))
    try:
        assert send(copies("CT_small.dcm", tmp_path, 1), node.port) == [0]
        node.run.wait_for("Delivered", 1, timeout=60)
        # A loaded machine may first see a transient failure (a reset connection, retried): wait for the refusal.
        wait_until(lambda: any(e.permanent for e in node.run.of("DeliveryFailed")), 60, "the permanent refusal")
        [refused] = [e for e in node.run.of("DeliveryFailed") if e.permanent]
    finally:
        pacs.shutdown()
    assert "no presentation context" in refused.reason
    assert SR_SC_CLASSES[1] in refused.reason
    outbox = node.store.root / "outbox"
    assert [p.name for p in outbox.iterdir() if p.is_file()] == []
    assert (outbox / "failed" / refused.name).is_file() and len(pacs.received) == 1


def test_the_outbox_sender_starts_every_c_store_with_the_reactor_running(tmp_path, monkeypatch):
    """pynetdicom 3.0.4's requestor race: a C-STORE started while the association's reactor still
    looks paused can lose its response to the reactor (then a 30 s wait and an abort). The sender
    waits for the reactor between C-STOREs (``sender.reactor_resumed``); all are delivered at once."""
    from pynetdicom.association import Association

    ct_class = "1.2.840.10008.5.1.4.1.1.2"
    pacs = FakePacs(classes=(ct_class,))
    paused_at_start: list[bool] = []
    real_send = Association.send_c_store

    def spying_send(assoc, *args, **kwargs):
        paused_at_start.append(bool(getattr(assoc, "_is_paused", False)))
        return real_send(assoc, *args, **kwargs)

    monkeypatch.setattr(Association, "send_c_store", spying_send)
    try:
        paths = [pathlib.Path(p) for p in copies("CT_small.dcm", tmp_path, 30)]
        outcome = CStoreSender(Destination("PACS", "127.0.0.1", pacs.port), timeout_s=5)(paths)
    finally:
        pacs.shutdown()
    assert outcome == {p: None for p in paths} and len(pacs.received) == 30
    assert len(paused_at_start) == 30 and not any(paused_at_start[1:])


@pytest.mark.parametrize("uids", [("1.2.840.10008.5.1.4.1.1.2", "1.2.3.44", "1.2.840.10008.1.2.1"),
                                  ("1.2.840.10008.5.1.4.1.1.7", "1.2.3.4", "1.2.840.10008.1.2.4.50")])
def test_the_stored_file_meta_is_the_one_pynetdicom_would_write(uids):
    """The node encodes the file meta group itself (cheaper): byte for byte what ``encoded_dataset`` writes."""
    from pynetdicom.dsutils import create_file_meta, encode_file_meta

    from meddiag_desktop.core.intake.node import file_meta_bytes

    meta = create_file_meta(sop_class_uid=uids[0], sop_instance_uid=uids[1], transfer_syntax=uids[2])
    assert file_meta_bytes(*uids) == b"\x00" * 128 + b"DICM" + encode_file_meta(meta)


def test_the_node_reads_a_pdu_in_large_pieces_and_stops_at_a_closed_peer():
    """``recv_exactly`` (the node's associations read PDUs with it): every byte asked for, across
    several network reads, straight into one buffer; what came when the peer closes early."""
    import socket

    from meddiag_desktop.core.intake.pdu_reader import recv_exactly

    class Wrapper:  # pynetdicom's AssociationSocket: the socket as ``.socket``
        def __init__(self, sock):
            self.socket = sock

    left, right = socket.socketpair()
    with left, right:
        data = os.urandom(3 << 20)
        writer = threading.Thread(target=lambda: (right.sendall(data[:1000]), right.sendall(data[1000:])))
        writer.start()
        assert recv_exactly(Wrapper(left), len(data)) == data
        writer.join()
        right.sendall(b"abc")
        right.close()
        assert recv_exactly(Wrapper(left), 10) == b"abc"


def test_a_peer_announcing_a_huge_pdu_is_cut_off_before_anything_is_allocated(node_factory):
    """A PDU header is 6 bytes from anyone who can connect (before the allow-list is asked): one
    claiming 2 GiB closes that connection at once, the node's memory does not move, and it goes on
    answering others."""
    import resource
    import socket
    import struct

    from pynetdicom import AE

    from meddiag_desktop.core.intake.pdu_reader import pdu_limit

    node = node_factory(max_pdu=1 << 20)
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with socket.create_connection(("127.0.0.1", node.port), timeout=10) as hostile:
        hostile.sendall(struct.pack(">BBL", 0x01, 0, 0x7FFFFFFF))  # an A-ASSOCIATE-RQ "of 2 GiB"
        assert hostile.recv(16) == b""  # closed by the node, not left waiting for 2 GiB
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before < 256 * 1024  # KiB: < 256 MB
    ae = AE(ae_title="MODALITY")
    ae.add_requested_context("1.2.840.10008.1.1")
    assoc = ae.associate("127.0.0.1", node.port, ae_title="MEDDIAG")
    assert assoc.is_established and assoc.send_c_echo().Status == 0x0000
    assoc.release()
    assert pdu_limit(4 << 20) == 4 << 20 and pdu_limit(16 << 10) == 1 << 20 and pdu_limit(0) == 64 << 20


def test_a_data_set_over_the_limit_closes_the_connection_and_the_node_goes_on(node_factory, tmp_path):
    """pynetdicom gathers a C-STORE's data set in memory: past ``max_dataset_bytes`` the sender's
    connection is closed mid-transfer, nothing is stored, and the next sender is served."""
    (tmp_path / "big").mkdir()
    (tmp_path / "small").mkdir()
    big = copies("CT_small.dcm", tmp_path / "big", 1, PixelData=os.urandom(3 << 20))[0]
    small = copies("CT_small.dcm", tmp_path / "small", 1)[0]
    node = node_factory(max_dataset_bytes=1 << 20, max_pdu=64 << 10)
    assert send([big], node.port) != [0x0000]  # aborted: no Success
    assert send([small], node.port) == [0x0000]
    wait_until(lambda: len(node.rows()) == 1, 60, "the small instance analysed")
    assert [p.name for p in node.store.instances.iterdir() if p.suffix == ".dcm"] == [node.rows()[0]["path"].rsplit("/", 1)[-1]]


def test_the_pdu_reader_counts_data_set_fragments_across_pdus():
    """A data set's fragments count across PDUs (command fragments apart), its last fragment
    starts the count afresh; a PDU past the limit is refused before it is read; a command set that
    never ends is refused past 1 MiB."""
    import socket
    import struct

    from meddiag_desktop.core.intake.pdu_reader import PduReader

    class Transport:  # pynetdicom's AssociationSocket: the socket as ``.socket``
        def __init__(self, sock):
            self.socket = sock

    def pdu(*fragments) -> bytes:  # P-DATA-TF of (control header, payload) PDVs
        body = b"".join(struct.pack(">LBB", 2 + len(data), 1, control) + data for control, data in fragments)
        return struct.pack(">BBL", 0x04, 0, len(body)) + body

    def read_pdu(reader):
        header = reader(6)
        return header + reader(struct.unpack(">BBL", header)[2])

    left, right = socket.socketpair()
    with left, right:
        reader = PduReader(Transport(left), max_pdu_bytes=1 << 20, max_dataset_bytes=1000)
        stream = [pdu((0x03, b"c" * 900)), pdu((0x00, b"d" * 600)), pdu((0x02, b"d" * 400)),  # 1000: taken
                  pdu((0x00, b"d" * 999)), pdu((0x00, b"d" * 2))]  # 1001: refused
        for message in stream[:4]:
            right.sendall(message)
            assert read_pdu(reader) == message
        right.sendall(stream[4])
        with pytest.raises(OSError, match="data set of over 1000 bytes"):
            read_pdu(reader)
        right.sendall(struct.pack(">BBL", 0x04, 0, (1 << 20) + 1))
        fresh = PduReader(Transport(left), max_pdu_bytes=1 << 20, max_dataset_bytes=1000)
        with pytest.raises(OSError, match="at most"):
            read_pdu(fresh)

    left, right = socket.socketpair()
    with left, right:  # a command set sent without end is refused too (pynetdicom gathers it in memory)
        reader = PduReader(Transport(left), max_pdu_bytes=1 << 20, max_dataset_bytes=1 << 30)
        fragment = pdu((0x01, b"c" * ((1 << 19) - 8)))
        writer = threading.Thread(target=lambda: right.sendall(fragment * 3), daemon=True)  # > the socket buffer
        writer.start()
        assert read_pdu(reader) == fragment and read_pdu(reader) == fragment
        with pytest.raises(OSError, match="command set of over"):
            read_pdu(reader)
        writer.join(10)


def test_silent_connections_take_no_association_slot_and_are_bounded(node_factory):
    """Connections that never ask for an association (a scanner, a stuck device) do not keep
    modalities out (only established associations count against ``max_associations``), and past
    ``max_associations`` + ``MAX_WAITING_CONNECTIONS`` new ones are closed on accept, costing no thread."""
    import socket

    from pynetdicom import AE

    from meddiag_desktop.core.intake.node import MAX_WAITING_CONNECTIONS

    node = node_factory(max_associations=2)
    silent = [socket.create_connection(("127.0.0.1", node.port), timeout=10) for _ in range(3)]
    try:
        wait_until(lambda: len(node.node.server.active_associations) == 3, 10, "the silent connections taken")
        ae = AE(ae_title="MODALITY")
        ae.add_requested_context("1.2.840.10008.1.1")
        assocs = [ae.associate("127.0.0.1", node.port, ae_title="MEDDIAG") for _ in range(3)]
        assert [a.is_established for a in assocs] == [True, True, False]  # the third: over max_associations
        assert all(a.send_c_echo().Status == 0x0000 for a in assocs[:2])
        for a in assocs[:2]:
            a.release()
        wait_until(lambda: len(node.node.server.active_associations) == 3, 10, "the associations gone")
        threads = threading.active_count()
        more = [socket.create_connection(("127.0.0.1", node.port), timeout=10)
                for _ in range(2 + MAX_WAITING_CONNECTIONS)]
        silent += more
        wait_until(lambda: len(node.node.server.active_associations) == 2 + MAX_WAITING_CONNECTIONS, 10,
                   "connections up to the bound")
        over = socket.create_connection(("127.0.0.1", node.port), timeout=10)
        silent.append(over)
        assert over.recv(16) == b""  # closed on accept
        assert len(node.node.server.active_associations) == 2 + MAX_WAITING_CONNECTIONS
        assert threading.active_count() <= threads + 2 * (2 + MAX_WAITING_CONNECTIONS - 3) + 2  # 2 per connection
    finally:
        for s in silent:
            s.close()


def test_the_allow_list_screens_hosts_on_accept():
    """When every allowed peer names its host, a connection from another address is closed before it
    costs a thread; an entry without a host admits any address (its title is checked later)."""
    from meddiag_desktop.core.intake.node import MAX_WAITING_CONNECTIONS, NodeConfig, admits

    by_host = NodeConfig(allow=(Peer.parse("CR01@10.0.0.5"), Peer.parse("PACS@10.0.0.9")))
    assert admits(by_host, "10.0.0.5", 0) and admits(by_host, "10.0.0.9", 0)
    assert not admits(by_host, "127.0.0.1", 0) and not admits(by_host, "10.0.0.6", 0)
    any_host = NodeConfig(allow=(Peer.parse("CR01@10.0.0.5"), Peer.parse("PACS")))
    assert admits(any_host, "10.0.0.6", 0)
    assert admits(NodeConfig(), "10.0.0.6", 0)
    limit = NodeConfig().max_associations + MAX_WAITING_CONNECTIONS
    assert admits(NodeConfig(), "127.0.0.1", limit - 1) and not admits(NodeConfig(), "127.0.0.1", limit)
