"""Shared test helpers: files generated on the fly (no binary blobs in the repository), tensor checks.

Importable from any test: pytest puts this folder on sys.path because tests/conftest.py lives here.
"""
from __future__ import annotations

import io
import os
import shutil
import struct
import zlib

import numpy as np
import pydicom
import torch
from PIL import Image

# pydicom's bundled real DICOMs; never use get_testdata_file for names not in the wheel (network).
DICOM_DIR = os.path.join(os.path.dirname(pydicom.data.__file__), "test_files")


def png_bytes(size: int = 28, seed: int = 0) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 255, (size, size), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def huge_png() -> bytes:
    """A small PNG whose IHDR claims 30000 x 30000 pixels (CRC fixed): a decompression bomb."""
    data = bytearray(png_bytes())
    data[16:24] = struct.pack(">II", 30000, 30000)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def make_scan_folder(root) -> str:
    """Good PNG/JPEG/DICOM (one without suffix), bad files, non-images, hidden files, a link loop."""
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / ".hidden_dir").mkdir()
    (root / "good.png").write_bytes(png_bytes())
    Image.fromarray(np.full((30, 40, 3), 120, np.uint8)).save(root / "sub" / "good.jpg")
    shutil.copy(os.path.join(DICOM_DIR, "CT_small.dcm"), root / "ct.dcm")
    shutil.copy(os.path.join(DICOM_DIR, "CT_small.dcm"), root / "sub" / "deeper" / "ct_no_suffix")
    (root / "truncated.png").write_bytes(png_bytes(64)[:300])
    (root / "empty.png").write_bytes(b"")
    (root / "text.png").write_text("this is not a picture")
    (root / "huge.png").write_bytes(huge_png())
    (root / "notes.txt").write_text("skipped")
    (root / "sub" / "table.csv").write_text("a,b\n1,2\n")
    (root / ".hidden.png").write_bytes(png_bytes())
    (root / ".hidden_dir" / "x.png").write_bytes(png_bytes())
    os.symlink(root, root / "sub" / "loop")  # a loop back to the top
    return str(root)


def assert_close(actual: torch.Tensor, expected: torch.Tensor, atol: float) -> None:
    """Max-abs-error check (torch.testing's first call costs seconds of lazy imports)."""
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    err = (actual - expected).abs().max().item()
    assert err <= atol, f"max abs error {err:.3g} > {atol}"


def save_demo_models(directory, task: str = "demo", labels=("normal", "abnormal"), archs=("cnn", "rnn", "transformer"),
                     **card_fields) -> list:
    """Untrained (demo) models, one per family, saved as ``<task>-<arch>`` in ``directory``."""
    from meddiag_desktop.core.models import ModelConfig, create_model_from_config
    from meddiag_desktop.core.storage import ModelCard, save_model

    cards = []
    for arch in archs:
        torch.manual_seed(0)
        config = ModelConfig(arch=arch, task=task, labels=tuple(labels))
        card = ModelCard(id=f"{task}-{arch}", config=config, demo=True, **card_fields)
        cards.append(save_model(create_model_from_config(config), card, directory))
    return cards


class StubFeatures:
    """Review-queue features from a dict path -> vector (``core.review``'s feature-source protocol)."""
    name = "stub"

    def __init__(self, vectors):
        self.vectors = vectors

    def __call__(self, paths):
        return {p: np.asarray(self.vectors[p], float) for p in paths if p in self.vectors}
