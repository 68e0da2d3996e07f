"""Model versions: the active-model registry, rollback, delete fallback, export / import (sha-checked)."""
from __future__ import annotations

import datetime as dt
import json
import zipfile

import pytest
import torch

from meddiag_desktop.core import versions
from meddiag_desktop.core.models import ModelConfig, create_model_from_config
from meddiag_desktop.core.paths import resource_path, user_data_dir
from meddiag_desktop.core.storage import (
    ModelCard, ModelIntegrityError, ModelStorageError, load_weights, save_model, sha256_file,
)
from meddiag_desktop.core.model_store import ModelStore
from meddiag_desktop.core.active_registry import REGISTRY_FILE, ActiveRegistry
from meddiag_desktop.core.storage import VersionError

CONFIG = ModelConfig(arch="cnn", task="toy", labels=("normal", "abnormal"), arch_kwargs={"widths": [4, 8, 8, 8]})
RNN = ModelConfig(arch="rnn", task="toy", labels=("normal", "abnormal"),
                  arch_kwargs={"hidden": 4, "embed": 4, "layers": 1})
T0 = dt.datetime(2026, 11, 27, 15, 4, 5)


def tiny(seed: int = 0, config: ModelConfig = CONFIG):
    torch.manual_seed(seed)
    return create_model_from_config(config)


@pytest.fixture
def store(tmp_path):
    """A 'shipped' folder with toy-cnn and toy-rnn plus an empty user folder."""
    shipped, user = tmp_path / "shipped", tmp_path / "user"
    save_model(tiny(0), ModelCard(id="toy-cnn", config=CONFIG, threshold=0.5), shipped)
    save_model(tiny(0, RNN), ModelCard(id="toy-rnn", config=RNN), shipped)
    user.mkdir()
    return ModelStore([shipped, user])


def new_card(base: str | None = "toy-cnn") -> ModelCard:
    return ModelCard(id="toy-cnn@new", config=CONFIG, base_model=base, threshold=0.4, temperature=1.3,
                     data={"train": {"class_counts": {"normal": 30, "abnormal": 30}}})


def ids(cards) -> list[str]:
    return [c.id for c in cards]


def test_version_ids_use_the_base_stem_and_a_timestamp():
    assert versions.new_version_id("pneumonia-cnn", [], T0) == "pneumonia-cnn@2026-11-27T15-04-05"
    taken = ["pneumonia-cnn@2026-11-27T15-04-05"]
    assert versions.new_version_id("pneumonia-cnn", taken, T0) == "pneumonia-cnn@2026-11-27T15-04-05-2"
    assert versions.version_stem("pneumonia-cnn@2026-01-01T00-00-00", "x", "y") == "pneumonia-cnn"
    assert versions.version_stem(None, "toy", "cnn") == "toy-cnn"


def test_saving_a_version_activates_it_and_rollback_restores_the_previous(store):
    assert "toy-cnn" in ids(store.active_cards("toy"))
    saved = versions.save_version(tiny(1), new_card(), store, now=T0)
    assert saved.id == "toy-cnn@2026-11-27T15-04-05" and saved.version == "2"
    assert saved.path.parent == store.writable_root and saved.base_model == "toy-cnn"
    cnn = [c for c in store.active_cards("toy") if c.config.arch == "cnn"]
    assert ids(cnn) == [saved.id]  # one active CNN for the task: predict / scan / window use it
    assert "toy-rnn" in ids(store.active_cards("toy"))  # other families are untouched
    assert saved.id in ids(store.resolve("all", "toy")) and "toy-cnn" not in ids(store.resolve("all", "toy"))
    assert versions.active_card(store, "toy", "cnn").id == saved.id
    registry = json.loads((user_data_dir() / REGISTRY_FILE).read_text())
    assert registry["groups"][0]["active"] == saved.id and registry["groups"][0]["history"] == ["toy-cnn"]
    assert not list(user_data_dir().glob(".*.tmp"))  # atomic write left no temporary file

    back = versions.rollback(store, "toy", "cnn")
    assert back.id == "toy-cnn" and versions.active_card(store, "toy", "cnn").id == "toy-cnn"
    with pytest.raises(VersionError, match="no earlier version"):
        versions.rollback(store, "toy", "cnn")
    versions.activate_version(store, saved.id)  # re-activate by hand, then roll back again
    assert versions.rollback(store, "toy", "cnn").id == "toy-cnn"


