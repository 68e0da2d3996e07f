"""Scan window → Export anonymised DICOM copies…: the core export run in the scan lane."""
from __future__ import annotations

import os
import shutil

from testkit import DICOM_DIR, png_bytes

WAIT = 60_000


def test_scan_window_exports_de_identified_copies_of_the_scanned_dicoms(window, qtbot, gui_guard, tmp_path):
    folder = tmp_path / "study"
    folder.mkdir()
    shutil.copy(os.path.join(DICOM_DIR, "CT_small.dcm"), folder / "ct.dcm")
    shutil.copy(os.path.join(DICOM_DIR, "MR_small.dcm"), folder / "mr.dcm")
    (folder / "x.png").write_bytes(png_bytes())
    sw = window.open_scan_window()
    assert not sw.results.anon_button.isEnabled()  # nothing scanned yet
    with qtbot.waitSignal(sw.scanFinished, timeout=WAIT):
        sw.start_scan([folder])
    assert sw.results.anon_button.isEnabled()

    out = tmp_path / "anon"
    with qtbot.waitSignal(sw.anonymizeFinished, timeout=WAIT) as signal:
        job = sw.export_anonymized(out)
        assert job is not None and not sw.results.anon_button.isEnabled()  # one export at a time
    assert signal.args[0].startswith("Anonymised export: 2 de-identified copies")
    assert "1 non-DICOM skipped, 0 errors" in signal.args[0]
    copies = sorted(p.name for p in out.iterdir())
    assert len(copies) == 2 and not {"ct.dcm", "mr.dcm"} & set(copies)
    for copy in out.iterdir():
        data = copy.read_bytes()
        assert b"CompressedSamples" not in data  # both samples' patient names
    assert sw.results.anon_button.isEnabled() and gui_guard() > 0
