"""Test helpers for the intake (issue 17): the engine's job run in a thread (as the window will
run it), a fake PACS on a chosen loopback port, a fake modality SCU, instance copies with new
UIDs. Everything on 127.0.0.1."""
from __future__ import annotations

import os
import threading
import time

import pydicom
from pydicom.uid import generate_uid

from meddiag_desktop.core.intake.sender import reactor_resumed
from testkit import DICOM_DIR

SR_SC_CLASSES = ("1.2.840.10008.5.1.4.1.1.88.34", "1.2.840.10008.5.1.4.1.1.7")  # Comprehensive 3D SR, SC
SYNTAXES = ("1.2.840.10008.1.2.1", "1.2.840.10008.1.2")


def wait_until(condition, timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class Running:
    """``engine.run(...)`` driven in a worker thread; ``events`` collects what it yields."""

    def __init__(self, engine, **kwargs) -> None:
        self.cancel = threading.Event()
        self.events: list = []
        self.error: BaseException | None = None
        self._job = engine.run(cancel=self.cancel, **kwargs)
        self._thread = threading.Thread(target=self._drive, daemon=True)
        self._thread.start()

    def _drive(self) -> None:
        try:
            for event in self._job:
                self.events.append(event)
        except BaseException as exc:  # surfaced by stop()
            self.error = exc

    def of(self, kind: str) -> list:
        return [e for e in list(self.events) if type(e).__name__ == kind]

    def wait_for(self, kind: str, count: int, timeout: float = 60.0) -> list:
        wait_until(lambda: len(self.of(kind)) >= count or self.error is not None, timeout, f"{count} {kind}")
        assert self.error is None, self.error
        return self.of(kind)

    def stop(self) -> list:
        self.cancel.set()
        self._thread.join(30)
        assert not self._thread.is_alive(), "the job did not end after cancel"
        if self.error is not None:
            raise self.error
        return self.events


class FakePacs:
    """A Storage SCP for our SR + SC on 127.0.0.1:``port`` (0: a free one); ``received``: data sets
    it accepted. ``status(ds) -> int`` answers each C-STORE (default success; a failure is not
    kept); ``classes``: the SOP classes it has presentation contexts for."""

    def __init__(self, port: int = 0, ae_title: str = "PACS", status=None, classes=SR_SC_CLASSES) -> None:
        from pynetdicom import AE, evt

        self.received: list = []
        self.answered: list[tuple[str, int]] = []  # (SOP class, status) of every C-STORE
        self.status = status or (lambda ds: 0x0000)
        self._lock = threading.Lock()
        ae = AE(ae_title=ae_title)
        for sop_class in classes:
            ae.add_supported_context(sop_class, SYNTAXES)
        self.server = ae.start_server(("127.0.0.1", port), block=False, evt_handlers=[(evt.EVT_C_STORE, self._store)])
        self.port = self.server.server_address[1]

    def _store(self, event):
        ds = event.dataset
        ds.file_meta = event.file_meta
        status = self.status(ds)
        with self._lock:
            self.answered.append((str(ds.SOPClassUID), status))
            if status in (0x0000, 0xB000, 0xB006, 0xB007):
                self.received.append(ds)
        return status

    def shutdown(self) -> None:
        self.server.shutdown()


def free_port() -> int:
    """A loopback port nothing listens on (a pynetdicom server started and stopped)."""
    pacs = FakePacs()
    port = pacs.port
    pacs.shutdown()
    return port


def copies(name: str, folder, count: int, **changes) -> list[str]:
    """``count`` copies of pydicom's ``name`` with new SOP Instance UIDs (and ``changes``)."""
    ds = pydicom.dcmread(os.path.join(DICOM_DIR, name))
    for keyword, value in changes.items():
        setattr(ds, keyword, value)
    paths = []
    for i in range(count):
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        path = os.path.join(folder, f"{name[:-4]}_{i:04d}.dcm")
        ds.save_as(path)
        paths.append(path)
    return paths


def send(paths, port: int, calling: str = "MODALITY", called: str = "MEDDIAG") -> list[int]:
    """C-STORE ``paths`` (file meta's SOP class + transfer syntax each) in one association."""
    from pynetdicom import AE

    headers = [pydicom.dcmread(p, stop_before_pixels=True) for p in paths]
    ae = AE(ae_title=calling)
    for context in dict.fromkeys((ds.get("SOPClassUID") or ds.file_meta.MediaStorageSOPClassUID,
                                  ds.file_meta.TransferSyntaxUID) for ds in headers):
        ae.add_requested_context(*context)
    assoc = ae.associate("127.0.0.1", port, ae_title=called)
    assert assoc.is_established, "association not established"
    statuses = []
    try:
        for path in paths:
            statuses.append(getattr(assoc.send_c_store(path), "Status", None))
            reactor_resumed(assoc)
        return statuses
    finally:
        assoc.release()
