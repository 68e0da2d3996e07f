"""`meddiag` command line: models, predict (incl. DICOM edge cases and bad files), train, evaluate."""
from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pydicom
import pytest
import torch
from PIL import Image

from meddiag_desktop.cli import main
from meddiag_desktop.core.paths import user_models_dir
from meddiag_desktop.core.storage import ModelCard
from meddiag_desktop.core.tasks import FAMILIES

from testkit import save_demo_models

DICOM_DIR = os.path.join(os.path.dirname(pydicom.data.__file__), "test_files")


@pytest.fixture
def demo_models():
    """One untrained (demo) model per family in the user model folder, task 'demo'."""
    cards = save_demo_models(user_models_dir(), archs=FAMILIES, threshold=0.5, positive_label="abnormal")
    return [c.id for c in cards]


@pytest.fixture
def mixed_files(tmp_path):
    """The foundation issue's acceptance set: CT, MR, RGB, MONOCHROME1 DICOM, 16-bit PNG, zero-byte."""
    files = [os.path.join(DICOM_DIR, n) for n in ("CT_small.dcm", "MR_small.dcm", "SC_rgb_rle.dcm")]
    ds = pydicom.dcmread(os.path.join(DICOM_DIR, "MR_small.dcm"))
    ds.PhotometricInterpretation = "MONOCHROME1"
    ds.save_as(tmp_path / "mono1.dcm")
    Image.fromarray((np.arange(64 * 64, dtype=np.uint16) * 15).reshape(64, 64)).save(tmp_path / "16bit.png")
    (tmp_path / "empty.png").write_bytes(b"")
    return files + [str(tmp_path / n) for n in ("mono1.dcm", "16bit.png", "empty.png")]


