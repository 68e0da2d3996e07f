"""Data sources (npz, ImageFolder, CSV), manifests, stratified split, augmentation."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from meddiag_desktop.core.data import (
    BatchAugment, DatasetError, TensorDataset, batch_loader, load_csv, load_folder, load_npz, open_dataset, stratified_split,
)
from meddiag_desktop.core.models import ModelConfig
from meddiag_desktop.core.preprocess import preprocess

CONFIG = ModelConfig(arch="cnn", task="toy", labels=("a", "b"))


def make_folder(root, counts={"cats": 3, "dogs": 5}):
    for name, n in counts.items():
        (root / name / "nested").mkdir(parents=True)
        for i in range(n):
            sub = root / name / ("nested" if i % 2 else "")
            Image.fromarray(np.full((20, 30), 40 * i, np.uint8)).save(sub / f"{i}.png")
    return root


def test_npz_split_selection_and_manifest(tiny_npz):
    train, val = load_npz(tiny_npz, "train", ["a", "b"]), load_npz(tiny_npz, "val")
    assert len(train) == 64 and len(val) == 32 and train.label_names == ("a", "b")
    assert train.class_counts() == {"a": 32, "b": 32}
    assert len(train.manifest["sha256"]) == 64 and train.manifest["split"] == "train"
    assert load_npz(tiny_npz, "test").manifest["n"] == 16
    with pytest.raises(DatasetError, match="no 'nope' split"):
        load_npz(tiny_npz, "nope")


def test_image_folder_layout_hashes_every_file_and_skips_junk(tmp_path):
    root = make_folder(tmp_path / "data")
    (root / "cats" / "notes.txt").write_text("not an image")
    (root / "cats" / ".hidden.png").write_bytes(b"\x89PNG junk")
    data = load_folder(root)
    assert data.label_names == ("cats", "dogs") and data.class_counts() == {"cats": 3, "dogs": 5}
    files = data.manifest["files"]
    assert len(files) == 8 and all(len(f["sha256"]) == 64 for f in files)
    assert {f["label"] for f in files} == {"cats", "dogs"}
    assert data.array(0).dtype == np.float32


def test_csv_source_relative_paths(tmp_path):
    make_folder(tmp_path / "imgs")
    (tmp_path / "labels.csv").write_text("path,label\nimgs/cats/0.png,neg\nimgs/dogs/0.png,pos\nimgs/dogs/nested/1.png,pos\n")
    data = open_dataset(tmp_path / "labels.csv")
    assert data.label_names == ("neg", "pos") and list(data.labels) == [0, 1, 1]
    (tmp_path / "bad.csv").write_text("file,class\nx,y\n")
    with pytest.raises(DatasetError, match="'path' and 'label'"):
        load_csv(tmp_path / "bad.csv")


def test_stratified_split_keeps_class_proportions():
    labels = np.array([0] * 80 + [1] * 20)
    train, val = stratified_split(labels, 0.25, seed=1)
    assert set(train).isdisjoint(val) and len(train) + len(val) == 100
    assert np.bincount(labels[val]).tolist() == [20, 5]
    assert np.array_equal(stratified_split(labels, 0.25, seed=1)[1], val)


def test_subset_manifest_records_indices(tiny_npz):
    data = load_npz(tiny_npz, "train")
    sub = data.subset([0, 1, 2, 3], "val")
    assert len(sub) == 4 and sub.manifest["part"] == "val" and len(sub.manifest["indices_sha256"]) == 64


def test_dataset_uses_the_predictor_preprocessing_and_drops_bad_files(tmp_path):
    root = make_folder(tmp_path / "data")
    (root / "dogs" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    data = load_folder(root, hash_files=False)
    ds = TensorDataset(data, CONFIG)
    assert len(ds) == 8 and len(ds.errors) == 1 and "broken.png" in ds.errors[0][0]
    x, y = ds[0]
    assert torch.allclose(x, preprocess(data.array(0), CONFIG))


def test_augmentation_changes_pixels_but_keeps_shape_and_range():
    torch.manual_seed(0)
    x = torch.rand(4, 1, 28, 28)
    out = BatchAugment()(x)
    assert out.shape == x.shape and not torch.equal(out, x)
    assert out.min() >= 0 and out.max() <= 1


def test_augmentation_draws_its_own_transform_for_every_image_in_the_batch():
    torch.manual_seed(0)
    image = torch.zeros(1, 1, 28, 28)
    image[..., 8:20, 10:18] = 0.8  # an off-centre block: rotation / shift / zoom move its edges
    out = BatchAugment()(image.repeat(8, 1, 1, 1))
    assert len({tuple(o.flatten().tolist()) for o in out}) == 8
    assert ((out - image).abs().amax(dim=(1, 2, 3)) > 0.05).all()


def test_augmentation_at_zero_strength_is_the_identity():
    x = torch.rand(3, 1, 28, 28)
    assert torch.equal(BatchAugment(strength=0.0)(x), x)


def test_batch_loader_fetches_each_batch_in_one_call(tmp_path):
    ds = TensorDataset(load_folder(make_folder(tmp_path / "data"), hash_files=False), CONFIG)
    calls = []
    original = ds.__getitems__
    ds.__getitems__ = lambda indices: calls.append(list(indices)) or original(indices)
    batches = list(batch_loader(ds, 3))
    assert [len(y) for _, y in batches] == [3, 3, 2] and calls == [[0, 1, 2], [3, 4, 5], [6, 7]]
    x, y = batches[0]
    assert torch.equal(x[1], ds[1][0]) and y[1] == ds[1][1]
