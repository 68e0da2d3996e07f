"""Tests for meddiag_desktop.core.storage: safetensors + card round trip, integrity, atomicity, ModelStore.

Every root is a tmp_path folder; the real ``weights/`` and user folders are never touched.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import pickle
import re
import struct
from pathlib import Path

import pytest
import torch

from meddiag_desktop.core import atomic, model_store, storage
from meddiag_desktop.core.atomic import atomic_write_json
from meddiag_desktop.core.models import ModelConfig, create_model_from_config
from meddiag_desktop.core.storage import (
    ModelCard,
    ModelIntegrityError,
    ModelNotFoundError,
    ModelStorageError,
    load_model,
    load_weights,
    read_card,
    save_model,
)
from meddiag_desktop.core.model_store import ModelStore

CONFIG = ModelConfig(arch="cnn", task="pneumonia", labels=("normal", "pneumonia"), img_size=28, in_chans=1,
                     arch_kwargs={"widths": [4, 8], "depths": [1, 1]})



def _model(seed: int) -> torch.nn.Module:
    """A tiny CNN with non-default batch-norm buffers (so buffers must round-trip too)."""
    torch.manual_seed(seed)
    model = create_model_from_config(CONFIG).train()
    with torch.no_grad():
        model(torch.randn(4, 1, 28, 28))
    return model.eval()


def _card(model_id: str = "m1", config: ModelConfig = CONFIG, **kw) -> ModelCard:
    return ModelCard(id=model_id, config=config, **kw)


def _x() -> torch.Tensor:
    return torch.randn(3, 1, 28, 28, generator=torch.Generator().manual_seed(7))


def _out(model) -> torch.Tensor:
    with torch.no_grad():
        return model(_x())


def _snapshot(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _temp_files(folder) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".") or p.name.endswith(".tmp")]


# --------------------------------------------------------------------------- round trip
def test_save_load_round_trip_preserves_weights_outputs_and_card(tmp_path):
    model = _model(0)
    card = _card(
        description="tiny test model", demo=True, temperature=1.7, threshold=0.31, positive_label="pneumonia",
        metrics={"validation": {"auc": 0.91, "sens": [0.8, 0.7, 0.9]}, "threshold_rule": "youden"},
        training={"epochs": 3}, data={"train": {"n": 10}}, ood={"mean": [0.0, 1.0]}, base_model="base-1",
        extra={"future_key": {"nested": [1, 2]}, "another": "kept"},
    )
    saved = save_model(model, card, tmp_path)
    assert saved.path == tmp_path / "m1.json" and saved.weights_file == "m1.safetensors" and saved.created

    loaded, back = load_model(tmp_path / "m1.json")
    assert not loaded.training
    original, restored = model.state_dict(), loaded.state_dict()
    assert original.keys() == restored.keys()
    for key in original:
        assert restored[key].dtype == original[key].dtype, key
        assert torch.equal(restored[key], original[key]), key
    assert torch.equal(_out(loaded), _out(model))

    assert back == saved  # dataclass equality: every field but path, config included
    assert back.config == CONFIG and back.metrics == card.metrics
    assert (back.temperature, back.threshold, back.positive_label, back.positive_index) == (1.7, 0.31, "pneumonia", 1)
    assert back.extra == {"future_key": {"nested": [1, 2]}, "another": "kept"}
    raw = json.loads((tmp_path / "m1.json").read_text(encoding="utf-8"))
    assert raw["schema"] == storage.CARD_SCHEMA and raw["future_key"] == {"nested": [1, 2]}
    assert "path" not in raw and "extra" not in raw

    # Re-saving a loaded card keeps the unknown keys (a newer app's fields survive an older app's save).
    save_model(loaded, back, tmp_path / "again")
    assert read_card(tmp_path / "again" / "m1.json").extra == back.extra


def test_card_sha256_is_sha256_of_weights_file(tmp_path):
    card = save_model(_model(0), _card(), tmp_path)
    digest = hashlib.sha256((tmp_path / "m1.safetensors").read_bytes()).hexdigest()
    assert card.sha256 == digest
    assert json.loads((tmp_path / "m1.json").read_text())["sha256"] == digest
    assert storage.sha256_file(tmp_path / "m1.safetensors", chunk=7) == digest


def test_weights_file_is_safetensors_not_pickle(tmp_path):
    save_model(_model(0), _card(), tmp_path)
    blob = (tmp_path / "m1.safetensors").read_bytes()
    (header_len,) = struct.unpack("<Q", blob[:8])
    assert blob[8:9] == b"{" and 8 + header_len <= len(blob)
    header = json.loads(blob[8 : 8 + header_len])
    assert header["__metadata__"] == {"format": "pt"}  # one key: the same weights give the same bytes
    assert "head.weight" in header
    assert not blob.startswith(b"\x80") and not blob.startswith(b"PK")  # pickle protocol / torch zip


def test_storage_source_uses_neither_pickle_nor_torch_load():
    code = "\n".join(line for line in inspect.getsource(storage).splitlines() if not line.lstrip().startswith("#"))
    code = re.sub(r'""".*?"""', "", code, flags=re.S)  # the docstring says "No pickle anywhere."
    assert not re.search(r"\bimport\s+(c?pickle|dill|joblib)\b|\bpickle\.", code)
    assert not re.search(r"\btorch\.(load|save)\b", code)


def test_save_and_load_never_call_pickle(tmp_path, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("pickle-based serialisation used")

    for target, name in [(torch, "load"), (torch, "save"), (pickle, "load"), (pickle, "loads"), (pickle, "dumps")]:
        monkeypatch.setattr(target, name, forbidden)
    save_model(_model(0), _card(), tmp_path)
    load_model(tmp_path / "m1.json")


# --------------------------------------------------------------------------- integrity
def test_tampered_weights_raise_integrity_error_and_nothing_loads(tmp_path, monkeypatch):
    save_model(_model(0), _card(), tmp_path)
    weights = tmp_path / "m1.safetensors"
    blob = bytearray(weights.read_bytes())
    blob[len(blob) // 2] ^= 0x01  # one bit inside the tensor data: still parseable safetensors
    weights.write_bytes(bytes(blob))
    built = []
    monkeypatch.setattr(storage, "create_model_from_config", lambda cfg: built.append(cfg))
    with pytest.raises(ModelIntegrityError) as info:
        load_model(tmp_path / "m1.json")
    message = str(info.value)
    assert "'m1'" in message and "sha256 mismatch" in message and "refusing" in message
    assert isinstance(info.value, ModelStorageError)
    assert built == []  # no model was even built


def test_missing_weights_raise_storage_error(tmp_path):
    save_model(_model(0), _card(), tmp_path)
    (tmp_path / "m1.safetensors").unlink()
    with pytest.raises(ModelStorageError, match="'m1'.*cannot read weights") as info:
        load_model(tmp_path / "m1.json")
    assert not isinstance(info.value, ModelIntegrityError)


def test_weights_of_another_model_next_to_old_card_fail_sha_check(tmp_path):
    save_model(_model(0), _card(), tmp_path / "old")
    save_model(_model(1), _card(), tmp_path / "new")
    (tmp_path / "old" / "m1.safetensors").write_bytes((tmp_path / "new" / "m1.safetensors").read_bytes())
    with pytest.raises(ModelIntegrityError):
        load_model(tmp_path / "old" / "m1.json")


def test_unsaved_card_has_no_weights_path():
    with pytest.raises(ModelStorageError, match="not been saved"):
        load_weights(_card())


@pytest.mark.parametrize("text", ["not json", "[]", "null", '"a string"', "{}", '{"id": "x"}',
                                  '{"id": "x", "config": {"arch": "cnn"}}'])
def test_read_card_turns_junk_into_storage_error(tmp_path, text):
    path = tmp_path / "junk.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ModelStorageError, match="junk.json"):
        read_card(path)


# --------------------------------------------------------------------------- atomic save
def _failing_replace(monkeypatch, fail_on_call: int):
    real, calls = os.replace, []

    def replace(src, dst):
        calls.append(dst)
        if len(calls) == fail_on_call:
            raise OSError(28, "No space left on device (simulated)")
        return real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace)
    return calls


def test_failed_weights_write_leaves_previous_model_intact(tmp_path, monkeypatch):
    old = _model(0)
    save_model(old, _card(), tmp_path)
    before = _snapshot(tmp_path)
    calls = _failing_replace(monkeypatch, fail_on_call=1)
    with pytest.raises(OSError, match="simulated"):
        save_model(_model(1), _card(), tmp_path)
    monkeypatch.undo()
    assert len(calls) == 1
    assert _snapshot(tmp_path) == before and _temp_files(tmp_path) == []
    loaded, _ = load_model(tmp_path / "m1.json")
    assert torch.equal(_out(loaded), _out(old))


def test_failed_card_write_never_yields_a_mismatched_pair(tmp_path, monkeypatch):
    old = _model(0)
    save_model(old, _card(), tmp_path)
    card_before = (tmp_path / "m1.json").read_bytes()
    _failing_replace(monkeypatch, fail_on_call=2)
    with pytest.raises(OSError, match="simulated"):
        save_model(_model(1), _card(), tmp_path)
    monkeypatch.undo()
    assert (tmp_path / "m1.json").read_bytes() == card_before and _temp_files(tmp_path) == []
    # The new weights already replaced the old ones: the old card must refuse them, or (with a
    # design that keeps the old weights) load the old model unchanged. Never anything else.
    try:
        loaded, _ = load_model(tmp_path / "m1.json")
    except ModelIntegrityError:
        return
    assert torch.equal(_out(loaded), _out(old))


def test_failed_fsync_removes_temp_file(tmp_path, monkeypatch):
    save_model(_model(0), _card(), tmp_path)
    before = _snapshot(tmp_path)

    def boom(fd):
        raise OSError(5, "I/O error (simulated)")

    monkeypatch.setattr(atomic.os, "fsync", boom)
    with pytest.raises(OSError, match="simulated"):
        save_model(_model(1), _card(), tmp_path)
    monkeypatch.undo()
    assert _snapshot(tmp_path) == before and _temp_files(tmp_path) == []


def test_unserialisable_card_fails_before_any_file_is_written(tmp_path):
    old = _model(0)
    save_model(old, _card(), tmp_path)
    before = _snapshot(tmp_path)
    with pytest.raises(ValueError):  # allow_nan=False: NaN is not JSON
        save_model(_model(1), _card(metrics={"auc": float("nan")}), tmp_path)
    with pytest.raises(ValueError):
        save_model(_model(1), _card("fresh", metrics={"auc": float("nan")}), tmp_path)
    assert _snapshot(tmp_path) == before and _temp_files(tmp_path) == []
    loaded, _ = load_model(tmp_path / "m1.json")
    assert torch.equal(_out(loaded), _out(old))


def test_atomic_write_json_replaces_content_without_temp_files(tmp_path):
    target = tmp_path / "sub" / "x.json"
    atomic_write_json(target, {"a": 1})
    atomic_write_json(target, {"a": 2})
    assert json.loads(target.read_text()) == {"a": 2}
    assert [p.name for p in target.parent.iterdir()] == ["x.json"]


# --------------------------------------------------------------------------- ModelStore
def _write_card(root, model_id: str, task: str = "pneumonia", description: str = "") -> None:
    config = ModelConfig(arch="cnn", task=task, labels=("a", "b"))
    atomic_write_json(root / f"{model_id}.json", _card(model_id, config, description=description).to_dict())


@pytest.fixture
def roots(tmp_path):
    shipped, user = tmp_path / "shipped", tmp_path / "user"
    shipped.mkdir()
    user.mkdir()
    _write_card(shipped, "s-pneu", "pneumonia")
    _write_card(shipped, "s-breast", "breast")
    _write_card(shipped, "dup", "pneumonia", description="shipped")
    _write_card(user, "u-pneu", "pneumonia")
    _write_card(user, "dup", "breast", description="user")
    (user / "notes.json").write_text('{"hello": "world"}', encoding="utf-8")
    (user / "list.json").write_text("[1, 2]", encoding="utf-8")
    (user / "broken.json").write_text("{not json", encoding="utf-8")
    (user / "readme.txt").write_text("not a card", encoding="utf-8")
    return shipped, user


def _ids(cards) -> list[str]:
    return [c.id for c in cards]


def test_store_lists_cards_from_both_roots_skipping_junk(roots):
    store = ModelStore(list(roots))
    assert sorted(_ids(store.cards())) == ["dup", "s-breast", "s-pneu", "u-pneu"]
    assert store.tasks() == ["breast", "pneumonia"]


def test_store_shipped_root_wins_on_id_clash(roots):
    shipped, _ = roots
    store = ModelStore(list(roots))
    dup = store.find("dup")
    assert dup.description == "shipped" and dup.path == shipped / "dup.json"
    assert [c.description for c in store.cards() if c.id == "dup"] == ["shipped"]


def test_store_find_reads_the_models_own_card_alone_and_still_finds_a_renamed_one(roots, monkeypatch):
    shipped, user = roots
    (user / "u-pneu.json").rename(user / "renamed by hand.json")
    read = []
    real_read_card = model_store.read_card
    monkeypatch.setattr(model_store, "read_card", lambda path: read.append(Path(path).name) or real_read_card(path))
    store = ModelStore(list(roots))
    assert store.find("s-breast").path == shipped / "s-breast.json" and read == ["s-breast.json"]
    read.clear()
    assert store.find("u-pneu").path == user / "renamed by hand.json"  # no u-pneu.json: every card read
    assert "renamed by hand.json" in read and len(read) > 1
    with pytest.raises(ModelNotFoundError):
        store.find("nope")


def test_store_filters_by_task_and_never_shows_a_shadowed_model(roots):
    store = ModelStore(list(roots))
    assert sorted(_ids(store.cards("pneumonia"))) == ["dup", "s-pneu", "u-pneu"]
    # The user's "dup" (task breast) is shadowed by the shipped "dup": it must not come back by task.
    assert _ids(store.cards("breast")) == ["s-breast"]
    assert store.cards("unknown-task") == []


def test_store_resolve(roots):
    store = ModelStore(list(roots))
    assert sorted(_ids(store.resolve("all", "pneumonia"))) == ["dup", "s-pneu", "u-pneu"]
    assert sorted(_ids(store.resolve())) == ["dup", "s-breast", "s-pneu", "u-pneu"]
    assert _ids(store.resolve("u-pneu, s-breast")) == ["u-pneu", "s-breast"]
    assert _ids(store.resolve("s-pneu,,")) == ["s-pneu"]
    with pytest.raises(ModelNotFoundError, match="task 'cardio'"):
        store.resolve("all", "cardio")


def test_store_unknown_id_lists_known_ids(roots):
    store = ModelStore(list(roots))
    with pytest.raises(ModelNotFoundError) as info:
        store.resolve("s-pneu,nope")
    message = str(info.value)
    assert "'nope'" in message
    for model_id in ("dup", "s-breast", "s-pneu", "u-pneu"):
        assert model_id in message


def test_store_with_missing_or_empty_roots(tmp_path):
    store = ModelStore([tmp_path / "does-not-exist", tmp_path])
    assert store.cards() == []
    with pytest.raises(ModelNotFoundError, match="none installed"):
        store.find("x")
    with pytest.raises(ModelNotFoundError, match="no models installed"):
        store.resolve("all")


def test_store_loads_a_saved_model(tmp_path):
    old = _model(0)
    save_model(old, _card("real"), tmp_path)
    (card,) = ModelStore([tmp_path]).resolve("real")
    assert torch.equal(_out(load_weights(card)), _out(old))


def test_atomic_writes_make_ordinary_readable_files(tmp_path):
    from meddiag_desktop.core.atomic import atomic_write_bytes

    target = tmp_path / "f.bin"
    atomic_write_bytes(target, b"x")
    assert target.stat().st_mode & 0o777 == 0o644
    target.chmod(0o600)
    atomic_write_bytes(target, b"y")
    assert target.stat().st_mode & 0o777 == 0o600 and target.read_bytes() == b"y"
