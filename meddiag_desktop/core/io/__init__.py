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

Inside: :mod:`.sniff` (format from content), :mod:`.raster` (Pillow), :mod:`.dicom` (pydicom),
:mod:`.image` (the result types and the shared intensity mapping), :mod:`.errors` (the error family).
"""
from __future__ import annotations

import io
import operator
import os
import re

from PIL import Image

from .errors import (
    EmptyFileError,
    ImageLoadError,
    ImageTooLargeError,
    NotAnImageError,
    TruncatedFileError,
    UnreadableFileError,
    UnsupportedImageError,
)
from .dicom import load_dicom
from .image import ImageMeta, LoadedImage
from .raster import load_raster
from .sniff import head_of, read_head, sniff_format, sniff_head

__all__ = [
    "MAX_PIXELS", "ImageLoadError", "EmptyFileError", "NotAnImageError",
    "TruncatedFileError", "UnsupportedImageError", "ImageTooLargeError",
    "UnreadableFileError", "ImageMeta", "LoadedImage", "load_image", "sniff_format",
]

MAX_PIXELS = 100_000_000


def load_image(
    path: str | os.PathLike, *, frame: int | None = None, max_pixels: int = MAX_PIXELS,
    data: bytes | None = None,
) -> LoadedImage:
    """Load ``path`` as a :class:`LoadedImage` (see the module docstring).

    ``frame`` picks a frame of a multi-frame file; by default the middle one,
    ``n_frames // 2``.  Images with more than ``max_pixels`` pixels (DICOM:
    rows * columns * frames) are refused from the header, before decoding.
    ``data``: the file's whole content when the caller has read it already (a
    scan hashes it): raster formats are then decoded from memory, not re-read.
    Raises an :class:`ImageLoadError` subclass for every failure; the original
    exception, if any, is kept as ``__cause__``.
    """
    frame = None if frame is None else operator.index(frame)
    path = os.fspath(path)
    try:
        fmt = sniff_head(path, read_head(path) if data is None else head_of(data))
        if fmt is None:
            raise NotAnImageError()
        if fmt == "dicom":
            return load_dicom(path, frame, max_pixels)
        return load_raster(path if data is None else io.BytesIO(data), fmt, frame, max_pixels)
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


def _classify(err: Exception, max_pixels: int) -> ImageLoadError:
    """Turn a decoder exception into a typed error with a short, human reason."""
    message = str(err).lower()
    if isinstance(err, Image.DecompressionBombError):
        found = re.search(r"\((\d+) pixels\)", message)
        return ImageTooLargeError.for_pixels(int(found[1]), max_pixels) if found else ImageTooLargeError()
    if isinstance(err, MemoryError):
        return ImageTooLargeError("not enough memory to load image")
    if isinstance(err, EOFError) or any(
        hint in message for hint in ("truncat", "broken data stream", "less than expected",
                                     "insufficient pixel data")):
        return TruncatedFileError()
    return UnsupportedImageError()
