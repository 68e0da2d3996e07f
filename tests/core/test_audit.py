"""core.audit: record fields, no paths or patient data, torn lines, appends from several scans."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import os

import numpy as np
import pydicom
import pytest
import torch
from PIL import Image

from meddiag_desktop import __version__
from meddiag_desktop.cli import main
from meddiag_desktop.core.audit import AuditLog, default_audit_path, read_audit
from meddiag_desktop.core.inference import Predictor, Result
from meddiag_desktop.core.models import ModelConfig, create_model_from_config
from meddiag_desktop.core.paths import user_data_dir, user_models_dir
from meddiag_desktop.core.scan import scan
from meddiag_desktop.core.storage import ModelCard, save_model

DICOM_DIR = os.path.join(os.path.dirname(pydicom.data.__file__), "test_files")
SECRETS = ("MARKER^SECRET", "ID-SECRET-123")
FIELDS = {"time", "scan_id", "row", "file_sha256", "model", "model_sha256", "status", "error", "label",
          "probability", "probabilities", "app_version"}


@pytest.fixture
def predictor():
    torch.manual_seed(0)
    config = ModelConfig(arch="cnn", task="demo", labels=("normal", "abnormal"))
    card = save_model(create_model_from_config(config), ModelCard(id="demo-cnn", config=config, demo=True),
                      user_models_dir())
    return Predictor(card, "cpu")


@pytest.fixture
def patient_folder(tmp_path):
    """A folder named like a patient, a DICOM with patient tags, a PNG and a broken file."""
    folder = tmp_path / "Doe_FOLDERNAME-SECRET"
    folder.mkdir()
    ds = pydicom.dcmread(os.path.join(DICOM_DIR, "CT_small.dcm"))
    ds.PatientName, ds.PatientID = SECRETS
    ds.save_as(folder / "doe_FILENAME-SECRET.dcm")
    buffer = io.BytesIO()
    Image.fromarray(np.full((28, 28), 90, np.uint8)).save(buffer, "PNG")
    (folder / "plain.png").write_bytes(buffer.getvalue())
    (folder / "broken.png").write_bytes(buffer.getvalue()[:40])
    return folder


def sha256(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_records_have_the_fields_and_no_path_or_patient_data(patient_folder, predictor, tmp_path):
    out = tmp_path / "results.csv"
    assert main(["scan", str(patient_folder), "--out", str(out), "--model", "demo-cnn"]) == 0
    records = read_audit()
    assert default_audit_path() == user_data_dir() / "audit.jsonl"
    assert len(records) == 3 and all(set(r) == FIELDS for r in records)
    assert [r["row"] for r in records] == [1, 2, 3] and len({r["scan_id"] for r in records}) == 1
    by_status = {r["status"]: r for r in records}
    ok, error = by_status["ok"], by_status["error"]
    assert ok["model"] == "demo-cnn" and ok["model_sha256"] == predictor.card.sha256
    assert sum(ok["probabilities"].values()) == pytest.approx(1.0, abs=1e-5) and ok["label"] in ok["probabilities"]
    assert error["error"] and error["label"] is None and error["probabilities"] is None
    files = sorted(patient_folder.iterdir())  # broken.png, doe_….dcm, plain.png: the scan order
    assert [r["file_sha256"] for r in records] == [sha256(f) for f in files]
    assert all(r["app_version"] == __version__ for r in records)
    assert dt.datetime.fromisoformat(records[0]["time"]).utcoffset() == dt.timedelta(0)

    audit_text = default_audit_path().read_text(encoding="utf-8")
    for secret in (*SECRETS, "SECRET", "Doe", "doe_", "plain.png", str(tmp_path)):
        assert secret not in audit_text
    csv_text = out.read_text(encoding="utf-8")
    for secret in SECRETS:
        assert secret not in csv_text  # the CSV has paths, never DICOM patient tags


def test_reader_skips_a_torn_last_line_and_the_next_append_starts_clean(tmp_path):
    log = AuditLog(tmp_path / "audit.jsonl")
    first = log.scan()
    first.record([Result("a.png", "m", "error", error="empty file (0 bytes)")])
    with open(log.path, "ab") as handle:  # a crash in the middle of a write
        handle.write(b'{"time": "2025-01-01T00:00:00+00:00", "scan_id": "torn", "ro')
    assert [r["scan_id"] for r in read_audit(log.path)] == [first.scan_id]
    second = log.scan()
    second.record([Result("b.png", "m", "error", error="not an image")])
    records = read_audit(log.path)
    assert [r["scan_id"] for r in records] == [first.scan_id, second.scan_id]
    assert records[0]["file_sha256"] is None  # a file that cannot be read has no hash
    lines = log.path.read_bytes().split(b"\n")
    assert len(lines) == 4 and lines[-1] == b""  # good, torn, good: each on its own line
    assert read_audit(tmp_path / "missing.jsonl") == []


def test_two_scans_append_to_the_same_log(patient_folder, predictor):
    audits = [AuditLog().scan() for _ in range(2)]
    for audit in audits:
        events = list(audit.track(scan([patient_folder], [predictor], batch_size=2)))
        assert sum(isinstance(e, Result) for e in events) == 3
    records = read_audit()
    assert [r["scan_id"] for r in records] == [audits[0].scan_id] * 3 + [audits[1].scan_id] * 3
    assert [r["row"] for r in records] == [1, 2, 3] * 2
    assert [r["file_sha256"] for r in records[:3]] == [r["file_sha256"] for r in records[3:]]


def test_track_records_every_row_handed_out_when_closed_early(patient_folder, predictor):
    audit = AuditLog().scan()
    events = audit.track(scan([patient_folder], [predictor], batch_size=2))
    taken = 0
    for event in events:
        taken += isinstance(event, Result)
        if taken == 1:
            break  # e.g. the window was closed mid-batch
    events.close()
    assert len(read_audit()) == 1
