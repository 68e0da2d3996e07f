"""`meddiag anonymize PATHS... --out DIR`: folders walked, one line per file, exit statuses."""
from __future__ import annotations

import os
from pathlib import Path

import pydicom

from meddiag_desktop.cli import main
from testkit import make_scan_folder


def test_anonymize_a_folder_writes_copies_and_reports_each_file(tmp_path, capsys):
    folder = Path(make_scan_folder(tmp_path / "scan"))  # 2 DICOMs (one without suffix), PNGs, bad files
    out = tmp_path / "anon"
    assert main(["anonymize", str(folder), "--out", str(out)]) == 0
    stdout, stderr = capsys.readouterr()
    lines = stdout.splitlines()
    copies = sorted(out.iterdir())
    assert len(copies) == 1  # ct.dcm and ct_no_suffix are one instance: written once
    ok = [line for line in lines if line.endswith(copies[0].name)]
    assert len(ok) == 1 and ok[0].startswith(str(folder))
    assert any("ct_no_suffix -> SKIPPED: same instance" in line for line in lines)
    assert any(line.endswith("good.png -> SKIPPED: not a DICOM file") for line in lines)
    assert "1 de-identified cop(ies)" in stderr and "burned into the pixels" in stderr
    ds = pydicom.dcmread(copies[0])
    assert ds.PatientIdentityRemoved == "YES"
    assert b"CompressedSamples" not in copies[0].read_bytes()  # CT_small's patient name


def test_anonymize_exit_statuses(tmp_path, capsys):
    png = tmp_path / "only.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    assert main(["anonymize", str(png), "--out", str(tmp_path / "a")]) == 1  # nothing written
    assert main(["anonymize", str(tmp_path / "missing"), "--out", str(tmp_path / "b")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["anonymize", str(png), "--out", str(blocker)]) == 2
    assert not os.path.exists(tmp_path / "b")
