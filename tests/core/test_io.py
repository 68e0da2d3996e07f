"""Tests for meddiag_desktop.core.io: every fixture is generated in tmp_path or
taken from pydicom's bundled test files (read directly, never downloaded)."""

from __future__ import annotations

import io as stdio
import logging
import os
import pickle
import shutil
import struct
import zlib
from dataclasses import FrozenInstanceError
from pathlib import Path

import numpy as np
import pydicom
import pydicom.data
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.pixels import convert_color_space, get_decoder
from pydicom.uid import JPEG2000Lossless

from meddiag_desktop.core import io as mio
from meddiag_desktop.core.io import dicom, raster, sniff
from meddiag_desktop.core.io import (
    MAX_PIXELS,
    EmptyFileError,
    ImageLoadError,
    ImageMeta,
    ImageTooLargeError,
    NotAnImageError,
    TruncatedFileError,
    UnreadableFileError,
    UnsupportedImageError,
    load_image,
    sniff_format,
)

DICOM_DIR = os.path.join(os.path.dirname(pydicom.data.__file__), "test_files")
SECRETS = ("MARKER^SECRET", "ID-SECRET-123", "19010101", "MARKER", "SECRET")


def dcm(name: str) -> str:
    return os.path.join(DICOM_DIR, name)


def save(path, pixels, mode=None, **kwargs) -> str:
    img = pixels if isinstance(pixels, Image.Image) else Image.fromarray(pixels, mode)
    img.save(path, **kwargs)
    return str(path)


def edited_dicom(src: str, dst, edit) -> str:
    """Copy a bundled DICOM file after applying ``edit(ds)``."""
    ds = pydicom.dcmread(dcm(src))
    edit(ds)
    ds.save_as(dst)
    return str(dst)


def expect_error(exc_type, reason, path, **kwargs) -> ImageLoadError:
    with pytest.raises(exc_type) as info:
        load_image(path, **kwargs)
    err = info.value
    assert type(err) is exc_type
    assert str(err) == err.reason
    assert reason in err.reason
    assert err.path == os.fspath(path)
    assert os.path.basename(os.fspath(path)) not in str(err)
    return err


@pytest.fixture
def ramp8():
    return np.tile(np.arange(0, 256, 4, dtype=np.uint8), (16, 1))  # 16 x 64


# ------------------------------------------------------------------ Pillow
def test_png_8bit_grey(tmp_path, ramp8):
    img = load_image(save(tmp_path / "g.png", ramp8))
    assert img.array.dtype == np.float32 and img.array.shape == (16, 64)
    np.testing.assert_allclose(img.array, ramp8 / 255.0, atol=1e-6)
    np.testing.assert_array_equal(img.raw, ramp8.astype(np.float32))
    m = img.meta
    assert (m.format, m.width, m.height, m.channels, m.bit_depth, m.photometric) == (
        "png", 64, 16, 1, 8, "L")
    assert m.modality is None and m.window is None and m.n_frames == 1


def test_png_16bit_grey_scaled_by_min_max(tmp_path):
    pixels = np.array([[1000, 2000], [3000, 5000]], dtype=np.uint16)
    img = load_image(save(tmp_path / "g16.png", pixels))
    assert img.meta.bit_depth == 16 and img.meta.photometric == "I;16"
    np.testing.assert_allclose(img.array, [[0, 0.25], [0.5, 1]], atol=1e-6)
    np.testing.assert_array_equal(img.raw, pixels)


def test_constant_16bit_image_gives_zeros(tmp_path):
    img = load_image(save(tmp_path / "c.png", np.full((4, 4), 777, np.uint16)))
    assert not img.array.any()


