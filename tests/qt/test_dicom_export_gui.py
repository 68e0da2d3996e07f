"""DICOM results from the window (issue 16): File → Export DICOM results… for the image on screen,
the scan window's export for all rows (progress, cancel, one summary message) and its "write
DICOM results while scanning" option. The objects are made in a worker thread, valid for
dciodvfy, and say what the window shows; a PNG gets its reason, never a crash."""
from __future__ import annotations

import os
import shutil
import threading

import pydicom
import pytest

from meddiag_desktop.core.dicom_results.source import NOT_DICOM
from meddiag_desktop.core.paths import resource_path
from meddiag_desktop.qt.dicom_export import export_dicom
from meddiag_desktop.qt.jobs import scan as scan_jobs
from meddiag_desktop.qt.jobs import viewer as viewer_jobs

from dicomkit import dciodvfy_errors, read_sr
from testkit import DICOM_DIR, png_bytes

WAIT = 120_000
SAMPLES = resource_path("samples")
DICOM_SAMPLE = str(SAMPLES / "chest_xray_pneumonia_val0.dcm")
PNG_SAMPLE = str(SAMPLES / "chest_xray_pneumonia_val0.png")


def record_threads(monkeypatch, module, name) -> list:
    """Wrap ``module.name`` (a job function) to record the thread it runs in."""
    threads, original = [], getattr(module, name)

    def wrapped(*args, **kwargs):
        threads.append(threading.current_thread())
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapped)
    return threads


def assert_complete_dicom_files(folder) -> list:
    """Every file in ``folder`` is a whole DICOM object named by its SOP Instance UID (no temp file)."""
    datasets = []
    for name in sorted(os.listdir(folder)):
        ds = pydicom.dcmread(os.path.join(folder, name))
        assert name == f"{ds.SOPInstanceUID}.dcm"
        if ds.Modality == "OT":  # a capture: all its pixels are there
            assert ds.pixel_array.shape == (ds.Rows, ds.Columns, 3)
        datasets.append(ds)
    return datasets


def open_and_predict(window, qtbot, path):
    window.open_files([path])
    qtbot.waitUntil(lambda: window.predictions_complete(path), timeout=WAIT)
    assert window.menu_actions.dicom_action.isEnabled()


def test_export_of_the_image_on_screen_writes_the_sr_and_the_chosen_capture(window, qtbot, gui_guard, tmp_path,
                                                                           monkeypatch):
    threads = record_threads(monkeypatch, viewer_jobs, "export_dicom")
    assert not window.menu_actions.dicom_action.isEnabled()  # no image yet
    open_and_predict(window, qtbot, DICOM_SAMPLE)
    card_id, method = window.panel.explain_choice()
    out = tmp_path / "dicom"
    out.mkdir()
    with qtbot.waitSignal(window.dicomExported, timeout=WAIT) as signal:
        export_dicom(window, str(out))
    outputs = signal.args[0]
    assert threads and threads[0] is not threading.main_thread()  # made in the models lane
    assert [(o.kind, o.model, o.error) for o in outputs] == [("SR", None, None), ("SC", card_id, None)]
    for output in outputs:
        assert dciodvfy_errors(output.path) == [], output.kind
    said = read_sr(outputs[0].path)
    assert set(said) == {c.id for c in window.info.cards}
    for card in window.info.cards:
        result = window.cache.results[(DICOM_SAMPLE, card.id)]
        assert said[card.id]["sha256"] == card.sha256
        if not result.refused:
            assert said[card.id]["probability"] == pytest.approx(result.probabilities[card.positive_label])
    source = pydicom.dcmread(DICOM_SAMPLE, stop_before_pixels=True, force=True)
    sc = pydicom.dcmread(outputs[1].path)
    assert sc.StudyInstanceUID == source.StudyInstanceUID and sc.BurnedInAnnotation == "YES"
    assert sc.SourceImageSequence[0].ReferencedSOPInstanceUID == source.SOPInstanceUID
    assert card_id in sc.DerivationDescription
    assert len(assert_complete_dicom_files(out)) == 2 and gui_guard() > 0


def test_export_of_a_png_shows_the_reason(window, qtbot, tmp_path, dialog_log):
    open_and_predict(window, qtbot, PNG_SAMPLE)
    out = tmp_path / "dicom"
    out.mkdir()
    with qtbot.waitSignal(window.dicomExported, timeout=WAIT) as signal:
        export_dicom(window, str(out))
    assert [o.error for o in signal.args[0]] == [NOT_DICOM]
    assert dialog_log == [("DICOM results", f"chest_xray_pneumonia_val0.png: DICOM results: none ({NOT_DICOM})", "")]
    assert os.listdir(out) == []


