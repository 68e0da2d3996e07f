"""`meddiag predict/scan --dicom-out DIR` (issue 16): the scan CSV is byte-identical with and
without it, the SR read back equals the CSV rows (and the audit log's model sha256), files are
named by SOP Instance UID, non-DICOM inputs get a reason, patient data stays out of CSV, console
and audit log while the objects carry it."""
from __future__ import annotations

import csv
import os
import re
import shutil

import pydicom
import pytest

from meddiag_desktop.cli import main
from meddiag_desktop.core.audit import read_audit
from meddiag_desktop.core.dicom_results import coding

from dicomkit import dciodvfy_errors, make_sources, read_sr
from testkit import png_bytes

MODELS = "pneumonia-cnn,breast-cnn"
UID_NAME = re.compile(r"2\.25\.\d+\.dcm")
MARKERS = ("MARKER^SECRET", "ID-SECRET-123", "19010101")


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "inputs"
    root.mkdir()
    sources = make_sources(root)
    for kind in ("palette", "rgb_tiny", "dx_monochrome1"):  # enough kinds for the CLI; the core test has all
        os.remove(sources[kind])
    (root / "photo.png").write_bytes(png_bytes())
    return root


def _scan(folder, out, *extra) -> str:
    assert main(["scan", str(folder), "--out", str(out), "--model", MODELS, "--device", "cpu", "--workers", "0",
                 *extra]) == 0
    return out.read_bytes()


def test_scan_csv_is_identical_and_sr_equals_its_rows(folder, tmp_path, capsys):
    dicom_dir = tmp_path / "dicom"
    with_flag = _scan(folder, tmp_path / "a.csv", "--dicom-out", str(dicom_dir))
    err = capsys.readouterr().err
    assert "DICOM object(s) written" in err and "DICOM results need a DICOM input" in err
    assert _scan(folder, tmp_path / "b.csv") == with_flag

    rows = list(csv.DictReader(with_flag.decode("utf-8").splitlines()))
    audit = [r for r in read_audit() if r["scan_id"] == read_audit()[0]["scan_id"]]
    assert [a["row"] for a in audit] == list(range(1, len(rows) + 1))
    names = sorted(os.listdir(dicom_dir))
    assert names and all(UID_NAME.fullmatch(n) for n in names)
    reports = {}
    for name in names:
        ds = pydicom.dcmread(dicom_dir / name, stop_before_pixels=True)
        assert dciodvfy_errors(dicom_dir / name) == []
        if ds.Modality == "SR":
            source_uid = ds.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0] \
                .ReferencedSOPSequence[0].ReferencedSOPInstanceUID
            reports[source_uid] = read_sr(dicom_dir / name)
    checked = 0
    for row, record in zip(rows, audit):
        if not row["path"].endswith(".dcm"):
            continue
        source_uid = pydicom.dcmread(row["path"], stop_before_pixels=True).SOPInstanceUID
        got = reports[source_uid][row["model"]]
        positive = {"pneumonia-cnn": "pneumonia", "breast-cnn": "malignant"}[row["model"]]
        assert got["sha256"] == record["model_sha256"]
        assert got["ood_score"] == pytest.approx(float(row["ood_score"]), abs=5e-4)
        if row["in_distribution"] == "no":
            assert row["label"] == "" and got["probability"] is None
            assert got["evaluation"] == coding.NOT_EVALUATED
        else:
            assert got["probability"] == pytest.approx(float(row[f"p_{positive}"]), abs=1e-6)
            present = row["label"] == positive
            assert got["evaluation"] == (coding.PRESENT if present else coding.ABSENT)
            if present:
                assert got["probability"] == pytest.approx(float(row["probability"]), abs=1e-6)
        checked += 1
    assert checked == 2 * len([p for p in os.listdir(folder) if p.endswith(".dcm")])


def test_predict_writes_objects_and_gives_png_a_reason(folder, tmp_path, capsys):
    png = folder / "photo.png"
    dcm = next(folder.glob("CT_small.dcm"))
    assert main(["predict", str(png), str(dcm), "--model", "pneumonia-cnn", "--device", "cpu", "--json",
                 "--dicom-out", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert f"{png}: DICOM results: none (DICOM results need a DICOM input)" in err
    assert f"{dcm}: DICOM results: 1 SR, 1 SC" in err
    assert len(os.listdir(tmp_path / "out")) == 2


def test_unwritable_dicom_folder_fails_before_any_work(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(SystemExit) as exit_info:
        main(["scan", str(tmp_path), "--out", str(tmp_path / "o.csv"), "--dicom-out", str(blocker / "sub")])
    assert exit_info.value.code == 2 and "cannot write DICOM results" in capsys.readouterr().err
    assert not list(tmp_path.glob(".*partial"))


def test_patient_data_only_in_the_dicom_objects(tmp_path, capsys):
    from meddiag_desktop.core.audit import default_audit_path

    from test_privacy import assert_clean

    folder = tmp_path / "study_a"
    folder.mkdir()
    ds = pydicom.dcmread(make_sources(tmp_path)["mr"])
    ds.PatientName, ds.PatientID, ds.PatientBirthDate = MARKERS
    ds.save_as(folder / "image_0001.dcm")
    out, dicom_dir = tmp_path / "scan.csv", tmp_path / "dicom"
    assert main(["scan", str(folder), "--out", str(out), "--model", "pneumonia-cnn", "--device", "cpu",
                 "--dicom-out", str(dicom_dir)]) == 0
    assert main(["predict", str(folder / "image_0001.dcm"), "--model", "pneumonia-cnn", "--device", "cpu",
                 "--dicom-out", str(dicom_dir)]) == 0
    assert_clean("".join(capsys.readouterr()), "console output")
    assert_clean(out.read_text(encoding="utf-8"), "scan CSV")
    assert_clean(default_audit_path().read_text(encoding="utf-8"), "audit log")
    names = os.listdir(dicom_dir)
    assert len(names) == 2
    for name in names:
        assert_clean(name, "DICOM result file name")
        got = pydicom.dcmread(dicom_dir / name)
        assert (str(got.PatientName), got.PatientID, got.PatientBirthDate) == MARKERS
    shutil.rmtree(folder)
