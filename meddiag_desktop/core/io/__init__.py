"""Load a medical or ordinary image file into a normalised float array.

One entry point, :func:`load_image`, for everything the app opens: DICOM (via
pydicom) and PNG, JPEG, BMP, TIFF, GIF, WebP, JPEG 2000, PNM (via Pillow).
The format is recognised from the file's content, never from its extension
(:func:`sniff_format`).

Intensity mapping to ``LoadedImage.array`` (float32 in [0, 1]):

* 8-bit integer data is divided by 255; 1-bit data becomes 0/1.
* Integer data with more than 8 bits (16-bit PNG/TIFF, 32-bit TIFF) and float
  data are scaled by the image's own min..max (a constant image gives zeros).
  NaN becomes the finite minimum and +/-inf the finite maximum/minimum, so the
  output is always finite.
* Alpha channels are dropped (not composited).  Palette images become RGB, or
  grey when the palette is grey.  Single-channel images are 2-D ``(H, W)``.
* DICOM greyscale: Modality LUT / rescale slope-intercept, then the VOI LUT or
  Window Center/Width when present (mapped by the window's output range, so
  values outside the window clip to 0/1), else min..max.  A broken VOI LUT or
  window falls back to min..max (``meta.window`` is None).  MONOCHROME1 is
  inverted so bone is bright, as in MONOCHROME2.  Colour DICOM (RGB, YBR_* -
  pydicom 3 converts YBR to RGB itself - and PALETTE COLOR) is returned as RGB.
* Multi-frame files: the middle frame (``n_frames // 2``) unless ``frame=``.

``LoadedImage.raw`` holds the grey values in source units (after DICOM rescale,
never windowed or inverted; luminance for colour) for a viewer's window/level.

Privacy: DICOM files are read with pydicom's ``specific_tags`` so patient and
study identifiers are never even parsed; errors carry short, path-free reasons.
"""

from __future__ import annotations

import operator
import os
import re
import warnings
from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image, ImageOps
from pydicom import dcmread
from pydicom.datadict import DicomDictionary, tag_for_keyword
from pydicom.multival import MultiValue
from pydicom.pixels import (
    apply_color_lut,
    apply_modality_lut,
    apply_voi_lut,
    get_decoder,
    pixel_array,
)
from pydicom.uid import (
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000TransferSyntaxes,
    JPEGLSTransferSyntaxes,
    JPEGTransferSyntaxes,
    RLETransferSyntaxes,
)

__all__ = [
    "MAX_PIXELS", "ImageLoadError", "EmptyFileError", "NotAnImageError",
    "TruncatedFileError", "UnsupportedImageError", "ImageTooLargeError",
    "UnreadableFileError", "ImageMeta", "LoadedImage", "load_image", "sniff_format",
]

MAX_PIXELS = 100_000_000


# --------------------------------------------------------------------- errors
class ImageLoadError(Exception):
    """Base of all loading errors; ``str(err)`` is a short, path-free reason."""

    default_reason = "could not load image"

    def __init__(self, reason: str | None = None, path: str | os.PathLike | None = None):
        self.reason = reason or self.default_reason
        self.path = None if path is None else os.fspath(path)
        super().__init__(self.reason)

    def __str__(self) -> str:
        return self.reason

    def __reduce__(self):  # picklable across worker processes, path included
        return type(self), (self.reason, self.path)


class EmptyFileError(ImageLoadError):
    default_reason = "empty file (0 bytes)"


class NotAnImageError(ImageLoadError):
    default_reason = "not an image"


class TruncatedFileError(ImageLoadError):
    default_reason = "truncated file"


class UnsupportedImageError(ImageLoadError):
    default_reason = "corrupt or unsupported image data"


class ImageTooLargeError(ImageLoadError):
    default_reason = "image too large"


class UnreadableFileError(ImageLoadError):
    default_reason = "file cannot be read"