def test_png_rgb_and_rgba_drop_alpha(tmp_path):
    rgb = np.random.default_rng(1).integers(0, 256, (8, 9, 3), dtype=np.uint8)
    rgba = np.dstack([rgb, np.full((8, 9), 7, np.uint8)])
    for name, pixels in (("rgb.png", rgb), ("rgba.png", rgba)):
        img = load_image(save(tmp_path / name, pixels))
        assert img.array.shape == (8, 9, 3) and img.meta.channels == 3
        np.testing.assert_allclose(img.array, rgb / 255.0, atol=1e-6)
        lum = rgb @ np.array([0.299, 0.587, 0.114])
        np.testing.assert_allclose(img.raw, lum, atol=1e-3)
    assert load_image(tmp_path / "rgba.png").meta.photometric == "RGBA"


def test_la_image_drops_alpha(tmp_path, ramp8):
    la = Image.merge("LA", [Image.fromarray(ramp8), Image.new("L", (64, 16), 3)])
    img = load_image(save(tmp_path / "la.png", la))
    np.testing.assert_allclose(img.array, ramp8 / 255.0, atol=1e-6)


def test_palette_grey_becomes_grey_and_colour_becomes_rgb(tmp_path, ramp8):
    grey = Image.fromarray(ramp8).convert("P")  # web palette keeps greys exact
    assert grey.mode == "P"
    img = load_image(save(tmp_path / "pg.png", grey))
    assert img.array.ndim == 2 and img.meta.channels == 1 and img.meta.photometric == "P"
    np.testing.assert_allclose(img.array, np.asarray(grey.convert("L")) / 255.0, atol=1e-6)

    colour = Image.new("P", (3, 2))
    colour.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    colour.putpixel((1, 0), 1)
    img = load_image(save(tmp_path / "pc.png", colour))
    assert img.array.shape == (2, 3, 3)
    np.testing.assert_allclose(img.array[0, 0], [1, 0, 0])
    np.testing.assert_allclose(img.array[0, 1], [0, 1, 0])


def test_one_bit_and_cmyk(tmp_path):
    bits = np.zeros((3, 5), bool)
    bits[1, 2] = True
    img = load_image(save(tmp_path / "b.png", Image.fromarray(bits).convert("1")))
    assert img.meta.bit_depth == 1 and img.meta.photometric == "1"
    np.testing.assert_array_equal(img.array, bits)
    cmyk = load_image(save(tmp_path / "c.jpg", Image.new("CMYK", (4, 4), (0, 255, 255, 0))))
    assert cmyk.meta.photometric == "CMYK" and cmyk.array.shape == (4, 4, 3)
    np.testing.assert_allclose(cmyk.array[0, 0], [1, 0, 0], atol=0.02)


def test_jpeg_bmp_gif_webp_ppm_jpeg2000(tmp_path, ramp8):
    rgb = np.dstack([ramp8] * 3)
    cases = {"jpeg": ("a.jpg", {"quality": 95}), "bmp": ("a.bmp", {}), "gif": ("a.gif", {}),
             "webp": ("a.webp", {"lossless": True}), "ppm": ("a.pgm", {}),
             "jpeg2000": ("a.jp2", {"irreversible": False})}
    for fmt, (name, kwargs) in cases.items():
        img = load_image(save(tmp_path / name, ramp8, **kwargs))
        assert img.meta.format == fmt
        np.testing.assert_allclose(img.array.reshape(16, 64, -1)[..., 0], ramp8 / 255.0,
                                   atol=0.03)
    img = load_image(save(tmp_path / "c.jpg", rgb, quality=95))
    assert img.array.shape == (16, 64, 3)


def test_tiff_8_16_and_float(tmp_path, ramp8):
    np.testing.assert_allclose(load_image(save(tmp_path / "a.tif", ramp8)).array, ramp8 / 255.0)
    img16 = load_image(save(tmp_path / "b.tif", ramp8.astype(np.uint16) * 100))
    assert img16.meta.bit_depth == 16 and img16.meta.format == "tiff"
    np.testing.assert_allclose(img16.array, ramp8 / 252.0, atol=1e-6)
    floats = np.linspace(-1, 3, 64 * 16, dtype=np.float32).reshape(16, 64)
    imgf = load_image(save(tmp_path / "f.tif", floats))
    assert imgf.meta.photometric == "F" and imgf.meta.bit_depth == 32
    np.testing.assert_allclose(imgf.array, (floats + 1) / 4, atol=1e-6)
    np.testing.assert_allclose(imgf.raw, floats)


