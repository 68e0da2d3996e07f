"""Test helpers for the DICOM results (issue 16): dciodvfy, reading our SR back with highdicom,
source files made from pydicom's bundled test files, a loopback Storage SCP.

pydicom's files are read from its package folder (never get_testdata_file: unknown names go to
the network)."""
from __future__ import annotations

import os
import shutil
import subprocess
import threading

import highdicom as hd
import pydicom
import pytest
from pydicom.sr.codedict import codes

from meddiag_desktop.core.dicom_results import coding

from testkit import DICOM_DIR

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(REPO, "resources", "samples")
IDENTITY = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyInstanceUID", "AccessionNumber",
            "StudyID", "StudyDate", "StudyTime", "ReferringPhysicianName")


def dciodvfy_errors(path) -> list[str]:
    """dciodvfy's Error lines for ``path``; skips without dciodvfy, fails instead when CI=true."""
    if shutil.which("dciodvfy") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("dciodvfy (Debian package dicom3tools) is missing in CI")
        pytest.skip("dciodvfy not installed (apt-get install dicom3tools)")
    run = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=120)
    return [line for line in (run.stdout + run.stderr).splitlines() if line.startswith("Error")]


def _copy(name: str, folder, **changes) -> str:
    ds = pydicom.dcmread(os.path.join(DICOM_DIR, name))
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid(entropy_srcs=["made", name])
    for keyword, value in changes.items():
        setattr(ds, keyword, value)
    path = os.path.join(folder, f"{changes and 'made_' or ''}{name}")
    ds.save_as(path)
    return path


def make_sources(folder) -> dict[str, str]:
    """Kind -> source file: CT, MR, US (RGB), palette US, JPEG-compressed, multi-frame, RGB,
    a MONOCHROME1 DX-like file made from a copy, and the bundled sample DICOMs."""
    plain = {"ct": "CT_small.dcm", "mr": "MR_small.dcm", "us_rgb": "examples_rgb_color.dcm",
             "palette": "examples_palette.dcm", "jpeg": "SC_rgb_jpeg_dcmtk.dcm",
             "multiframe": "examples_ybr_color.dcm", "rgb_tiny": "SC_rgb_small_odd.dcm"}
    sources = {kind: shutil.copy(os.path.join(DICOM_DIR, name), os.path.join(folder, name))
               for kind, name in plain.items()}
    dx = "1.2.840.10008.5.1.4.1.1.1.1"  # Digital X-Ray Image Storage - For Presentation
    sources["dx_monochrome1"] = _copy("MR_small.dcm", folder, Modality="DX", PhotometricInterpretation="MONOCHROME1",
                                      SOPClassUID=dx)
    for name in sorted(os.listdir(SAMPLES)):
        if name.endswith(".dcm"):
            sources[f"sample_{name[:-4]}"] = shutil.copy(os.path.join(SAMPLES, name), os.path.join(folder, name))
    return sources


def _text(group, name):
    items = hd.sr.utils.find_content_items(group[0], name=name, value_type=hd.sr.ValueTypeValues.TEXT, recursive=True)
    return [item.value for item in items]


def read_sr(path) -> dict[str, dict]:
    """Model id -> what our SR says of it, read with highdicom's SR API."""
    sr = hd.sr.srread(path)
    out = {}
    for group in sr.content.get_image_measurement_groups():
        model = _text(group, codes.DCM.AlgorithmName)[0]
        params = dict(p.split("=", 1) for p in _text(group, codes.DCM.AlgorithmParameters))
        values = {m.name.value: m.value for m in group.get_measurements()}
        evaluations = {e.name.value: e.value for e in group.get_qualitative_evaluations()}
        finding = group.finding_type
        out[model] = {
            "finding": finding, "evaluation": evaluations[finding.value],
            "in_distribution": evaluations.get(coding.IN_DISTRIBUTION.value),
            "probability": values.get(coding.PROBABILITY.value), "threshold": values.get(coding.THRESHOLD.value),
            "ood_score": values.get(coding.OOD_SCORE.value), "sha256": params["weights_sha256"],
            "version": _text(group, codes.DCM.AlgorithmVersion)[0],
            "source": [(s.referenced_sop_instance_uid, s.referenced_frame_numbers) for s in group.source_images],
        }
    return out


class StorageSCP:
    """A pynetdicom Storage SCP on 127.0.0.1 (ephemeral port) accepting the given (SOP class,
    transfer syntax) pairs; ``received`` holds (SOP Instance UID, SOP class) of what arrived."""

    def __init__(self, contexts) -> None:
        from pynetdicom import AE, evt

        self.received: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        ae = AE(ae_title="MEDDIAG-TEST")
        for sop_class, syntax in contexts:
            ae.add_supported_context(sop_class, syntax)
        self.server = ae.start_server(("127.0.0.1", 0), block=False,
                                      evt_handlers=[(evt.EVT_C_STORE, self._on_store)])
        self.port = self.server.server_address[1]

    def _on_store(self, event):
        ds = event.dataset
        with self._lock:
            self.received.append((str(ds.SOPInstanceUID), str(event.context.abstract_syntax)))
        return 0x0000

    def shutdown(self) -> None:
        self.server.shutdown()


def c_store(paths, port: int) -> list[int]:
    """Send ``paths`` by C-STORE, each on its exact SOP class + transfer syntax; their statuses."""
    from pynetdicom import AE

    datasets = [pydicom.dcmread(p) for p in paths]
    ae = AE(ae_title="MEDDIAG-SCU")
    for sop_class, syntax in dict.fromkeys((ds.SOPClassUID, ds.file_meta.TransferSyntaxUID) for ds in datasets):
        ae.add_requested_context(sop_class, syntax)
    assoc = ae.associate("127.0.0.1", port, ae_title="MEDDIAG-TEST")
    assert assoc.is_established
    try:
        return [assoc.send_c_store(ds).Status for ds in datasets]
    finally:
        assoc.release()
