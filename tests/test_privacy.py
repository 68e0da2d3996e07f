"""Privacy: patient identifiers inside a DICOM never reach any output - predict JSON, scan CSV,
the audit log, the GUI (log file, widget texts, settings file) or ``load_image(...).meta``.

The DICOM is a copy of pydicom's bundled CT_small.dcm (read from its package folder, never
downloaded) with marker values; the folder and file names carry no marker."""
from __future__ import annotations

import csv
import json
import logging
import os
import shutil

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pydicom  # noqa: E402
import pydicom.data  # noqa: E402
import pytest  # noqa: E402

from meddiag_desktop.cli import main  # noqa: E402
from meddiag_desktop.core.io import load_image  # noqa: E402

DICOM_DIR = os.path.join(os.path.dirname(pydicom.data.__file__), "test_files")
MARKERS = ("MARKER^SECRET", "ID-SECRET-123", "19010101")
# pydicom writes PN components separated by "^"; also look for the pieces on their own
NEEDLES = MARKERS + ("MARKER", "SECRET")


def close_file_handlers(logger, log_path) -> None:
    """Flush, close and remove ``logger``'s handlers that write ``log_path``."""
    for handler in [h for h in logger.handlers if getattr(h, "baseFilename", None) == str(log_path)]:
        handler.flush()
        handler.close()
        logger.removeHandler(handler)


def assert_clean(text: str, where: str) -> None:
    found = [m for m in NEEDLES if m.lower() in text.lower()]
    assert not found, f"patient data {found} in {where}"


@pytest.fixture
def patient_dicom(tmp_path):
    folder = tmp_path / "study_a"
    folder.mkdir()
    ds = pydicom.dcmread(os.path.join(DICOM_DIR, "CT_small.dcm"))
    ds.PatientName, ds.PatientID, ds.PatientBirthDate = MARKERS
    path = folder / "image_0001.dcm"
    ds.save_as(path)
    raw = path.read_bytes()
    assert all(m.encode() in raw for m in MARKERS)  # the markers really are in the file
    assert_clean(str(path), "the fixture path")
    return path


def test_load_image_meta_has_no_patient_data(patient_dicom):
    img = load_image(patient_dicom)
    assert_clean(repr(img.meta), "ImageMeta")
    assert_clean(json.dumps(img.meta.to_dict(), default=str), "ImageMeta.to_dict()")