def test_float_tiff_nan_inf_become_finite(tmp_path):
    floats = np.array([[np.nan, 0.0, 1.0], [2.0, np.inf, -np.inf]], dtype=np.float32)
    img = load_image(save(tmp_path / "nan.tif", floats))
    assert np.isfinite(img.array).all() and np.isfinite(img.raw).all()
    np.testing.assert_allclose(img.array, [[0, 0, 0.5], [1, 1, 0]])
    all_nan = load_image(save(tmp_path / "allnan.tif", np.full((2, 2), np.nan, np.float32)))
    assert np.isfinite(all_nan.array).all() and not all_nan.array.any()


@pytest.mark.parametrize("shape", [(1, 1), (1, 10000), (10000, 1)])
def test_degenerate_sizes(tmp_path, shape):
    img = load_image(save(tmp_path / "s.png", np.full(shape, 200, np.uint8)))
    assert img.array.shape == shape and (img.meta.height, img.meta.width) == shape


def test_exif_orientation_applied(tmp_path):
    pixels = np.zeros((2, 4), np.uint8)
    pixels[0, 0] = 255
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise for display
    img = load_image(save(tmp_path / "o.png", pixels, exif=exif))
    assert img.array.shape == (4, 2) and img.array[0, 1] == 1.0


def test_multiframe_gif_middle_frame_and_override(tmp_path):
    frames = [Image.new("L", (4, 4), v) for v in (0, 100, 200)]
    path = str(tmp_path / "anim.gif")
    frames[0].save(path, save_all=True, append_images=frames[1:])
    img = load_image(path)
    assert img.meta.n_frames == 3 and img.meta.frame_index == 1
    assert img.array[0, 0] == pytest.approx(100 / 255)
    assert load_image(path, frame=2).array[0, 0] == pytest.approx(200 / 255)
    expect_error(ImageLoadError, "frame 3 out of range", path, frame=3)


# ------------------------------------------------------------------- DICOM
def test_ct_rescale_to_hounsfield():
    img = load_image(dcm("CT_small.dcm"))
    m = img.meta
    assert (m.format, m.modality, m.photometric, m.bit_depth) == ("dicom", "CT", "MONOCHROME2", 16)
    assert (m.width, m.height, m.channels) == (128, 128, 1)
    assert m.pixel_spacing == pytest.approx((0.661468, 0.661468))
    assert m.transfer_syntax == "Explicit VR Little Endian"
    stored = pydicom.dcmread(dcm("CT_small.dcm")).pixel_array
    np.testing.assert_array_equal(img.raw, stored.astype(np.float32) - 1024)  # slope 1
    assert img.raw.min() < 0 and img.array.min() == 0 and img.array.max() == 1


def test_mr_window_applied_and_compressed_twins_match():
    ref = load_image(dcm("MR_small.dcm"))
    assert ref.meta.window == (600.0, 1600.0)
    raw = ref.raw
    lo, hi = 600 - 0.5 - 1599 / 2, 600 - 0.5 + 1599 / 2
    expected = np.clip((raw - lo) / (hi - lo), 0, 1)
    np.testing.assert_allclose(ref.array, expected, atol=1e-4)
    for name in ("MR_small_RLE.dcm", "MR_small_jp2klossless.dcm",
                 "MR_small_jpeg_ls_lossless.dcm", "MR_small_bigendian.dcm",
                 "MR_small_implicit.dcm"):
        np.testing.assert_array_equal(load_image(dcm(name)).array, ref.array, err_msg=name)


