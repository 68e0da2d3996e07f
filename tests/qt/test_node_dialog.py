"""Settings → DICOM node has the options `meddiag listen` has (issue 17): max. associations, minimum
free disk, a routing file and whether DICOM results are written. Each is saved in the settings file,
checked before anything starts, and changes what the running node does (loopback, ephemeral port)."""
from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt

from meddiag_desktop.qt.intake_settings import IntakeSettings
from meddiag_desktop.qt.settings import Settings

from intakekit import copies, send


def _start(qtbot, intake, dialog, tmp_path):
    dialog.port.setValue(0)
    dialog.out_dir.setText(str(tmp_path / "intake"))
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: intake.status is not None and intake.status.listening is not None, timeout=60_000)
    return intake.status.port


def _stop(qtbot, intake, dialog):
    qtbot.mouseClick(dialog.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not intake.lane.busy, timeout=30_000)


def test_the_new_fields_are_saved_and_bad_saved_values_fall_back(window, intake, qtbot, tmp_path):
    dialog = intake.show_dialog()
    assert (dialog.max_associations.value(), dialog.min_free_mb.value()) == (4, 1024)  # listen's defaults
    assert dialog.routing_file.text() == "" and not dialog.dicom_results.isChecked()
    rules = tmp_path / "routing.json"
    rules.write_text(json.dumps({"rules": [{"modality": "CT", "task": "demo"}]}))
    dialog.max_associations.setValue(2)
    dialog.min_free_mb.setValue(0)
    dialog.routing_file.setText(str(rules))
    dialog.dicom_results.setChecked(True)
    _start(qtbot, intake, dialog, tmp_path)
    assert not dialog.max_associations.isEnabled()  # fixed while the node runs
    _stop(qtbot, intake, dialog)

    saved = IntakeSettings.load(Settings(window.settings.path))
    assert (saved.max_associations, saved.min_free_mb, saved.routing_file, saved.dicom_results) == \
        (2, 0, str(rules), True)
    raw = Settings(tmp_path / "bad.ini")
    raw.put("intake/max_associations", 0)
    raw.put("intake/min_free_mb", -5)
    raw.put("intake/dicom_results", "maybe")
    loaded = IntakeSettings.load(raw)
    assert (loaded.max_associations, loaded.min_free_mb, loaded.dicom_results) == (4, 1024, False)


def test_invalid_routing_or_limits_are_refused_before_anything_starts(window, intake, tmp_path, dialog_log):
    broken = tmp_path / "routing.json"
    broken.write_text('{"rules": [{"modality": "CT"}]}')  # no task
    assert not intake.start_node(intake.settings.with_(port=0, routing_file=str(broken)))
    assert not intake.start_node(intake.settings.with_(port=0, routing_file=str(tmp_path / "missing.json")))
    assert not intake.start_node(intake.settings.with_(port=0, max_associations=0))
    assert [title for title, *_ in dialog_log] == ["Cannot start the DICOM node"] * 3
    assert "cannot use routing file" in dialog_log[0][1] and "task" in dialog_log[0][1]
    assert intake.job is None and intake.node_wanted is None
    assert not intake.start_watch(str(tmp_path), intake.settings.with_(routing_file=str(broken)))


def test_min_free_disk_refuses_new_data_with_a700(window, intake, qtbot, tmp_path):
    dialog = intake.show_dialog()
    dialog.min_free_mb.setValue(dialog.min_free_mb.maximum())  # 1 TiB: more than this disk has free
    port = _start(qtbot, intake, dialog, tmp_path)
    (tmp_path / "modality").mkdir()
    assert send(copies("CT_small.dcm", tmp_path / "modality", 1), port) == [0xA700]
    _stop(qtbot, intake, dialog)


def test_max_associations_rejects_one_too_many(window, intake, qtbot, tmp_path):
    from pynetdicom import AE

    dialog = intake.show_dialog()
    dialog.max_associations.setValue(1)
    port = _start(qtbot, intake, dialog, tmp_path)
    ae = AE(ae_title="MODALITY")
    ae.add_requested_context("1.2.840.10008.1.1")
    first = ae.associate("127.0.0.1", port, ae_title="MEDDIAG")
    try:
        assert first.is_established
        second = ae.associate("127.0.0.1", port, ae_title="MEDDIAG")
        assert not second.is_established
    finally:
        first.release()
    _stop(qtbot, intake, dialog)


@pytest.mark.parametrize("write", [False, True])
def test_dicom_results_only_when_asked(window, intake, qtbot, tmp_path, write):
    dialog = intake.show_dialog()
    dialog.dicom_results.setChecked(write)
    port = _start(qtbot, intake, dialog, tmp_path)
    (tmp_path / "modality").mkdir()
    assert send(copies("CT_small.dcm", tmp_path / "modality", 1), port) == [0x0000]
    qtbot.waitUntil(lambda: len(intake.panel.model.items) == 1, timeout=60_000)
    _stop(qtbot, intake, dialog)
    written = sorted(p.suffix for p in (tmp_path / "intake" / "dicom").rglob("*.dcm"))
    assert bool(written) == write