def test_predict_json_has_no_patient_data(patient_dicom, capsys):
    assert main(["predict", str(patient_dicom), "--model", "pneumonia-cnn", "--json", "--device", "cpu"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)[0]["status"] == "ok"
    assert_clean(out, "predict stdout")
    assert_clean(err, "predict stderr")
    assert main(["predict", str(patient_dicom), "--model", "pneumonia-cnn", "--device", "cpu"]) == 0
    assert_clean("".join(capsys.readouterr()), "predict text output")


def test_scan_csv_and_audit_log_have_no_patient_data(patient_dicom, tmp_path, capsys):
    from meddiag_desktop.core.audit import default_audit_path

    out = tmp_path / "scan.csv"
    # a second, broken copy: error rows must be clean as well
    broken = patient_dicom.with_name("image_0002.dcm")
    broken.write_bytes(patient_dicom.read_bytes()[:-2000])
    assert main(["scan", str(patient_dicom.parent), "--out", str(out), "--model", "pneumonia-cnn",
                 "--device", "cpu"]) == 0
    assert_clean("".join(capsys.readouterr()), "scan console output")
    text = out.read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    assert [r["status"] for r in rows] == ["ok", "error"]
    assert_clean(text, "scan CSV")
    audit = default_audit_path()
    assert audit.is_file() and len(audit.read_text().splitlines()) == 2
    assert_clean(audit.read_text(encoding="utf-8"), "audit log")


def _widget_texts(root) -> list[str]:
    from PySide6.QtWidgets import QWidget

    texts = [root.windowTitle()]
    for widget in [root, *root.findChildren(QWidget)]:
        for getter in ("text", "toPlainText", "toolTip", "statusTip", "placeholderText", "windowTitle"):
            method = getattr(widget, getter, None)
            if callable(method):
                try:
                    value = method()
                except TypeError:  # an overload that needs arguments
                    continue
                if isinstance(value, str):
                    texts.append(value)
    return texts


def test_gui_log_widgets_and_settings_have_no_patient_data(patient_dicom, qtbot, tmp_path):
    import torch

    from meddiag_desktop.core.models import ModelConfig, create_model_from_config
    from meddiag_desktop.core.paths import user_log_dir, user_models_dir
    from meddiag_desktop.core.storage import ModelCard, save_model
    from meddiag_desktop.core.model_store import ModelStore
    from meddiag_desktop.qt.app import setup_logging
    from meddiag_desktop.qt.main_window import MainWindow
    from meddiag_desktop.qt.settings import Settings

    for arch in ("cnn", "rnn", "transformer"):  # demo models, as tests/qt/conftest.py's demo_store
        torch.manual_seed(0)
        config = ModelConfig(arch=arch, task="demo", labels=("normal", "abnormal"))
        card = ModelCard(id=f"demo-{arch}", config=config, demo=True, threshold=0.5, positive_label="abnormal")
        save_model(create_model_from_config(config), card, user_models_dir())

    log_path = setup_logging(logging.DEBUG)  # the most talkative the app gets
    logger = logging.getLogger("meddiag_desktop")
    settings_path = tmp_path / "settings.ini"
    window = MainWindow(store=ModelStore([user_models_dir()]), settings=Settings(settings_path), device="cpu")
    qtbot.addWidget(window)
    try:
        window.show()
        window.start()
        qtbot.waitUntil(lambda: window.info is not None, timeout=60_000)
        path = str(patient_dicom)
        window.open_files([path])
        qtbot.waitUntil(lambda: window.predictions_complete(path), timeout=60_000)
        qtbot.wait(50)
        texts = _widget_texts(window)
        assert any("CT" in t or "dicom" in t.lower() for t in texts), "the image-info panel shows something"
        assert_clean("\n".join(texts), "window widget texts")
    finally:
        window.close()
        window.shutdown()
        close_file_handlers(logger, log_path)
    logs = sorted(user_log_dir().glob("*"))
    assert log_path in logs and log_path.stat().st_size > 0
    for log in logs:
        assert_clean(log.read_text(encoding="utf-8", errors="replace"), f"log file {log.name}")
    assert settings_path.is_file()
    assert_clean(settings_path.read_text(encoding="utf-8", errors="replace"), "settings file")
    # and nothing else the app wrote into its user folders
    home = os.environ["MEDDIAG_HOME"]
    for folder, _dirs, files in os.walk(home):
        for name in files:
            if name.endswith(".safetensors"):
                continue
            with open(os.path.join(folder, name), "rb") as f:
                assert_clean(f.read().decode("utf-8", "replace"), f"user file {name}")


def test_copied_file_name_is_not_the_source_of_a_false_pass(patient_dicom):
    # guard for the test itself: a file the markers *are* in, if read as text, is caught
    with pytest.raises(AssertionError):
        assert_clean(patient_dicom.read_bytes().decode("latin-1"), "raw DICOM")
    shutil.rmtree(patient_dicom.parent)


# ----------------------------------------------------------------- the DICOM node and the watch folder
def test_dicom_node_logs_csv_and_audit_have_no_patient_data_while_sr_sc_carry_it(patient_dicom, tmp_path, caplog):
    """A marker DICOM sent to the node (one in-process node, loopback): every log line (all loggers
    at DEBUG, pynetdicom's included), every console line, the CSV and the audit log are clean;
    the SR and SC carry the source's identity unchanged."""
    from meddiag_desktop.cli.intake_run import describe
    from meddiag_desktop.core.audit import AuditLog
    from meddiag_desktop.core.intake.engine import IntakeEngine
    from meddiag_desktop.core.intake.node import DicomNode, NodeConfig
    from meddiag_desktop.core.intake.store import IntakeStore
    from meddiag_desktop.core.jobs import last
    from meddiag_desktop.core.loading import load_predictors
    from meddiag_desktop.core.model_store import ModelStore

    from intakekit import Running, send

    caplog.set_level(logging.DEBUG)
    predictors = last(load_predictors(ModelStore().resolve("pneumonia-cnn"), "cpu")).predictors
    store = IntakeStore(tmp_path / "node")
    engine = IntakeEngine(store, predictors, tmp_path / "node" / "results.csv", audit=AuditLog(tmp_path / "audit.jsonl"),
                          dicom_out=tmp_path / "node" / "dicom")
    run = Running(engine)
    node = DicomNode(NodeConfig(port=0, min_free_bytes=0), store, engine.submit).start()
    try:
        ds = pydicom.dcmread(patient_dicom)
        ds.SOPInstanceUID = pydicom.uid.generate_uid()
        broken = patient_dicom.with_name("image_0002.dcm")  # a truncated copy: its error rows too
        ds.save_as(broken)
        broken.write_bytes(broken.read_bytes()[:-2000])
        assert send([str(patient_dicom), str(broken)], node.port) == [0x0000, 0x0000]
        done = run.wait_for("ItemAnalysed", 2)
        [analysed] = [e for e in done if e.rows[0].status == "ok"]
        assert [e.rows[0].status for e in done].count("error") == 1
    finally:
        node.stop()
        run.stop()
    assert_clean(caplog.text, "log records")
    assert_clean("\n".join(filter(None, map(describe, run.events))), "console lines")
    assert_clean((tmp_path / "node" / "results.csv").read_text(encoding="utf-8"), "node results CSV")
    assert_clean((tmp_path / "audit.jsonl").read_text(encoding="utf-8"), "audit log")
    outputs = [o for o in analysed.dicom_outputs if o.ok]
    assert {o.kind for o in outputs} == {"SR", "SC"}
    for output in outputs:
        ds = pydicom.dcmread(output.path, stop_before_pixels=True)
        assert (str(ds.PatientName), ds.PatientID, ds.PatientBirthDate) == MARKERS


def test_watch_folder_output_csv_and_audit_have_no_patient_data(patient_dicom, tmp_path, capsys, caplog):
    from meddiag_desktop.core.audit import default_audit_path

    caplog.set_level(logging.DEBUG)
    out = tmp_path / "watch.csv"
    assert main(["watch", str(patient_dicom.parent), "--out", str(out), "--model", "pneumonia-cnn", "--device", "cpu",
                 "--settle", "0.2", "--once"]) == 0
    assert_clean("".join(capsys.readouterr()), "watch console output")
    assert_clean(caplog.text, "log records")
    text = out.read_text(encoding="utf-8")
    assert [r["status"] for r in csv.DictReader(text.splitlines())] == ["ok"]
    assert_clean(text, "watch CSV")
    assert_clean(default_audit_path().read_text(encoding="utf-8"), "audit log")


def test_pynetdicom_debug_logging_is_never_enabled():
    """pynetdicom's debug logger prints whole data sets: no module of the package turns it on."""
    package = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "meddiag_desktop")
    for folder, _dirs, files in os.walk(package):
        for name in files:
            if name.endswith(".py"):
                with open(os.path.join(folder, name), encoding="utf-8") as f:
                    assert "debug_logger" not in f.read(), name