def dicom_folder(root, copies: int = 1):
    """CT and MR test files (``copies`` instances of each, own SOP Instance UIDs) and a PNG."""
    root.mkdir()
    for name in ("CT_small.dcm", "MR_small.dcm"):
        ds = pydicom.dcmread(os.path.join(DICOM_DIR, name))
        for i in range(copies):
            ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid()
            ds.save_as(root / f"{i}_{name}")
    (root / "x.png").write_bytes(png_bytes())
    return root


def scan(sw, qtbot, folder):
    with qtbot.waitSignal(sw.scanFinished, timeout=WAIT):
        sw.start_scan([folder])
    return sw.results.results


def test_scan_window_exports_dicom_results_for_all_rows(window, qtbot, gui_guard, tmp_path, dialog_log, monkeypatch):
    threads = record_threads(monkeypatch, scan_jobs, "export_dicom")
    sw = window.open_scan_window()
    rows = scan(sw, qtbot, dicom_folder(tmp_path / "study"))
    assert sw.results.dicom_button.isEnabled()
    out = tmp_path / "dicom"
    with qtbot.waitSignal(sw.dicomExportFinished, timeout=WAIT) as signal:
        job = sw.export_dicom(out)
        assert job is not None and not sw.results.dicom_button.isEnabled()  # one export at a time
        assert sw.cancel_button.isEnabled()
    assert threads and threads[0] is not threading.main_thread()
    models = len(sw.scanned_cards)
    text = signal.args[0]
    assert text.startswith("DICOM export of 3 file(s): ") and f"{2 * (1 + models)} DICOM object(s)" in text
    assert f"1 x {NOT_DICOM}" in text
    assert dialog_log == [("DICOM results", text, "")]  # one summary message
    datasets = assert_complete_dicom_files(out)
    assert len(datasets) == 2 * (1 + models)
    by_uid = {pydicom.dcmread(r.path, stop_before_pixels=True).SOPInstanceUID: r.path
              for r in rows if r.path.endswith(".dcm")}
    cards = {c.id: c for c in sw.scanned_cards}
    for ds in datasets:
        path = str(out / f"{ds.SOPInstanceUID}.dcm")
        assert dciodvfy_errors(path) == []
        if ds.Modality != "SR":
            continue
        for model, said in read_sr(path).items():  # the SR says what the table's row says
            ((uid, _),) = said["source"]
            row = next(r for r in rows if r.model == model and r.path == by_uid[uid])
            assert said["sha256"] == cards[model].sha256
            if not row.refused:
                assert said["probability"] == pytest.approx(row.probabilities[cards[model].positive_label])
    assert sw.results.dicom_button.isEnabled() and not sw.cancel_button.isEnabled() and gui_guard() > 0


def test_cancelling_the_dicom_export_leaves_complete_files_only(window, qtbot, tmp_path):
    sw = window.open_scan_window()
    scan(sw, qtbot, dicom_folder(tmp_path / "study", copies=4))
    out = tmp_path / "dicom"
    with qtbot.waitSignal(sw.dicomExportFinished, timeout=WAIT) as signal:
        job = sw.export_dicom(out)
        job.yielded.connect(lambda _outputs: sw.cancel_scan())  # Cancel once the first file is written
    assert job.state == "cancelled" and signal.args[0].startswith("DICOM export cancelled after ")
    written = assert_complete_dicom_files(out)
    assert 0 < len(written) < 8 * (1 + len(sw.scanned_cards))


def test_scan_window_writes_dicom_results_while_scanning(window, qtbot, tmp_path):
    sw = window.open_scan_window()
    out = tmp_path / "dicom"
    out.mkdir()
    sw.dicom.set_scan_folder(out)
    assert sw.dicom.option.isChecked()
    rows = scan(sw, qtbot, dicom_folder(tmp_path / "study"))
    models = len(sw.scanned_cards)
    assert f"{2 * (1 + models)} DICOM object(s) written" in sw.summary and f"1 x {NOT_DICOM}" in sw.summary
    datasets = assert_complete_dicom_files(out)
    assert sorted(ds.Modality for ds in datasets) == ["OT"] * 2 * models + ["SR"] * 2
    assert len(rows) == 3 * models  # the table is the same as without the option
    sw.dicom.set_scan_folder(None)
    assert not sw.dicom.option.isChecked() and sw.dicom.scan_folder is None
    shutil.rmtree(out)