def _too_large(pixels: int, limit: int) -> ImageTooLargeError:
    return ImageTooLargeError(f"image too large ({pixels:,} pixels; limit {limit:,})")


# ------------------------------------------------------------------- results
@dataclass(frozen=True)
class ImageMeta:
    """Non-identifying facts about a loaded image (never patient data)."""

    format: str
    width: int
    height: int
    channels: int
    bit_depth: int
    modality: str | None = None
    photometric: str | None = None
    pixel_spacing: tuple[float, float] | None = None
    n_frames: int = 1
    frame_index: int = 0
    window: tuple[float, float] | None = None
    transfer_syntax: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class LoadedImage:
    array: np.ndarray  # float32 in [0, 1], (H, W) or (H, W, 3)
    raw: np.ndarray  # float32 (H, W), source units, never windowed
    meta: ImageMeta


# ------------------------------------------------------------ format sniffing
_HEAD_BYTES = 132
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"II*\x00", "tiff"), (b"MM\x00*", "tiff"), (b"II+\x00", "tiff"), (b"MM\x00+", "tiff"),
    (b"GIF87a", "gif"), (b"GIF89a", "gif"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "jpeg2000"), (b"\xff\x4f\xff\x51", "jpeg2000"),
)
_PIL_NAMES = {"png": "PNG", "jpeg": "JPEG", "tiff": "TIFF", "gif": "GIF", "bmp": "BMP",
              "webp": "WEBP", "jpeg2000": "JPEG2000", "ppm": "PPM"}
_BMP_HEADER_SIZES = {12, 40, 52, 56, 64, 108, 124}


def _sniff_magic(head: bytes) -> str | None:
    if head[128:132] == b"DICM":  # checked first: a DICOM preamble may hold a TIFF header
        return "dicom"
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:2] == b"BM" and int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES:
        return "bmp"
    if re.match(rb"P[1-6]\s", head):
        return "ppm"
    return None


def _is_headerless_dicom(path: str, head: bytes) -> bool:
    """A DICOM data set without preamble/meta starts with a group 0002/0008 tag."""
    if head[:2] not in (b"\x02\x00", b"\x08\x00", b"\x00\x02", b"\x00\x08"):
        return False
    try:
        ds = dcmread(path, force=True, stop_before_pixels=True,
                     specific_tags=["SOPClassUID", "Modality", "Rows"])
    except Exception:
        return False
    return any(kw in ds for kw in ("SOPClassUID", "Modality", "Rows"))


def _sniff(path: str, head: bytes) -> str | None:
    return _sniff_magic(head) or ("dicom" if _is_headerless_dicom(path, head) else None)


def sniff_format(path: str | os.PathLike) -> str | None:
    """Return the image format recognised from the file's content, or None.

    Magic bytes for PNG, JPEG, BMP, TIFF, GIF, WebP, JPEG 2000, PNM and DICOM
    ("DICM" at offset 128), plus DICOM without preamble/file meta (checked
    with a header-only pydicom read).  Unreadable or empty files give None.
    """
    path = os.fspath(path)
    try:
        head = _read_head(path)
    except ImageLoadError:
        return None
    return _sniff(path, head)


# ------------------------------------------------------------------- loading
def load_image(
    path: str | os.PathLike, *, frame: int | None = None, max_pixels: int = MAX_PIXELS
) -> LoadedImage:
    """Load ``path`` as a :class:`LoadedImage` (see the module docstring).

    ``frame`` picks a frame of a multi-frame file; by default the middle one,
    ``n_frames // 2``.  Images with more than ``max_pixels`` pixels (DICOM:
    rows * columns * frames) are refused from the header, before decoding.
    Raises an :class:`ImageLoadError` subclass for every failure; the original
    exception, if any, is kept as ``__cause__``.
    """
    frame = None if frame is None else operator.index(frame)
    path = os.fspath(path)
    try:
        fmt = _sniff(path, _read_head(path))
        if fmt is None:
            raise NotAnImageError()
        if fmt == "dicom":
            return _load_dicom(path, frame, max_pixels)
        return _load_pillow(path, fmt, frame, max_pixels)
    except ImageLoadError as err:
        err.path = path
        raise
    except BaseException as err:  # decoders' own exceptions never escape unwrapped
        # ...but KeyboardInterrupt & co. do; Rust decoders (pyo3) panic with a
        # BaseException called PanicException, which is a decoding failure.
        if not isinstance(err, Exception) and type(err).__name__ != "PanicException":
            raise
        wrapped = _classify(err, max_pixels)
        wrapped.path = path
        raise wrapped from err


