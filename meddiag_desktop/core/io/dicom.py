"""DICOM pixels through pydicom: only the image-description elements are parsed, never patient or study
identifiers."""
from __future__ import annotations

import numpy as np
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

from .errors import ImageTooLargeError, NotAnImageError, TruncatedFileError, UnsupportedImageError
from .image import LoadedImage, loaded_image, luminance, pick_frame, scale_to_unit, to_finite, to_unit

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
    return scale_to_unit(to_finite(out), float(lo), float(hi)), window


def load_dicom(path: str, frame: int | None, max_pixels: int) -> LoadedImage:
    """Decode a DICOM file's pixels (rules in the ``core.io`` docstring); more than ``max_pixels``
    (rows * columns * frames) is refused from the header, before decoding."""
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
        raise ImageTooLargeError.for_pixels(rows * cols * n_frames, max_pixels)
    index = pick_frame(frame, n_frames)

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
        array, raw = rgb / np.float32(np.iinfo(rgb.dtype).max), luminance(rgb)
    elif pixels.ndim == 3 and photometric in _COLOUR:
        array, raw = to_unit(pixels), luminance(pixels)
    elif pixels.ndim == 2 and photometric in ("MONOCHROME1", "MONOCHROME2"):
        raw = to_finite(apply_modality_lut(pixels, ds))
        windowed = _apply_voi(raw, ds)
        if windowed is None:
            array = to_unit(raw)
        else:
            array, window = windowed
        if photometric == "MONOCHROME1":
            array = 1.0 - array
    else:
        raise UnsupportedImageError(f"unsupported photometric interpretation {photometric[:16]}")

    return loaded_image(
        array, raw, format="dicom", bit_depth=int(ds.get("BitsStored") or pixels.itemsize * 8),
        modality=str(ds.get("Modality") or "") or None, photometric=photometric,
        pixel_spacing=_pixel_spacing(ds), n_frames=n_frames, frame_index=index,
        window=window, transfer_syntax=syntax.name)