def test_window_from_edited_copy_clips(tmp_path):
    def window(ds):
        ds.WindowCenter, ds.WindowWidth = 40, 400
    img = load_image(edited_dicom("CT_small.dcm", tmp_path / "w.dcm", window))
    assert img.meta.window == (40.0, 400.0)
    assert (img.array[img.raw <= -160.5] == 0).all() and (img.array[img.raw > 239] == 1).all()
    inside = (img.raw > -150) & (img.raw < 230)
    assert inside.any()
    np.testing.assert_allclose(img.array[inside], (img.raw[inside] + 160) / 400, atol=0.01)


def test_imager_pixel_spacing_fallback(tmp_path):
    def imager(ds):
        del ds.PixelSpacing
        ds.ImagerPixelSpacing = [0.2, 0.3]
    img = load_image(edited_dicom("CT_small.dcm", tmp_path / "s.dcm", imager))
    assert img.meta.pixel_spacing == (0.2, 0.3)


def test_voi_lut_sequence_applied(tmp_path):
    def lut(ds):
        del ds.WindowCenter, ds.WindowWidth
        item = Dataset()
        item.add_new("LUTDescriptor", "US", [2048, 0, 16])
        item.add_new("LUTData", "US", list(range(0, 2048 * 16, 16)))
        ds.VOILUTSequence = [item]
    img = load_image(edited_dicom("MR_small.dcm", tmp_path / "lut.dcm", lut))
    np.testing.assert_allclose(img.array, np.minimum(img.raw, 2047) / 2047, atol=1e-6)
    assert img.meta.window == (1024.0, 2048.0)


@pytest.mark.parametrize("breakage", ["zero_width", "bad_lut_bits", "lut_without_data"])
def test_broken_voi_falls_back_to_min_max(tmp_path, breakage):
    def edit(ds):
        if breakage == "zero_width":
            ds.WindowWidth = 0
            return
        item = Dataset()
        item.add_new("LUTDescriptor", "US", [4, 0, 7])
        if breakage == "bad_lut_bits":
            item.add_new("LUTData", "US", [0, 1, 2, 3])
        del ds.WindowCenter, ds.WindowWidth
        ds.VOILUTSequence = [item]
    img = load_image(edited_dicom("MR_small.dcm", tmp_path / "b.dcm", edit))
    assert img.meta.window is None
    raw = img.raw
    np.testing.assert_allclose(img.array, (raw - raw.min()) / (raw.max() - raw.min()), atol=1e-6)


def test_monochrome1_is_inverted(tmp_path):
    def mono1(ds):
        ds.PhotometricInterpretation = "MONOCHROME1"
    mono2 = load_image(dcm("CT_small.dcm"))
    img = load_image(edited_dicom("CT_small.dcm", tmp_path / "m1.dcm", mono1))
    assert img.meta.photometric == "MONOCHROME1"
    np.testing.assert_allclose(img.array, 1 - mono2.array, atol=1e-6)
    np.testing.assert_array_equal(img.raw, mono2.raw)  # raw is never inverted


def test_rgb_dicom():
    img = load_image(dcm("SC_rgb_rle.dcm"))
    assert img.array.shape == (100, 100, 3) and img.meta.photometric == "RGB"
    expected = pydicom.dcmread(dcm("SC_rgb_rle.dcm")).pixel_array / 255.0
    np.testing.assert_allclose(img.array, expected, atol=1e-6)


def test_ybr_422_matches_rgb_twin_converted_once():
    ybr = load_image(dcm("SC_ybr_full_422_uncompressed.dcm"))
    rgb = load_image(dcm("SC_rgb_rle.dcm"))
    assert ybr.meta.photometric == "YBR_FULL_422" and ybr.array.shape == (100, 100, 3)
    assert np.abs(ybr.array - rgb.array).mean() < 3 / 255
    assert np.abs(ybr.array - rgb.array).max() <= 7 / 255


