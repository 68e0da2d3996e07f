"""Anonymised DICOM export (core.anonymize): no identifier survives, pixels and UID links do."""
from __future__ import annotations

import os
import threading

import numpy as np
import pydicom
import pytest

from meddiag_desktop.core.anonymize import AnonymizeResult, anonymize_files
from meddiag_desktop.core.jobs import Progress
from meddiag_desktop.core.io import load_image
from testkit import DICOM_DIR, png_bytes

MARKERS = {  # keyword -> marker value (each unique, easy to grep in the bytes)
    "PatientName": "ZEBRAFAMILY^QUIXOTEGIVEN", "PatientID": "PIDMARK4711", "PatientBirthDate": "19230417",
    "InstitutionName": "MARKER INSTITUTE OF RADIOLOGY", "ReferringPhysicianName": "DRMARKREFER^X",
    "AccessionNumber": "ACCMARK991", "ImageComments": "COMMENTMARK free text", "StudyDescription": "STUDYDESCMARK",
    "OperatorsName": "OPERMARK^Y", "OtherPatientIDs": "OTHERIDMARK5",
}
PRIVATE_MARKER = "PRIVATEMARK"
ORIGINAL_NAME = "ZEBRAFAMILY_QUIXOTEGIVEN.dcm"  # PHI in the file name too


def _marked(folder, name=ORIGINAL_NAME, sop_suffix="1", **extra) -> str:
    ds = pydicom.dcmread(os.path.join(DICOM_DIR, "CT_small.dcm"))
    for keyword, value in {**MARKERS, **extra}.items():
        setattr(ds, keyword, value)
    ds.private_block(0x0009, "MEDDIAG TEST", create=True).add_new(0x01, "LO", PRIVATE_MARKER)
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = f"1.2.826.0.1.3680043.8.498.77.{sop_suffix}"
    path = os.path.join(folder, name)
    ds.save_as(path)
    return path


@pytest.fixture
def inputs(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    first = _marked(src)
    second = _marked(src, "second.dcm", sop_suffix="2")  # same patient, study and series
    text = src / "notes.txt"
    text.write_text("not an image")
    png = src / "picture.png"
    png.write_bytes(png_bytes())
    broken = src / "broken.dcm"
    broken.write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00\x10\x00UI\xff\xff" + b"1.2.3" * 20)  # cut short
    again = src / "again.dcm"
    again.write_bytes(open(first, "rb").read())  # the first file once more
    return [first, str(text), str(png), str(broken), second, str(again)]


def test_copies_hold_no_identifier_but_the_same_pixels_and_linked_uids(inputs, tmp_path):
    out = tmp_path / "out"
    events = list(anonymize_files(inputs, out))
    results = [e for e in events if isinstance(e, AnonymizeResult)]
    calls = [(e.done, e.total, e.text) for e in events if isinstance(e, Progress)]

    assert [r.source for r in results] == inputs  # one result per input, in order: the export went on
    assert [r.status for r in results] == ["ok", "skipped", "skipped", "error", "ok", "skipped"]
    assert results[1].error == "not a DICOM file" and results[3].error.startswith("unreadable image")
    assert results[5].error == "same instance as an earlier file"
    assert calls[0][:2] == (0, 6) and calls[-1][:2] == (6, 6)
    written = sorted(os.listdir(out))
    assert len(written) == 2 and all(n.endswith(".dcm") and "ZEBRA" not in n for n in written)

    originals = [pydicom.dcmread(inputs[0]), pydicom.dcmread(inputs[4])]
    copies = [pydicom.dcmread(results[0].output), pydicom.dcmread(results[4].output)]
    for path in (results[0].output, results[4].output):
        data = open(path, "rb").read().upper()
        for marker in [*MARKERS.values(), PRIVATE_MARKER, "ZEBRA", "QUIXOTE"]:
            assert marker.upper().encode() not in data, marker
        assert data[:128] == b"\0" * 128
    for original, copy, result in zip(originals, copies, (results[0], results[4])):
        assert copy.PixelData == original.PixelData  # pixels untouched
        assert copy.PatientIdentityRemoved == "YES" and copy.DeidentificationMethod
        assert copy.DeidentificationMethodCodeSequence[0].CodeValue == "113100"
        assert copy.PatientBirthDate == "" and "ImageComments" not in copy and "StudyDescription" not in copy
        assert not any(elem.tag.is_private for elem in copy.iterall())
        assert copy.SOPInstanceUID != original.SOPInstanceUID
        assert copy.file_meta.MediaStorageSOPInstanceUID == copy.SOPInstanceUID
        assert os.path.basename(result.output) == f"{copy.SOPInstanceUID}.dcm"
        assert copy.SOPClassUID == original.SOPClassUID  # class UIDs are not identifying
    # the same source UID -> the same new UID in every file of the export; instances stay distinct
    assert copies[0].StudyInstanceUID == copies[1].StudyInstanceUID != originals[0].StudyInstanceUID
    assert copies[0].SeriesInstanceUID == copies[1].SeriesInstanceUID != originals[0].SeriesInstanceUID
    assert copies[0].SOPInstanceUID != copies[1].SOPInstanceUID
    # and the app still reads the copy as the same image
    np.testing.assert_array_equal(load_image(results[0].output).array, load_image(inputs[0]).array)


def test_a_copy_where_the_name_survives_elsewhere_is_refused(tmp_path):
    # Manufacturer is kept by the profile; the last check catches the patient's name in it
    path = _marked(tmp_path, "x.dcm", Manufacturer="QUIXOTEGIVEN SCANNERS")
    (result,) = [e for e in anonymize_files([path], tmp_path / "out") if isinstance(e, AnonymizeResult)]
    assert result.status == "error" and "Manufacturer" in result.error
    assert not os.listdir(tmp_path / "out")


def test_cancel_stops_before_the_next_file(inputs, tmp_path):
    cancel = threading.Event()
    seen = []
    for event in anonymize_files(inputs, tmp_path / "out", cancel=cancel):
        if isinstance(event, AnonymizeResult):
            seen.append(event)
            cancel.set()
    assert len(seen) == 1 and len(os.listdir(tmp_path / "out")) == 1