def test_inbox_shows_patient_identity_only_when_asked_and_never_writes_it(patient_dicom, qtbot, tmp_path, caplog):
    """The window's DICOM node (loopback, ephemeral port): the Inbox hides patient name / ID by
    default; with Settings → "show patient name and ID" on, it shows them (rows already there and
    new ones) - and still no log, CSV, audit record, index or settings file carries them. Only
    the stored instances and the SR / SC keep the source's identity, as received."""
    import pydicom.uid
    from PySide6.QtCore import Qt

    from meddiag_desktop.core.audit import default_audit_path
    from meddiag_desktop.core.model_store import ModelStore
    from meddiag_desktop.core.paths import user_log_dir, user_models_dir
    from meddiag_desktop.qt.app import setup_logging
    from meddiag_desktop.qt.main_window import MainWindow
    from meddiag_desktop.qt.settings import Settings

    from intakekit import send
    from testkit import save_demo_models

    save_demo_models(user_models_dir(), threshold=0.5, positive_label="abnormal")
    caplog.set_level(logging.DEBUG)
    log_path = setup_logging(logging.DEBUG)
    logger = logging.getLogger("meddiag_desktop")
    settings_path, out = tmp_path / "settings.ini", tmp_path / "intake"
    window = MainWindow(store=ModelStore([user_models_dir()]), settings=Settings(settings_path), device="cpu")
    qtbot.addWidget(window)

    def cells() -> str:
        model = window.child_windows.intake.panel.model
        return "\n".join(str(model.data(model.index(r, c)) or "") for r in range(model.rowCount())
                         for c in range(model.columnCount()))

    try:
        window.show()
        window.start()
        qtbot.waitUntil(lambda: window.info is not None, timeout=60_000)
        intake = window.child_windows.open_intake()
        dialog = intake.show_dialog()
        assert not dialog.show_identity.isChecked()  # off by default
        assert intake.start_node(intake.settings.with_(port=0, out_dir=str(out)))
        qtbot.waitUntil(lambda: intake.status is not None and intake.status.listening is not None, timeout=60_000)
        assert send([str(patient_dicom)], intake.status.port) == [0x0000]
        qtbot.waitUntil(lambda: intake.panel.model.rowCount() == 1, timeout=60_000)
        assert_clean(cells(), "inbox cells (identity off)")
        assert_clean("\n".join(_widget_texts(window) + _widget_texts(dialog)), "window and dialog texts")

        dialog.show_identity.setChecked(True)  # rows already there get theirs read (io lane)
        qtbot.waitUntil(lambda: "MARKER^SECRET" in cells(), timeout=30_000)
        assert "ID-SECRET-123" in cells()
        second = patient_dicom.with_name("image_0003.dcm")
        ds = pydicom.dcmread(patient_dicom)
        ds.SOPInstanceUID = pydicom.uid.generate_uid()
        ds.save_as(second)
        assert send([str(second)], intake.status.port) == [0x0000]
        qtbot.waitUntil(lambda: intake.panel.model.rowCount() == 2, timeout=60_000)
        assert all(item.identity == ("MARKER^SECRET", "ID-SECRET-123") for item in intake.panel.model.items)
        assert_clean(repr(intake.panel.model.items), "inbox items' repr")
        qtbot.mouseClick(dialog.stop_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not intake.lane.busy, timeout=30_000)
    finally:
        window.close()
        window.shutdown()
        close_file_handlers(logger, log_path)
    assert_clean(caplog.text, "log records")
    for log in sorted(user_log_dir().glob("*")):
        assert_clean(log.read_text(encoding="utf-8", errors="replace"), f"log file {log.name}")
    settings_text = settings_path.read_text(encoding="utf-8", errors="replace")
    assert "show_identity=true" in settings_text
    assert_clean(settings_text, "settings file")
    assert_clean(default_audit_path().read_text(encoding="utf-8"), "audit log")
    assert len((out / "results.csv").read_text(encoding="utf-8").splitlines()) == 1 + 2 * 3  # 2 items x 3 models
    kept_as_received = ("instances", "dicom", "outbox", "rejected")  # the source's own data sets, SR and SC
    for root in (out, os.environ["MEDDIAG_HOME"]):
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if d not in kept_as_received]
            for name in files:
                if not name.endswith(".safetensors"):
                    with open(os.path.join(folder, name), "rb") as f:
                        assert_clean(f.read().decode("utf-8", "replace"), f"file {name}")