def test_ybr_full_made_from_rgb_copy(tmp_path):
    def to_ybr(ds):
        ybr = convert_color_space(ds.pixel_array, "RGB", "YBR_FULL")
        ds.PixelData = np.ascontiguousarray(ybr).tobytes()
        ds.PhotometricInterpretation = "YBR_FULL"
    rgb = load_image(dcm("examples_rgb_color.dcm"))
    ybr = load_image(edited_dicom("examples_rgb_color.dcm", tmp_path / "ybr.dcm", to_ybr))
    assert np.abs(ybr.array - rgb.array).max() <= 3 / 255


def test_jpeg_dicom_ybr_decodes_to_rgb():
    img = load_image(dcm("SC_rgb_dcmtk_+eb+cy+s2.dcm"))  # JPEG baseline, YBR_FULL_422
    rgb = load_image(dcm("SC_rgb_rle.dcm"))
    assert np.abs(img.array - rgb.array).mean() < 0.03


def test_palette_dicom():
    img = load_image(dcm("examples_palette.dcm"))
    assert img.array.shape == (350, 800, 3) and img.meta.photometric == "PALETTE COLOR"
    assert 0 <= img.array.min() and img.array.max() <= 1 and img.array.max() > 0.9


def test_multiframe_dicom_default_middle_override_and_range():
    path = dcm("rtdose.dcm")  # 15 frames
    frames = pydicom.dcmread(path).pixel_array
    img = load_image(path)
    assert img.meta.n_frames == 15 and img.meta.frame_index == 7
    np.testing.assert_array_equal(img.raw, frames[7])
    first = load_image(path, frame=0)
    assert first.meta.frame_index == 0
    np.testing.assert_array_equal(first.raw, frames[0])
    assert not np.array_equal(first.raw, img.raw)
    two = load_image(dcm("SC_rgb_rle_2frame.dcm"))
    assert (two.meta.n_frames, two.meta.frame_index, two.array.shape) == (2, 1, (100, 100, 3))
    for bad in (15, -1):
        expect_error(ImageLoadError, f"frame {bad} out of range (image has 15 frames)",
                     path, frame=bad)


def test_compressed_without_decoder_monkeypatched(monkeypatch):
    monkeypatch.setattr(get_decoder(JPEG2000Lossless), "_available", {})
    err = expect_error(UnsupportedImageError, "compressed DICOM: no decoder for JPEG 2000",
                       dcm("MR_small_jp2klossless.dcm"))
    assert str(err) == "compressed DICOM: no decoder for JPEG 2000"


def test_compressed_syntaxes_nothing_decodes(tmp_path):
    mpeg2 = "1.2.840.10008.1.2.4.100"

    def as_mpeg2(ds):
        ds.file_meta.TransferSyntaxUID = mpeg2
    path = edited_dicom("MR_small_jp2klossless.dcm", tmp_path / "mpeg.dcm", as_mpeg2)
    expect_error(UnsupportedImageError,
                 "compressed DICOM: no decoder for MPEG2 Main Profile / Main Level", path)
    # pydicom 3.0 cannot write the JPEG XL UID, so patch it in (same padded length)
    jxl = tmp_path / "jxl.dcm"
    jxl.write_bytes(open(path, "rb").read().replace(mpeg2.encode() + b"\0",
                                                    b"1.2.840.10008.1.2.4.112\0", 1))
    expect_error(UnsupportedImageError, "compressed DICOM: no decoder for JPEG XL", jxl)


def test_other_compressed_syntaxes_decode():
    for name, codec in (("JPEG2000.dcm", "JPEG 2000"), ("JPGExtended.dcm", "JPEG Extended"),
                        ("JPEGLSNearLossless_16.dcm", "JPEG-LS"), ("image_dfl.dcm", "Deflate")):
        img = load_image(dcm(name))
        assert codec in img.meta.transfer_syntax and img.array.ndim == 2


