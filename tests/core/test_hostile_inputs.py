"""Hostile inputs (trust-and-safety issue): every file a clinic's folder can throw at us gives a
typed, readable ImageLoadError - or loads, where it legitimately is an image - in ``load_image``,
in ``meddiag predict --json`` and in ``meddiag scan`` (one CSV row per (file, model), exit 0).

All fixtures are generated (a few KB each) in ONE module-scope folder; pydicom's bundled test
files are read from its package folder, never downloaded.
"""
from __future__ import annotations

import csv
import io as stdio
import json
import os
import shutil
import struct
import zlib

import numpy as np
import pydicom
import pydicom.data
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.pixels import get_decoder
from pydicom.uid import JPEG2000Lossless

from meddiag_desktop.cli import main
from meddiag_desktop.core import scan_decode
from meddiag_desktop.core.io import sniff
from meddiag_desktop.core.io import (
    EmptyFileError,
    ImageLoadError,
    ImageTooLargeError,
    NotAnImageError,
    TruncatedFileError,
    UnreadableFileError,
    UnsupportedImageError,
    load_image,
)

DICOM_DIR = os.path.join(os.path.dirname(pydicom.data.__file__), "test_files")
MODEL = "pneumonia-cnn"  # shipped weights, the fastest family
OK = None  # expected outcome: loads fine
BAD_NAME = b"bad\xff.png"  # not valid UTF-8: only representable as bytes on Linux


def dcm(name: str) -> str:
    return os.path.join(DICOM_DIR, name)


def _png_bytes(pixels, mode=None) -> bytes:
    buf = stdio.BytesIO()
    (pixels if isinstance(pixels, Image.Image) else Image.fromarray(pixels, mode)).save(buf, "PNG")
    return buf.getvalue()


def _png_claiming(width: int, height: int) -> bytes:
    """A 1x1 PNG whose IHDR claims width x height (CRC fixed, so it parses as a valid header)."""
    data = bytearray(_png_bytes(np.zeros((1, 1), np.uint8)))
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def _edited_dicom(src: str, dst: str, edit) -> None:
    ds = pydicom.dcmread(dcm(src))
    edit(ds)
    ds.save_as(dst)


def _broken_voi(ds) -> None:
    del ds.WindowCenter, ds.WindowWidth
    item = Dataset()
    item.add_new("LUTDescriptor", "US", [4, 0, 7])  # LUT without LUTData
    ds.VOILUTSequence = [item]