def test_a_version_saved_without_activating_leaves_the_active_model(store):
    saved = versions.save_version(tiny(1), new_card(), store, name="my-tuned", activate=False)
    assert saved.id == "my-tuned"
    assert versions.active_card(store, "toy", "cnn").id == "toy-cnn"
    rows = {r.id: r for r in versions.list_versions(store, "toy")}
    assert rows["toy-cnn"].active and not rows["my-tuned"].active
    assert rows["toy-cnn"].source == "shipped" and not rows["toy-cnn"].deletable
    assert rows["my-tuned"].source == "user" and rows["my-tuned"].deletable
    with pytest.raises(VersionError, match="exists already"):
        versions.save_version(tiny(2), new_card(), store, name="my-tuned")
    with pytest.raises(VersionError, match="invalid model name"):
        versions.save_version(tiny(2), new_card(), store, name="../escape")


def test_deleting_the_active_version_falls_back_and_shipped_models_are_protected(store):
    first = versions.save_version(tiny(1), new_card(), store, now=T0)
    second = versions.save_version(tiny(2), new_card(), store, now=T0 + dt.timedelta(seconds=1))
    assert versions.active_card(store, "toy", "cnn").id == second.id
    versions.delete_version(store, second.id)
    assert not second.path.exists() and not second.weights_path.exists()
    assert versions.active_card(store, "toy", "cnn").id == first.id
    versions.delete_version(store, first.id)
    assert versions.active_card(store, "toy", "cnn").id == "toy-cnn"
    with pytest.raises(VersionError, match="shipped"):
        versions.delete_version(store, "toy-cnn")
    assert store.find("toy-cnn").weights_path.exists()


def test_unversioned_groups_keep_all_their_models_and_a_damaged_registry_is_ignored(store):
    save_model(tiny(3), ModelCard(id="legacy-cnn", config=CONFIG), store.writable_root)
    assert {"toy-cnn", "legacy-cnn"} <= set(ids(store.active_cards("toy")))  # as before versions existed
    (user_data_dir() / REGISTRY_FILE).write_text("{broken", encoding="utf-8")
    assert {"toy-cnn", "legacy-cnn"} <= set(ids(store.active_cards("toy")))
    versions.activate_version(store, "legacy-cnn")
    assert [c.id for c in store.active_cards("toy") if c.config.arch == "cnn"] == ["legacy-cnn"]
    assert ActiveRegistry().group("toy", "cnn").history == ["toy-cnn"]


@pytest.mark.parametrize("kind", ["zip", "folder"])
def test_export_then_import_round_trip(store, tmp_path, kind):
    saved = versions.save_version(tiny(1), new_card(), store, name="tuned")
    target = tmp_path / ("tuned.zip" if kind == "zip" else "exported")
    versions.export_version(store, "tuned", target)
    other = ModelStore([tmp_path / "other-user"])
    (tmp_path / "other-user").mkdir()
    imported = versions.import_version(other, target)
    assert imported.id == "tuned" and imported.sha256 == saved.sha256
    assert sha256_file(imported.weights_path) == saved.sha256
    assert versions.active_card(other, "toy", "cnn").id == "tuned"  # first of its family: active
    a, b = load_weights(saved), load_weights(other.find("tuned"))
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    with pytest.raises(VersionError, match="already installed"):
        versions.import_version(other, target)
    again = versions.import_version(other, target, new_id="tuned-copy")
    assert again.id == "tuned-copy" and versions.active_card(other, "toy", "cnn").id == "tuned"


def test_import_refuses_tampered_or_foreign_weights(store, tmp_path):
    saved = versions.save_version(tiny(1), new_card(), store, name="tuned")
    card_text = saved.path.read_text()
    blob = bytearray(saved.weights_path.read_bytes())
    blob[-1] ^= 0xFF
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr("tuned.json", card_text)
        archive.writestr("tuned.safetensors", bytes(blob))
    fresh = ModelStore([tmp_path / "fresh"])
    (tmp_path / "fresh").mkdir()
    with pytest.raises(ModelIntegrityError, match="sha256 mismatch"):
        versions.import_version(fresh, bad)

    # Weights whose sha matches a card that claims another architecture: refused, not half-imported.
    card = json.loads(card_text)
    card["config"]["arch_kwargs"] = {"widths": [8, 8, 8, 8]}
    wrong = tmp_path / "wrong.zip"
    with zipfile.ZipFile(wrong, "w") as archive:
        archive.writestr("tuned.json", json.dumps(card))
        archive.writestr("tuned.safetensors", saved.weights_path.read_bytes())
    with pytest.raises(ModelStorageError, match="do not fit"):
        versions.import_version(fresh, wrong)

    # A pickle (or anything else) pretending to be weights never gets near torch.load.
    card["config"]["arch_kwargs"] = CONFIG.arch_kwargs
    pickle_blob = b"\x80\x04\x95" + b"\x00" * 64
    card["sha256"] = versions.sha256_bytes(pickle_blob)
    fake = tmp_path / "fake.zip"
    with zipfile.ZipFile(fake, "w") as archive:
        archive.writestr("tuned.json", json.dumps(card))
        archive.writestr("tuned.safetensors", pickle_blob)
    with pytest.raises(ModelStorageError, match="do not fit"):
        versions.import_version(fresh, fake)
    assert list((tmp_path / "fresh").iterdir()) == []