_OS_REASONS = ((FileNotFoundError, "file not found"), (IsADirectoryError, "is a directory"),
               (PermissionError, "permission denied"))


def _read_head(path: str) -> bytes:
    if os.path.isdir(path):  # checked first: Windows reports directories as "permission denied"
        raise UnreadableFileError("is a directory")
    try:
        with open(path, "rb") as f:
            head = f.read(_HEAD_BYTES)
    except OSError as err:
        reason = next((text for kind, text in _OS_REASONS if isinstance(err, kind)), None)
        raise UnreadableFileError(reason) from err
    if not head:
        raise EmptyFileError()
    return head


def _classify(err: Exception, max_pixels: int) -> ImageLoadError:
    """Turn a decoder exception into a typed error with a short, human reason."""
    message = str(err).lower()
    if isinstance(err, Image.DecompressionBombError):
        found = re.search(r"\((\d+) pixels\)", message)
        return _too_large(int(found[1]), max_pixels) if found else ImageTooLargeError()
    if isinstance(err, MemoryError):
        return ImageTooLargeError("not enough memory to load image")
    if isinstance(err, EOFError) or any(
        hint in message for hint in ("truncat", "broken data stream", "less than expected",
                                     "insufficient pixel data")):
        return TruncatedFileError()
    return UnsupportedImageError()


def _pick_frame(frame: int | None, n_frames: int) -> int:
    index = n_frames // 2 if frame is None else frame
    if not 0 <= index < n_frames:
        raise ImageLoadError(f"frame {index} out of range (image has {n_frames} frames)")
    return index


def _finite(values: np.ndarray) -> np.ndarray:
    """float32 copy with NaN -> finite min and +/-inf -> finite max/min."""
    values = np.asarray(values, dtype=np.float32)
    finite = np.isfinite(values)
    if finite.all():
        return values
    if not finite.any():
        return np.zeros_like(values)
    lo, hi = values[finite].min(), values[finite].max()
    return np.nan_to_num(values, nan=lo, posinf=hi, neginf=lo)


