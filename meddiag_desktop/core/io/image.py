"""What a decoder returns (:class:`LoadedImage` with its :class:`ImageMeta`) and the intensity mapping
decoders share (the rules are in the ``core.io`` docstring)."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .errors import ImageLoadError


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


def pick_frame(frame: int | None, n_frames: int) -> int:
    """The frame to decode: ``frame``, or the middle one when None; ImageLoadError when out of range."""
    index = n_frames // 2 if frame is None else frame
    if not 0 <= index < n_frames:
        raise ImageLoadError(f"frame {index} out of range (image has {n_frames} frames)")
    return index


def to_finite(values: np.ndarray) -> np.ndarray:
    """float32 copy with NaN -> finite min and +/-inf -> finite max/min."""
    integers = np.asarray(values).dtype.kind in "biu"
    values = np.asarray(values, dtype=np.float32)
    if integers:  # always finite: skip the check (most images)
        return values
    ok = np.isfinite(values)
    if ok.all():
        return values
    if not ok.any():
        return np.zeros_like(values)
    lo, hi = values[ok].min(), values[ok].max()
    return np.nan_to_num(values, nan=lo, posinf=hi, neginf=lo)


def scale_to_unit(values: np.ndarray, lo: float, hi: float, *, in_place: bool = False) -> np.ndarray:
    """lo..hi mapped to 0..1, clipped (zeros when the range is empty). ``in_place``: computed in
    ``values`` (a float array the caller owns): a 2-3 k px image is 20 MB a pass, so the passes share one array."""
    if not hi > lo:
        return np.zeros(values.shape, np.float32)
    out = np.subtract(values, lo, out=values) if in_place else values - lo
    out /= hi - lo
    np.clip(out, 0.0, 1.0, out=out)
    return out.astype(np.float32, copy=False)


def to_unit(values: np.ndarray) -> np.ndarray:
    """8-bit / 1-bit data by its full range, anything else by its min..max."""
    if values.dtype == np.uint8:
        out = values.astype(np.float32)
        out /= 255.0
        return out
    if values.dtype == bool:
        return values.astype(np.float32)
    finite = to_finite(values)
    owned = finite is not values and not np.may_share_memory(finite, values)  # a converted copy
    return scale_to_unit(finite, float(finite.min()), float(finite.max()), in_place=owned)


def luminance(rgb: np.ndarray) -> np.ndarray:
    return to_finite(rgb) @ np.array([0.299, 0.587, 0.114], np.float32)


def loaded_image(array: np.ndarray, raw: np.ndarray, **meta) -> LoadedImage:
    """The decoder's result: contiguous float32 arrays, the meta's size and channels filled in."""
    height, width = array.shape[:2]
    channels = 3 if array.ndim == 3 else 1
    info = ImageMeta(width=width, height=height, channels=channels, **meta)
    return LoadedImage(np.ascontiguousarray(array, np.float32),
                       np.ascontiguousarray(raw, np.float32), info)