def test_headerless_dicom_and_extensionless_dicom(tmp_path):
    ds = pydicom.dcmread(dcm("CT_small.dcm"))
    ds.preamble = None
    del ds.file_meta
    for implicit in (True, False):
        path = tmp_path / f"bare{implicit}"
        ds.save_as(path, implicit_vr=implicit, little_endian=True)
        assert open(path, "rb").read(132)[128:] != b"DICM"
        assert sniff_format(path) == "dicom"
        np.testing.assert_array_equal(load_image(path).raw, load_image(dcm("CT_small.dcm")).raw)
    renamed = shutil.copy(dcm("MR_small.dcm"), tmp_path / "noext")
    assert sniff_format(renamed) == "dicom" and load_image(renamed).meta.format == "dicom"


def test_dicom_without_pixel_data():
    for name in ("rtplan.dcm", "ExplVR_LitEndNoMeta.dcm"):
        expect_error(NotAnImageError, "DICOM has no pixel data", dcm(name))


@pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small_RLE.dcm", "SC_rgb_jpeg.dcm"])
def test_truncated_dicom(tmp_path, name):
    data = open(dcm(name), "rb").read()
    for fraction in (0.5, 0.9):
        path = tmp_path / f"cut{fraction}.dcm"
        path.write_bytes(data[: int(len(data) * fraction)])
        err = expect_error(TruncatedFileError, "truncated file", path)
        assert err.__cause__ is None or isinstance(err.__cause__, Exception)
    expect_error(TruncatedFileError, "truncated file", dcm("MR_truncated.dcm"))


def test_dicom_bomb_refused_before_decoding(tmp_path, monkeypatch):
    def huge(ds):
        ds.Rows = ds.Columns = 30000
    path = edited_dicom("CT_small.dcm", tmp_path / "huge.dcm", huge)
    monkeypatch.setattr(dicom, "pixel_array", lambda *a, **k: pytest.fail("decoded"))
    expect_error(ImageTooLargeError, "image too large (900,000,000 pixels; limit 100,000,000)",
                 path)


def test_patient_data_never_leaks(tmp_path, caplog, recwarn):
    def tag(ds):
        ds.PatientName, ds.PatientID, ds.PatientBirthDate = SECRETS[:3]
        ds.ReferringPhysicianName = "MARKER^SECRET"
        ds.InstitutionName = "SECRET HOSPITAL"
    caplog.set_level(logging.DEBUG)
    img = load_image(edited_dicom("CT_small.dcm", tmp_path / "p.dcm", tag))
    texts = [repr(img.meta), str(img.meta.to_dict()), repr(img.meta.to_dict())]

    def bad(ds):
        tag(ds)
        ds.Rows = 30000
        ds.Columns = 30000
    def no_pixels(ds):
        tag(ds)
        del ds.PixelData
    for edit, name in ((bad, "big.dcm"), (no_pixels, "np.dcm")):
        with pytest.raises(ImageLoadError) as info:
            load_image(edited_dicom("CT_small.dcm", tmp_path / name, edit))
        texts += [str(info.value), repr(info.value), info.value.reason]
    data = (tmp_path / "p.dcm").read_bytes()
    (tmp_path / "cut.dcm").write_bytes(data[: len(data) - 5000])
    with pytest.raises(TruncatedFileError) as info:
        load_image(tmp_path / "cut.dcm")
    texts += [str(info.value), repr(info.value)]
    texts += [r.getMessage() for r in caplog.records] + [str(w.message) for w in recwarn]
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


# ------------------------------------------------------------------ errors
def test_empty_file(tmp_path):
    (tmp_path / "e.png").write_bytes(b"")
    expect_error(EmptyFileError, "empty file (0 bytes)", tmp_path / "e.png")