def _scale(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    if not hi > lo:
        return np.zeros(values.shape, np.float32)
    return np.clip((values - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)


def _to_unit(values: np.ndarray) -> np.ndarray:
    """8-bit / 1-bit data by its full range, anything else by its min..max."""
    if values.dtype == np.uint8:
        return values.astype(np.float32) / 255.0
    if values.dtype == bool:
        return values.astype(np.float32)
    values = _finite(values)
    return _scale(values, float(values.min()), float(values.max()))


def _luminance(rgb: np.ndarray) -> np.ndarray:
    return _finite(rgb) @ np.array([0.299, 0.587, 0.114], np.float32)


def _result(array: np.ndarray, raw: np.ndarray, **meta) -> LoadedImage:
    height, width = array.shape[:2]
    channels = 3 if array.ndim == 3 else 1
    info = ImageMeta(width=width, height=height, channels=channels, **meta)
    return LoadedImage(np.ascontiguousarray(array, np.float32),
                       np.ascontiguousarray(raw, np.float32), info)


# -------------------------------------------------------------------- Pillow
_PIL_TO_RGB = {"P", "PA", "CMYK", "YCbCr", "LAB", "HSV"}


def _pil_bit_depth(mode: str) -> int:
    return 16 if mode.startswith("I;16") else {"1": 1, "I": 32, "F": 32}.get(mode, 8)


def _load_pillow(path: str, fmt: str, frame: int | None, max_pixels: int) -> LoadedImage:
    # Pillow's bomb warning is silenced (our own limit applies) without touching
    # Image.MAX_IMAGE_PIXELS; its hard error (> 2 * MAX_IMAGE_PIXELS) is mapped to
    # ImageTooLargeError by _classify.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(path, formats=[_PIL_NAMES[fmt]]) as img:
            width, height = img.size
            if width * height > max_pixels:
                raise _too_large(width * height, max_pixels)
            n_frames = getattr(img, "n_frames", 1)
            index = _pick_frame(frame, n_frames)
            img.seek(index)
            img.load()
            mode = img.mode
            img = ImageOps.exif_transpose(img)
            if mode in _PIL_TO_RGB:
                img = img.convert("RGB")
            pixels = np.asarray(img)

    if pixels.ndim == 3:  # drop alpha: LA -> L, RGBA/RGBX -> RGB
        pixels = pixels[..., 0] if pixels.shape[2] < 3 else pixels[..., :3]
    if mode in ("P", "PA") and (pixels[..., :1] == pixels).all():
        pixels = pixels[..., 0]  # grey palette
    raw = _luminance(pixels) if pixels.ndim == 3 else _finite(pixels)
    array = _to_unit(pixels)
    return _result(array, raw, format=fmt, bit_depth=_pil_bit_depth(mode), photometric=mode,
                   n_frames=n_frames, frame_index=index)


# --------------------------------------------------------------------- DICOM
# Only these elements are parsed: image pixel description, LUTs, windows,
# spacing and modality; patient/study identifiers are never read.
_DICOM_TAGS = [tag for tag in DicomDictionary if tag >> 16 == 0x0028] + [
    tag_for_keyword(kw) for kw in (
        "Modality", "SOPClassUID", "PixelPresentation", "ImagerPixelSpacing",
        "ExtendedOffsetTable", "ExtendedOffsetTableLengths",
        "FloatPixelData", "DoubleFloatPixelData", "PixelData")
]
_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
_COLOUR = {"RGB", "YBR_FULL", "YBR_FULL_422", "YBR_ICT", "YBR_RCT"}
_JPEG_XL = {"1.2.840.10008.1.2.4.110", "1.2.840.10008.1.2.4.111", "1.2.840.10008.1.2.4.112"}


def _codec_name(syntax: UID) -> str:
    if syntax in JPEGLSTransferSyntaxes:
        return "JPEG-LS"
    if syntax in JPEG2000TransferSyntaxes:
        return "HTJ2K" if "High-Throughput" in syntax.name else "JPEG 2000"
    if syntax in JPEGTransferSyntaxes:
        return "JPEG"
    if syntax in RLETransferSyntaxes:
        return "RLE"
    return "JPEG XL" if syntax in _JPEG_XL else syntax.name


def _transfer_syntax(ds) -> UID:
    syntax = ds.file_meta.get("TransferSyntaxUID")
    if not syntax:  # no file meta: use the encoding pydicom detected
        implicit, little = ds.original_encoding
        syntax = ImplicitVRLittleEndian if implicit else (
            ExplicitVRLittleEndian if little else ExplicitVRBigEndian)
        ds.file_meta.TransferSyntaxUID = syntax
    return UID(syntax)


def _first(value) -> float:
    return float(value[0] if isinstance(value, MultiValue) else value)


def _pixel_spacing(ds) -> tuple[float, float] | None:
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        try:
            row, col = (float(v) for v in ds.get(keyword) or ())
        except (TypeError, ValueError):
            continue
        if row > 0 and col > 0:
            return row, col
    return None


def _apply_voi(values: np.ndarray, ds) -> tuple[np.ndarray, tuple[float, float]] | None:
    """Apply the VOI LUT or window, mapped by its output range to [0, 1]."""
    try:
        lut = ds.VOILUTSequence[0] if ds.get("VOILUTSequence") else None
        if lut is not None and "LUTDescriptor" in lut and "LUTData" in lut:
            entries, first = lut.LUTDescriptor[0] or 2**16, lut.LUTDescriptor[1]
            table = apply_voi_lut(np.arange(first, first + entries), ds)
            lo, hi = table.min(), table.max()
            inputs = np.clip(np.rint(values), first, first + entries - 1).astype(np.int64)
            out = apply_voi_lut(inputs, ds)
            window = (first + entries / 2, float(entries))  # the LUT's input span
        elif "WindowCenter" in ds and "WindowWidth" in ds:
            out = apply_voi_lut(values, ds)
            lo, hi = apply_voi_lut(np.array([-np.inf, np.inf]), ds)
            window = (_first(ds.WindowCenter), _first(ds.WindowWidth))
        else:
            return None
    except Exception:  # a broken VOI LUT / window: caller falls back to min..max
        return None
    if not (np.isfinite([lo, hi]).all() and hi > lo):
        return None
    return _scale(_finite(out), float(lo), float(hi)), window


def _load_dicom(path: str, frame: int | None, max_pixels: int) -> LoadedImage:
    try:
        ds = dcmread(path, force=True, specific_tags=_DICOM_TAGS)
    except Exception as err:
        raise NotAnImageError() from err
    if not any(kw in ds for kw in _PIXEL_KEYWORDS):
        # An image description without pixels, or nothing at all (pydicom drops
        # a data set cut inside an element), means the file was cut off.
        if "Rows" in ds or len(ds) == 0:
            raise TruncatedFileError()
        raise NotAnImageError("DICOM has no pixel data")

    rows, cols = int(ds.get("Rows") or 0), int(ds.get("Columns") or 0)
    n_frames = max(1, int(ds.get("NumberOfFrames") or 1))
    if rows * cols * n_frames > max_pixels:
        raise _too_large(rows * cols * n_frames, max_pixels)
    index = _pick_frame(frame, n_frames)

    syntax = _transfer_syntax(ds)
    if not syntax.is_valid:
        raise UnsupportedImageError("unknown DICOM transfer syntax")
    try:
        available = get_decoder(syntax).is_available
    except NotImplementedError:
        available = False
    if not available:
        raise UnsupportedImageError(f"compressed DICOM: no decoder for {_codec_name(syntax)}")

    photometric = str(ds.get("PhotometricInterpretation", "")).strip().upper()
    pixels = pixel_array(ds, index=index)  # YBR_FULL(_422) arrives as RGB already
    window = None
    if photometric == "PALETTE COLOR":
        rgb = apply_color_lut(pixels, ds)[..., :3]
        array, raw = rgb / np.float32(np.iinfo(rgb.dtype).max), _luminance(rgb)
    elif pixels.ndim == 3 and photometric in _COLOUR:
        array, raw = _to_unit(pixels), _luminance(pixels)
    elif pixels.ndim == 2 and photometric in ("MONOCHROME1", "MONOCHROME2"):
        raw = _finite(apply_modality_lut(pixels, ds))
        windowed = _apply_voi(raw, ds)
        if windowed is None:
            array = _to_unit(raw)
        else:
            array, window = windowed
        if photometric == "MONOCHROME1":
            array = 1.0 - array
    else:
        raise UnsupportedImageError(f"unsupported photometric interpretation {photometric[:16]}")

    return _result(
        array, raw, format="dicom", bit_depth=int(ds.get("BitsStored") or pixels.itemsize * 8),
        modality=str(ds.get("Modality") or "") or None, photometric=photometric,
        pixel_spacing=_pixel_spacing(ds), n_frames=n_frames, frame_index=index,
        window=window, transfer_syntax=syntax.name)
