"""File → Export report…: a one-page A4 PDF whose text layer holds the models, decisions, hashes and notice."""
from __future__ import annotations

import hashlib
import io
import os
import unicodedata

import pydicom
import pypdf

from meddiag_desktop.core.inference import Result
from meddiag_desktop.core.paths import resource_path
from meddiag_desktop.core.report import NOTICE, OOD_TEXT, build_report, decision_text
from meddiag_desktop.qt.report import can_export, export_report, render_pdf

WAIT = 60_000
SAMPLE = str(resource_path("samples") / "chest_xray_pneumonia_val0.png")


def _flat(text: str) -> str:
    """Text without whitespace or ligatures: line breaks fall anywhere in a table cell."""
    return "".join(unicodedata.normalize("NFKC", text).split())


def _pdf_text(data: bytes) -> tuple[str, pypdf.PdfReader]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return _flat("".join(page.extract_text() for page in reader.pages)), reader


def test_window_exports_the_current_image_report(window, qtbot, tmp_path):
    assert not window.menu_actions.report_action.isEnabled()  # no image yet
    window.set_overlay_enabled(True)
    window.open_files([SAMPLE])
    qtbot.waitUntil(lambda: window.predictions_complete(SAMPLE) and window.viewer.heatmap_key is not None,
                    timeout=WAIT)
    assert window.menu_actions.report_action.isEnabled() and can_export(window)

    out = tmp_path / "report.pdf"
    with qtbot.waitSignal(window.reportExported, timeout=WAIT) as signal:
        export_report(window, str(out))
    assert signal.args == [str(out)]
    text, reader = _pdf_text(out.read_bytes())
    assert len(reader.pages) == 1
    assert hashlib.sha256(open(SAMPLE, "rb").read()).hexdigest() in text
    for card in window.info.cards:
        result = window.cache.results[(SAMPLE, card.id)]
        assert _flat(card.id) in text and card.sha256 in text
        for p in result.probabilities.values():
            assert f"{p:.3f}" in text
        assert _flat(decision_text(card, result)) in text
    assert any(_flat(o) in text for o in OOD_TEXT.values())
    assert _flat(NOTICE) in text and "DEMOmodel" in text
    model, method = window.viewer.heatmap_key[1:]
    assert _flat(f"of {model} for") in text and len(reader.pages[0].images) == 2  # image + heat-map overlay
    assert "chest_xray" not in text and "/tmp" not in text  # neither the file's name nor its path


def test_report_of_a_dicom_never_carries_the_patient(demo_store, qapp, tmp_path):
    ds = pydicom.dcmread(resource_path("samples") / "chest_xray_pneumonia_val0.dcm")
    ds.PatientName, ds.PatientID, ds.InstitutionName = "ZQXPATIENT^ZED", "ZQXID4242", "ZQXHOSPITAL"
    path = str(tmp_path / "ZQXPATIENT_ZED.dcm")
    ds.save_as(path)
    from meddiag_desktop.core.io import load_image

    loaded = load_image(path)
    cards = demo_store.cards()
    results = {cards[0].id: Result(path, cards[0].id, "ok", None, "abnormal", 0.8125,
                                   {"normal": 0.1875, "abnormal": 0.8125}),
               cards[1].id: "Failed: out of memory"}  # the third: not predicted
    report = build_report(path, loaded.meta, cards, results, "demo")
    text, reader = _pdf_text(render_pdf(report, loaded.array))
    assert "ZQX" not in text.upper() and "ZQX" not in str(reader.metadata).upper()
    assert hashlib.sha256(open(path, "rb").read()).hexdigest() in text
    assert _flat("abnormal (P(abnormal) = 0.812 ≥ operating point 0.500)") in text
    assert "Failed:outofmemory" in text and "notpredicted" in text
    assert _flat(OOD_TEXT[None]) in text and len(reader.pages[0].images) == 1
    assert os.path.basename(path) not in text