def test_predict_acceptance_set_with_all_three_families(demo_models, mixed_files, capsys):
    code = main(["predict", *mixed_files, "--model", ",".join(demo_models), "--json", "--device", "cpu"])
    records = json.loads(capsys.readouterr().out)
    assert code == 0
    assert len(records) == len(mixed_files) * 3  # one record per (file, model)
    for record in records:
        assert set(record) >= {"path", "model", "status", "error", "label", "probability", "probabilities"}
        if record["path"].endswith("empty.png"):
            assert record["status"] == "error" and "empty" in record["error"]
        else:
            assert record["status"] == "ok", record
            assert sum(record["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
            assert record["probability"] == pytest.approx(record["probabilities"][record["label"]])
    assert {r["model"] for r in records} == set(demo_models)


def test_predict_text_output_marks_demo_models_and_reports_bad_files(demo_models, mixed_files, capsys):
    assert main(["predict", mixed_files[0], mixed_files[-1], "--model", demo_models[0]]) == 0
    out, err = capsys.readouterr()
    assert "DEMO" in out and "ERROR: empty file" in out
    assert "not for diagnostic use" in err and "1 file(s) predicted, 1 unreadable" in err


def test_predict_exit_status_when_nothing_could_be_read(demo_models, tmp_path, capsys):
    (tmp_path / "junk.png").write_text("hello")
    assert main(["predict", str(tmp_path / "junk.png"), "--model", demo_models[0]]) == 1
    assert "not an image" in capsys.readouterr().out


def test_unknown_model_is_a_clear_error(capsys):
    assert main(["predict", "x.png", "--model", "no-such-model"]) == 2
    assert "no model 'no-such-model'" in capsys.readouterr().err


def test_cuda_requested_without_gpu_is_refused(demo_models, mixed_files, capsys):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    assert main(["predict", mixed_files[0], "--model", demo_models[0], "--device", "cuda"]) == 2
    assert "CUDA was requested" in capsys.readouterr().err


def test_models_lists_family_task_labels_and_sha(demo_models, capsys):
    assert main(["models", "--task", "demo", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert sorted(m["family"] for m in listed) == sorted(FAMILIES)
    for m in listed:
        assert m["labels"] == ["normal", "abnormal"] and m["input_size"] == 28 and len(m["sha256"]) == 64
        assert m["demo"] is True
    assert main(["models", "--task", "demo"]) == 0
    assert "DEMO" in capsys.readouterr().out


def test_train_then_evaluate_on_an_npz_with_a_test_split(tiny_npz, tmp_path, capsys):
    out_dir = tmp_path / "models"
    assert main(["train", "--data", str(tiny_npz), "--task", "toy", "--arch", "cnn", "--epochs", "1", "--cv", "0",
                 "--batch-size", "16", "--device", "cpu", "--out", str(out_dir), "--save-as", "toy-cnn"]) == 0
    out = capsys.readouterr().out
    assert "saved toy-cnn" in out and "accuracy" in out and "95% CI" in out
    card = json.loads((out_dir / "toy-cnn.json").read_text())
    assert card["data"]["train"]["split"] == "train" and card["data"]["val"]["split"] == "val"
    assert card["metrics"]["validation"]["n"] == 32 and 0 < card["temperature"]
    shutil.copy(out_dir / "toy-cnn.json", user_models_dir())
    shutil.copy(out_dir / "toy-cnn.safetensors", user_models_dir())
    assert main(["evaluate", "--model", "toy-cnn", "--data", str(tiny_npz), "--split", "test", "--json",
                 "--bootstrap", "50"]) == 0
    [report] = json.loads(capsys.readouterr().out)
    assert report["split"] == "test" and report["n"] == 16
    assert 0 <= report["accuracy"]["ci_low"] <= report["accuracy"]["value"] <= report["accuracy"]["ci_high"] <= 1


def test_train_cross_validates_with_cv_k_and_says_so(tiny_npz, tmp_path, capsys):
    out_dir = tmp_path / "models"
    assert main(["train", "--data", str(tiny_npz), "--task", "toy", "--arch", "cnn", "--epochs", "1", "--cv", "3",
                 "--batch-size", "16", "--device", "cpu", "--out", str(out_dir), "--save-as", "toy-cnn",
                 "--bootstrap", "50"]) == 0
    captured = capsys.readouterr()
    assert "3-fold cross-validated, n = 96" in captured.err and "3-fold cross-validated, n = 96" in captured.out
    assert captured.out.count("fold ") >= 3 and "saved toy-cnn" in captured.out
    assert "images in 0 groups of near-duplicates, each group kept in one fold" in captured.out  # tiny: no twins
    card = json.loads((out_dir / "toy-cnn.json").read_text())
    assert card["metrics"]["validation"]["n"] == 96
    assert card["metrics"]["validation"]["evaluation"] == "3-fold cross-validated, n = 96"
    assert card["metrics"]["cross_validation"]["folds"] == 3 and card["data"]["cross_validation"]["n"] == 96
    assert card["data"]["train"]["n"] == 64 and card["data"]["val"]["n"] == 32


def test_train_refuses_an_existing_name(demo_models, tiny_npz, capsys):
    assert main(["train", "--data", str(tiny_npz), "--save-as", demo_models[0]]) == 2
    assert "exists already" in capsys.readouterr().err


def test_every_result_row_shares_one_schema(demo_models, mixed_files, capsys):
    main(["predict", *mixed_files, "--model", demo_models[0], "--json"])
    records = json.loads(capsys.readouterr().out)
    assert len({tuple(sorted(r)) for r in records}) == 1


def test_models_lists_inactive_versions_and_marks_the_active_one(demo_models, capsys):
    from meddiag_desktop.core.storage import load_weights
    from meddiag_desktop.core.model_store import ModelStore
    from meddiag_desktop.core.versions import save_version

    store = ModelStore()
    base = store.find("demo-cnn")
    save_version(load_weights(base), ModelCard(id="x", config=base.config, demo=True), store, name="demo-cnn-v2")
    assert main(["models", "--task", "demo", "--json"]) == 0
    listed = {m["id"]: m["active"] for m in json.loads(capsys.readouterr().out)}
    assert listed["demo-cnn-v2"] is True and listed["demo-cnn"] is False  # both listed, one active
    assert listed["demo-rnn"] is True and listed["demo-transformer"] is True
    assert main(["models", "--task", "demo"]) == 0
    assert "* demo-cnn-v2" in capsys.readouterr().out