# name -> (expected error class or OK, substring of the reason)
EXPECTED: dict[str, tuple[type | None, str]] = {
    "zero.png": (EmptyFileError, "empty file"),
    "zero.dcm": (EmptyFileError, "empty file"),
    "trunc.png": (TruncatedFileError, "truncated"),
    "trunc.jpg": (TruncatedFileError, "truncated"),
    "trunc.dcm": (TruncatedFileError, "truncated"),
    "random.png": (NotAnImageError, "not an image"),
    "random.jpg": (NotAnImageError, "not an image"),
    "random.dcm": (NotAnImageError, "not an image"),
    "random.tif": (NotAnImageError, "not an image"),
    "text.png": (NotAnImageError, "not an image"),
    "fake_magic.png": (ImageLoadError, ""),  # PNG signature, garbage after it
    "bomb.png": (ImageTooLargeError, "image too large"),
    "one.png": (OK, ""),
    "wide.png": (OK, ""),
    "tall.png": (OK, ""),
    "u16.tif": (OK, ""),
    "f32.tif": (OK, ""),
    "nan_inf.tif": (OK, ""),
    "all_nan.tif": (OK, ""),
    "nopixels.dcm": (NotAnImageError, "no pixel data"),
    "broken_voi.dcm": (OK, ""),
    "nodecoder.dcm": (UnsupportedImageError, "no decoder for JPEG 2000"),
    "multiframe.dcm": (OK, ""),
    "multiframe.tif": (OK, ""),
    "palette.png": (OK, ""),
    "palette.gif": (OK, ""),
    "locked.png": (UnreadableFileError, "permission denied"),
    os.fsdecode(BAD_NAME): (OK, ""),
}
SKIPPED_BY_WALK = ("notes.txt",)  # not an image and no image suffix: counted, not a row


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory):
    """ONE folder (its name free of anything interesting) with every hostile file."""
    root = tmp_path_factory.mktemp("hostile")
    rng = np.random.default_rng(1234)
    noise = rng.integers(0, 256, (48, 48), dtype=np.uint8)

    def put(name: str, data: bytes) -> None:
        (root / name).write_bytes(data)

    put("zero.png", b"")
    put("zero.dcm", b"")
    png = _png_bytes(noise)
    put("trunc.png", png[: len(png) // 2])
    buf = stdio.BytesIO()
    Image.fromarray(noise).save(buf, "JPEG", quality=90)
    put("trunc.jpg", buf.getvalue()[: len(buf.getvalue()) // 2])
    ct = open(dcm("CT_small.dcm"), "rb").read()
    put("trunc.dcm", ct[: len(ct) // 2])
    for suffix in ("png", "jpg", "dcm", "tif"):
        put(f"random.{suffix}", rng.integers(0, 256, 2048, dtype=np.uint8).tobytes())
    put("text.png", "Patient list\nnot an image at all\n".encode())
    put("notes.txt", b"just notes")
    put("fake_magic.png", b"\x89PNG\r\n\x1a\n" + rng.integers(0, 256, 512, dtype=np.uint8).tobytes())
    put("bomb.png", _png_claiming(30_000, 30_000))
    put("one.png", _png_bytes(np.full((1, 1), 200, np.uint8)))
    put("wide.png", _png_bytes(rng.integers(0, 256, (1, 10_000), dtype=np.uint8)))
    put("tall.png", _png_bytes(rng.integers(0, 256, (10_000, 1), dtype=np.uint8)))
    Image.fromarray((np.arange(32 * 32, dtype=np.uint16) * 60).reshape(32, 32)).save(root / "u16.tif")
    Image.fromarray(rng.normal(size=(32, 32)).astype(np.float32), "F").save(root / "f32.tif")
    weird = rng.normal(size=(16, 16)).astype(np.float32)
    weird[0, 0], weird[1, 1], weird[2, 2] = np.nan, np.inf, -np.inf
    Image.fromarray(weird, "F").save(root / "nan_inf.tif")
    Image.fromarray(np.full((8, 8), np.nan, np.float32), "F").save(root / "all_nan.tif")
    shutil.copy(dcm("rtplan.dcm"), root / "nopixels.dcm")
    _edited_dicom("MR_small.dcm", str(root / "broken_voi.dcm"), _broken_voi)
    shutil.copy(dcm("MR_small_jp2klossless.dcm"), root / "nodecoder.dcm")
    shutil.copy(dcm("SC_rgb_rle_2frame.dcm"), root / "multiframe.dcm")
    frames = [Image.fromarray(np.full((8, 8), v, np.uint8)) for v in (10, 100, 250)]
    frames[0].save(root / "multiframe.tif", save_all=True, append_images=frames[1:])
    palette = Image.new("P", (6, 4))
    palette.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * 759)
    palette.putpixel((1, 1), 1)
    palette.putpixel((2, 2), 2)
    palette.save(root / "palette.png")
    palette.save(root / "palette.gif")
    put("locked.png", png)  # readable on disk; "denied" by the ``hostile_env`` fixture
    with open(os.path.join(os.fsencode(root), BAD_NAME), "wb") as f:
        f.write(png)
    os.mkdir(root / "x.png")  # a directory with an image suffix
    assert set(EXPECTED) | set(SKIPPED_BY_WALK) | {"x.png"} == set(os.listdir(root))
    return root


@pytest.fixture
def hostile_env(monkeypatch):
    """No JPEG 2000 decoder (as tests/core/test_io.py does) and ``locked.png`` unreadable: the
    tests run as root, who can read a chmod 000 file, so ``open`` is denied instead where core opens
    image files (core.io.sniff, and core.scan_decode, which reads a scanned file once)."""
    monkeypatch.setattr(get_decoder(JPEG2000Lossless), "_available", {})
    real_open = open

    def guarded_open(file, *args, **kwargs):
        if os.fsdecode(file).endswith("locked.png"):
            raise PermissionError(13, "Permission denied")
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(sniff, "open", guarded_open, raising=False)
    monkeypatch.setattr(scan_decode, "open", guarded_open, raising=False)  # a scan reads each file once, there


def _check_error_text(name: str, reason: str, expected: tuple) -> None:
    kind, snippet = expected
    assert reason and snippet in reason, (name, reason)
    assert name not in reason and os.sep not in reason, f"path in reason: {reason!r}"
    assert "Traceback" not in reason and len(reason) < 120


# ------------------------------------------------------------------- load_image
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_load_image_typed_error_or_valid_image(hostile_dir, hostile_env, name):
    path = str(hostile_dir / name)
    kind, snippet = EXPECTED[name]
    if kind is OK:
        img = load_image(path)
        assert img.array.dtype == np.float32 and img.array.ndim in (2, 3)
        assert np.isfinite(img.array).all() and 0.0 <= img.array.min() <= img.array.max() <= 1.0
        assert np.isfinite(img.raw).all() and img.raw.shape == img.array.shape[:2]
        return
    with pytest.raises(ImageLoadError) as info:
        load_image(path)
    assert isinstance(info.value, kind), (name, type(info.value), str(info.value))
    _check_error_text(name, str(info.value), EXPECTED[name])
    assert info.value.path == path


def test_specific_outcomes(hostile_dir, hostile_env):
    assert load_image(hostile_dir / "one.png").array.shape == (1, 1)
    assert load_image(hostile_dir / "wide.png").array.shape == (1, 10_000)
    assert load_image(hostile_dir / "broken_voi.dcm").meta.window is None  # fell back to min..max
    multi = load_image(hostile_dir / "multiframe.dcm")
    assert (multi.meta.n_frames, multi.meta.frame_index) == (2, 1)
    assert load_image(hostile_dir / "multiframe.tif").meta.n_frames == 3
    assert load_image(hostile_dir / "palette.png").array.shape == (4, 6, 3)
    assert load_image(hostile_dir / "u16.tif").meta.bit_depth == 16
    nan = load_image(hostile_dir / "nan_inf.tif")
    assert nan.array.min() == 0.0 and nan.array.max() == 1.0
    assert not load_image(hostile_dir / "all_nan.tif").array.any()
    assert "900,000,000 pixels" in str(pytest.raises(ImageTooLargeError, load_image, hostile_dir / "bomb.png").value)
    # bytes paths work too, and the directory with an image suffix is a typed error
    assert load_image(os.path.join(os.fsencode(hostile_dir), BAD_NAME)).array.shape == (48, 48)
    err = pytest.raises(UnreadableFileError, load_image, hostile_dir / "x.png").value
    assert str(err) == "is a directory"


# ---------------------------------------------------------------------- predict
def test_predict_json_gives_one_record_per_file(hostile_dir, hostile_env, capsys):
    files = [str(hostile_dir / n) for n in sorted(EXPECTED)] + [str(hostile_dir / "x.png"),
                                                                 str(hostile_dir / "notes.txt")]
    code = main(["predict", *files, "--model", MODEL, "--json", "--device", "cpu"])
    out, err = capsys.readouterr()
    assert code == 0, err
    records = json.loads(out)
    assert [r["path"] for r in records] == files  # one model: one record per file, in order
    expected = {**EXPECTED, "x.png": (UnreadableFileError, "is a directory"),
                "notes.txt": (NotAnImageError, "not an image")}
    for record in records:
        name = os.path.basename(record["path"])
        assert record["model"] == MODEL
        if expected[name][0] is OK:
            assert record["status"] == "ok" and record["error"] is None, record
            assert sum(record["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
        else:
            assert record["status"] == "error" and record["label"] is None, record
            _check_error_text(name, record["error"], expected[name])
    n_ok = sum(kind is OK for kind, _ in expected.values())
    assert f"{n_ok} file(s) predicted, {len(files) - n_ok} unreadable" in err


# ------------------------------------------------------------------------- scan
def _scan_and_check(folder, names, tmp_path, capsys) -> None:
    out_csv = tmp_path / "scan.csv"
    code = main(["scan", str(folder), "--out", str(out_csv), "--model", MODEL, "--device", "cpu",
                 "--batch-size", "4"])
    err = capsys.readouterr().err
    assert code == 0, err
    with open(out_csv, newline="", encoding="utf-8") as f:  # the CSV stays valid UTF-8 ...
        rows = list(csv.DictReader(f))
    found = [os.path.basename(r["path"]) for r in rows]
    escaped = {n.encode("utf-8", "backslashreplace").decode(): n for n in names}  # ... with escaped odd names
    assert sorted(found) == sorted(escaped), "exactly one row per image-candidate file (one model)"
    found = [escaped[n] for n in found]
    for row, name in zip(rows, found):
        assert row["model"] == MODEL
        if EXPECTED[name][0] is OK:
            assert row["status"] == "ok" and row["error"] == "", row
            if row["in_distribution"] == "no":  # refused as unlike the training data: no label at all
                assert row["label"] == row["probability"] == "" and float(row["ood_score"]) > 1, row
            else:
                assert row["label"] and 0 <= float(row["probability"]) <= 1, row
        else:
            assert row["status"] == "error" and row["label"] == "" and row["probability"] == "", row
            _check_error_text(name, row["error"], EXPECTED[name])
    n_ok = sum(EXPECTED[name][0] is OK for name in names)
    assert f"scanned {len(names)} files: {n_ok} ok, {len(names) - n_ok} errors, 1 non-image skipped" in err


def test_scan_csv_one_row_per_candidate_and_exit_0(hostile_dir, hostile_env, tmp_path, capsys):
    """Every hostile file but the non-UTF-8 name (tested on its own below): exit 0, one row each."""
    folder = tmp_path / "copy"
    shutil.copytree(hostile_dir, folder, ignore=lambda _d, names: [n for n in names if n == os.fsdecode(BAD_NAME)])
    _scan_and_check(folder, [n for n in EXPECTED if n != os.fsdecode(BAD_NAME)], tmp_path, capsys)


def test_scan_survives_a_non_utf8_file_name(hostile_dir, hostile_env, tmp_path, capsys):
    _scan_and_check(hostile_dir, list(EXPECTED), tmp_path, capsys)


# ------------------------------------------------------------------- properties
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=512), suffix=st.sampled_from([".png", ".jpg", ".dcm", ".tif", ""]))
def test_random_bytes_never_escape(tmp_path, data, suffix):
    path = tmp_path / f"blob{suffix}"
    path.write_bytes(data)
    _load_finite_or_typed_error(path)


_DTYPES = st.sampled_from([np.uint8, np.uint16, np.int32, np.float32, np.bool_])


def _elements(dtype):
    # torch enables flush-to-zero, so hypothesis cannot draw subnormal floats; NaN/inf stay in
    return st.floats(width=32, allow_subnormal=False) if dtype == np.float32 else None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(array=_DTYPES.flatmap(lambda dt: hnp.arrays(dt, hnp.array_shapes(min_dims=2, max_dims=2, max_side=12),
                                                   elements=_elements(dt))),
       fmt=st.sampled_from(["PNG", "TIFF"]), cut=st.one_of(st.none(), st.integers(0, 99)))
def test_random_small_arrays_saved_as_images(tmp_path, array, fmt, cut):
    try:
        img = Image.fromarray(array)
        buf = stdio.BytesIO()
        img.save(buf, fmt)
    except (TypeError, ValueError, OSError, KeyError):
        return  # a mode this format cannot store: nothing to load
    data = buf.getvalue()
    if cut is not None:
        data = data[: len(data) * cut // 100]
    path = tmp_path / f"a.{fmt.lower()}"
    path.write_bytes(data)
    loaded = _load_finite_or_typed_error(path)
    if loaded is not None and cut is None:
        assert loaded.array.shape[:2] == array.shape


def _load_finite_or_typed_error(path):
    try:
        img = load_image(path)
    except ImageLoadError as err:
        assert str(err) and os.sep not in str(err)
        return None
    assert img.array.dtype == np.float32
    assert np.isfinite(img.array).all()
    assert img.array.size == 0 or 0.0 <= img.array.min() <= img.array.max() <= 1.0
    return img
