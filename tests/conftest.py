"""Shared fixtures: every test gets its own empty user folder (never the real home)."""
from __future__ import annotations

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """2 shared cores: torch's OpenMP pool only adds contention to these tiny models (and to the
    scanner's decode threads)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("meddiag_home")
    monkeypatch.setenv("MEDDIAG_HOME", str(home))
    return home


@pytest.fixture
def tiny_npz(tmp_path):
    """A MedMNIST-style npz whose two classes differ visibly (bright blob vs none)."""
    rng = np.random.default_rng(0)

    def split(n):
        labels = np.arange(n) % 2
        images = rng.integers(0, 60, size=(n, 28, 28)).astype(np.uint8)
        images[labels == 1, 8:20, 8:20] += 150
        return images, labels.reshape(-1, 1).astype(np.uint8)

    path = tmp_path / "tiny.npz"
    (xt, yt), (xv, yv) = split(64), split(32)
    np.savez(path, train_images=xt, train_labels=yt, val_images=xv, val_labels=yv, test_images=xv[:16],
             test_labels=yv[:16])
    return path