def test_cli_predict_uses_the_active_version(store, monkeypatch, capsys):
    from meddiag_desktop import cli

    versions.save_version(tiny(1), new_card(), store, name="tuned")
    original = ModelStore.__init__

    def default_to_test_roots(self, roots=None, registry=None):
        original(self, roots if roots is not None else store.roots, registry)

    monkeypatch.setattr(ModelStore, "__init__", default_to_test_roots)
    sample = str(resource_path("samples", "chest_xray_pneumonia_val0.png"))
    assert cli.main(["predict", sample, "--task", "toy", "--json", "--device", "cpu"]) == 0
    models = {r["model"] for r in json.loads(capsys.readouterr().out)}
    assert "tuned" in models and "toy-cnn" not in models


def test_cli_train_saves_a_registered_version_with_the_dialogs_figures(tmp_path, capsys):
    """`meddiag train --base … --save-as … --activate`: no Qt, same comparison as the dialog, a new version."""
    import numpy as np
    from PIL import Image

    from meddiag_desktop.cli import main
    from meddiag_desktop.core.paths import user_models_dir

    save_model(tiny(0), ModelCard(id="toy-cnn", config=CONFIG, threshold=0.5, positive_label="abnormal"),
               user_models_dir())
    rng = np.random.default_rng(0)
    for label in CONFIG.labels:
        (tmp_path / "data" / label).mkdir(parents=True)
        for i in range(12):
            pixels = rng.integers(0, 60, size=(28, 28)).astype(np.uint8)
            if label == "abnormal":
                pixels[8:20, 8:20] += 150
            Image.fromarray(pixels).save(tmp_path / "data" / label / f"{i}.png")
    args = ["train", "--data", str(tmp_path / "data"), "--base", "toy-cnn", "--epochs", "1", "--batch-size", "8",
            "--device", "cpu", "--no-augment", "--bootstrap", "50"]
    assert main(args + ["--save-as", "toy-tuned"]) == 0
    out, err = capsys.readouterr()
    assert "Very few images" in err  # the dialog's warnings, on stderr
    assert "saved toy-tuned" in out and "Validation comparison" in out and "toy-cnn" in out and "ECE fine-tuned" in out
    assert "active cnn model for task toy: toy-cnn" in out  # not activated without --activate
    assert "5-fold cross-validated, n = 24" in out and "5-fold cross-validated, n = 24" in err  # small set: CV default
    assert main(args + ["--activate"]) == 0
    out = capsys.readouterr().out
    store = ModelStore()
    (new_id,) = [c.id for c in store.cards("toy") if c.id.startswith("toy-cnn@")]
    assert f"active cnn model for task toy: {new_id}" in out
    assert versions.active_card(store, "toy", "cnn").id == new_id and store.find(new_id).base_model == "toy-cnn"
    assert store.find(new_id).data["train"]["files"][0]["sha256"]
    assert main(args + ["--save-as", "toy-tuned"]) == 2  # names are unique


def test_cli_versions_lists_activates_rolls_back_and_round_trips(store, monkeypatch, tmp_path, capsys):
    from meddiag_desktop.cli import main

    original = ModelStore.__init__

    def default_to_test_roots(self, roots=None, registry=None):
        original(self, roots if roots is not None else store.roots, registry)

    monkeypatch.setattr(ModelStore, "__init__", default_to_test_roots)
    versions.save_version(tiny(1), new_card(), store, name="tuned", activate=False)
    assert main(["versions", "--task", "toy"]) == 0
    out = capsys.readouterr().out
    assert "toy-cnn" in out and "tuned" in out and "shipped" in out and "user" in out
    assert main(["versions", "--activate", "tuned"]) == 0 and versions.active_card(store, "toy", "cnn").id == "tuned"
    assert main(["versions", "--rollback", "toy/cnn"]) == 0 and versions.active_card(store, "toy", "cnn").id == "toy-cnn"
    assert main(["versions", "--export", "tuned", str(tmp_path / "t.zip"), "--delete", "tuned"]) == 0
    assert main(["versions", "--import", str(tmp_path / "t.zip"), "--json"]) == 0
    assert "imported tuned (sha256 verified)" in capsys.readouterr().out
    assert main(["versions", "--delete", "toy-cnn"]) == 2
    assert "shipped models cannot be deleted" in capsys.readouterr().err