def test_text_and_random_bytes_are_not_images(tmp_path):
    (tmp_path / "t.png").write_text("hello, this is not an image\n" * 20)
    (tmp_path / "r.png").write_bytes(np.random.default_rng(0).bytes(5000))
    for name in ("t.png", "r.png"):
        expect_error(NotAnImageError, "not an image", tmp_path / name)
    expect_error(NotAnImageError, "not an image", dcm("README.txt"))


def test_truncated_png_and_jpeg(tmp_path):
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    for name in ("n.png", "n.jpg"):
        data = open(save(tmp_path / name, noise), "rb").read()
        cut = tmp_path / f"cut_{name}"
        cut.write_bytes(data[: len(data) // 2])
        expect_error(TruncatedFileError, "truncated file", cut)


def _png_claiming(path, width, height) -> str:
    buf = stdio.BytesIO()
    Image.new("L", (1, 1)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    data[16:24] = struct.pack(">II", width, height)  # IHDR width/height
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    path.write_bytes(bytes(data))
    return str(path)


def test_png_decompression_bomb(tmp_path, recwarn):
    path = _png_claiming(tmp_path / "bomb.png", 30000, 30000)
    err = expect_error(ImageTooLargeError,
                       "image too large (900,000,000 pixels; limit 100,000,000)", path)
    assert isinstance(err.__cause__, Image.DecompressionBombError)
    # Between Pillow's warning threshold and our limit: no Pillow warning, our limit applies
    path = _png_claiming(tmp_path / "big.png", 10000, 9500)
    expect_error(ImageTooLargeError, "image too large (95,000,000 pixels; limit 90,000,000)",
                 path, max_pixels=90_000_000)
    with pytest.raises(TruncatedFileError):
        load_image(path)
    assert not [w for w in recwarn if issubclass(w.category, Image.DecompressionBombWarning)]


def test_max_pixels_argument(tmp_path, ramp8):
    path = save(tmp_path / "g.png", ramp8)
    expect_error(ImageTooLargeError, "image too large (1,024 pixels; limit 1,000)", path,
                 max_pixels=1000)
    assert MAX_PIXELS == 100_000_000


def test_unreadable_paths(tmp_path, monkeypatch):
    os.mkdir(tmp_path / "x.png")
    expect_error(UnreadableFileError, "is a directory", tmp_path / "x.png")
    expect_error(UnreadableFileError, "file not found", tmp_path / "missing.png")
    save(tmp_path / "locked.png", np.zeros((2, 2), np.uint8))

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(sniff, "open", denied, raising=False)  # shadows the builtin in io/sniff.py
    expect_error(UnreadableFileError, "permission denied", tmp_path / "locked.png")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can read mode 000")
def test_chmod_000(tmp_path):
    path = save(tmp_path / "locked.png", np.zeros((2, 2), np.uint8))
    os.chmod(path, 0)
    try:
        expect_error(UnreadableFileError, "permission denied", path)
    finally:
        os.chmod(path, 0o600)


def test_unexpected_decoder_exception_is_wrapped(tmp_path, monkeypatch, ramp8):
    path = save(tmp_path / "g.png", ramp8)

    def explode(*args, **kwargs):
        raise ZeroDivisionError("boom")
    monkeypatch.setattr(raster.ImageOps, "exif_transpose", explode)
    err = expect_error(UnsupportedImageError, "corrupt or unsupported image data", path)
    assert isinstance(err.__cause__, ZeroDivisionError)


def test_rust_decoder_panic_is_wrapped_but_interrupts_are_not(monkeypatch):
    class PanicException(BaseException):  # what pyo3-based decoders raise
        pass

    def panic(*args, **kwargs):
        raise PanicException("index out of bounds")
    monkeypatch.setattr(dicom, "pixel_array", panic)
    err = expect_error(UnsupportedImageError, "corrupt or unsupported image data",
                       dcm("MR_small_RLE.dcm"))
    assert isinstance(err.__cause__, PanicException)

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(dicom, "pixel_array", interrupt)
    with pytest.raises(KeyboardInterrupt):
        load_image(dcm("MR_small_RLE.dcm"))


def test_garbled_transfer_syntax(tmp_path):
    data = open(dcm("MR_small_RLE.dcm"), "rb").read()
    garbled = data.replace(b"1.2.840.10008.1.2.5", b"1.2.840.10008\x041.2.5", 1)
    (tmp_path / "g.dcm").write_bytes(garbled)
    expect_error(UnsupportedImageError, "unknown DICOM transfer syntax", tmp_path / "g.dcm")


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_files_only_raise_image_load_errors(tmp_path_factory, data):
    tmp = tmp_path_factory.getbasetemp()
    sources = {"png": _small_png(), "dcm": open(dcm("MR_small.dcm"), "rb").read()}
    source = bytearray(sources[data.draw(st.sampled_from(sorted(sources)))])
    for _ in range(data.draw(st.integers(1, 8))):
        position = data.draw(st.integers(0, len(source) - 1))
        source[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(source)))
    path = tmp / "fuzz.bin"
    path.write_bytes(bytes(source[:cut]))
    try:
        img = load_image(path)
    except ImageLoadError as err:
        assert str(err) and "\n" not in str(err)
    else:
        assert np.isfinite(img.array).all() and 0 <= img.array.min() <= img.array.max() <= 1


def _small_png() -> bytes:
    buf = stdio.BytesIO()
    Image.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8)).save(buf, "PNG")
    return buf.getvalue()


