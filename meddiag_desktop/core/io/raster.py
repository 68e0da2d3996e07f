"""Ordinary raster formats through Pillow: PNG, JPEG, BMP, TIFF, GIF, WebP, JPEG 2000, PNM."""
from __future__ import annotations

import warnings
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps

from .errors import ImageTooLargeError
from .image import LoadedImage, loaded_image, luminance, pick_frame, to_finite, to_unit

_PIL_NAMES = {"png": "PNG", "jpeg": "JPEG", "tiff": "TIFF", "gif": "GIF", "bmp": "BMP",
              "webp": "WEBP", "jpeg2000": "JPEG2000", "ppm": "PPM"}
_PIL_TO_RGB = {"P", "PA", "CMYK", "YCbCr", "LAB", "HSV"}


def _pil_bit_depth(mode: str) -> int:
    return 16 if mode.startswith("I;16") else {"1": 1, "I": 32, "F": 32}.get(mode, 8)


def load_raster(path: str | BinaryIO, fmt: str, frame: int | None, max_pixels: int) -> LoadedImage:
    """Decode ``path`` (a file name or a binary file object; ``fmt`` as sniffed) with Pillow,
    refusing more than ``max_pixels`` before decoding."""
    # Pillow's bomb warning is silenced (our own limit applies) without touching
    # Image.MAX_IMAGE_PIXELS; its hard error (> 2 * MAX_IMAGE_PIXELS) is mapped to
    # ImageTooLargeError by core.io.load_image.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(path, formats=[_PIL_NAMES[fmt]]) as img:
            width, height = img.size
            if width * height > max_pixels:
                raise ImageTooLargeError.for_pixels(width * height, max_pixels)
            n_frames = getattr(img, "n_frames", 1)
            index = pick_frame(frame, n_frames)
            img.seek(index)
            img.load()
            mode = img.mode
            ImageOps.exif_transpose(img, in_place=True)  # in place: no copy of an image without EXIF turn
            if mode in _PIL_TO_RGB:
                img = img.convert("RGB")
            pixels = np.asarray(img)

    if pixels.ndim == 3:  # drop alpha: LA -> L, RGBA/RGBX -> RGB
        pixels = pixels[..., 0] if pixels.shape[2] < 3 else pixels[..., :3]
    if mode in ("P", "PA") and (pixels[..., :1] == pixels).all():
        pixels = pixels[..., 0]  # grey palette
    raw = luminance(pixels) if pixels.ndim == 3 else to_finite(pixels)
    array = to_unit(pixels)
    return loaded_image(array, raw, format=fmt, bit_depth=_pil_bit_depth(mode), photometric=mode,
                        n_frames=n_frames, frame_index=index)