# -------------------------------------------------------- sniff_format, API
def test_sniff_format(tmp_path, ramp8):
    png_as_jpg = save(tmp_path / "a.jpg", ramp8, format="PNG")
    assert sniff_format(png_as_jpg) == "png"
    assert load_image(png_as_jpg).meta.format == "png"
    assert sniff_format(shutil.copy(dcm("CT_small.dcm"), tmp_path / "scan")) == "dicom"
    (tmp_path / "t.txt").write_text("BM not a bitmap\n")
    (tmp_path / "e").write_bytes(b"")
    for missing in ("t.txt", "e", "missing", "."):
        assert sniff_format(tmp_path / missing) is None
    assert sniff_format(dcm("README.txt")) is None
    for fmt, name in (("jpeg", "x.jpeg"), ("bmp", "x.bmp"), ("tiff", "x.tif"),
                      ("gif", "x.gif"), ("webp", "x.webp"), ("ppm", "x.pgm")):
        assert sniff_format(save(tmp_path / name, ramp8)) == fmt


def test_errors_are_one_family_and_picklable():
    for cls in (EmptyFileError, NotAnImageError, TruncatedFileError, UnsupportedImageError,
                ImageTooLargeError, UnreadableFileError):
        assert issubclass(cls, ImageLoadError)
        err = cls(path="/some/where.png")
        assert str(err) == err.reason and err.reason and "/some" not in str(err)
        clone = pickle.loads(pickle.dumps(err))
        assert type(clone) is cls and clone.reason == err.reason and clone.path == err.path
    assert ImageLoadError("x").path is None


def test_meta_is_frozen_and_serialisable():
    meta = load_image(dcm("MR_small.dcm")).meta
    with pytest.raises(FrozenInstanceError):
        meta.width = 3  # type: ignore[misc]
    as_dict = meta.to_dict()
    assert as_dict["format"] == "dicom" and as_dict["window"] == (600.0, 1600.0)
    assert ImageMeta(**as_dict) == meta


def test_io_module_imports_neither_qt_nor_torch():
    sources = sorted(Path(mio.__file__).parent.glob("*.py"))
    assert len(sources) > 1
    for path in sources:
        source = path.read_text(encoding="utf-8")
        for name in ("PySide6", "pyqtgraph", "torch"):
            assert f"import {name}" not in source and f"from {name}" not in source, path.name
