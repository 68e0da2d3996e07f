"""The one preprocessing function shared by training, inference, scanning and explanation.

``prepare``: image in [0, 1] (H, W) or (H, W, 3)  ->  centre square crop  ->  channels as the model expects
(luminance for grey models)  ->  antialiased bilinear resize to ``img_size``;
``normalize``: (x - mean) / std.
The centre crop mirrors how MedMNIST built its 28 px images from the source scans.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from .models import ModelConfig

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def to_channels(array: np.ndarray, in_chans: int) -> np.ndarray:
    """(H, W) or (H, W, 3) float array -> (C, H, W) with ``in_chans`` channels."""
    if array.ndim == 2:
        chw = array[None]
    elif array.ndim == 3 and array.shape[2] == 3:
        chw = array.transpose(2, 0, 1)
    else:
        raise ValueError(f"expected an (H, W) or (H, W, 3) image, got shape {array.shape}")
    if chw.shape[0] == in_chans:
        return chw
    if in_chans == 1:
        return np.tensordot(_LUMA, chw, axes=1)[None]
    if in_chans == 3:
        return np.repeat(chw, 3, axis=0)
    raise ValueError(f"cannot make {in_chans} channels from {chw.shape[0]}")


def centre_square(chw: np.ndarray) -> np.ndarray:
    _, h, w = chw.shape
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    return chw[:, top : top + side, left : left + side]


def _square_channels(array: np.ndarray, config: ModelConfig) -> np.ndarray:
    return centre_square(to_channels(np.asarray(array, dtype=np.float32), config.in_chans))


def prepare(array: np.ndarray, config: ModelConfig) -> torch.Tensor:
    """One image in [0, 1] -> model-sized float32 tensor (C, img_size, img_size), still in [0, 1]."""
    chw = _square_channels(array, config)
    if chw.shape[1] == config.img_size:
        return torch.from_numpy(np.array(chw, dtype=np.float32, copy=True))  # never alias the caller's image
    return _resize(chw, config)


def _resize(chw: np.ndarray, config: ModelConfig) -> torch.Tensor:
    # the resize reads the image (no copy of a 2-3 k px image unless it is read-only) and returns a new tensor
    source = np.ascontiguousarray(chw) if chw.flags.writeable else np.array(chw, dtype=np.float32, copy=True)
    return F.interpolate(
        torch.from_numpy(source)[None], size=(config.img_size, config.img_size),
        mode="bilinear", antialias=True, align_corners=False,
    )[0].clamp_(0.0, 1.0)


def normalize(tensor: torch.Tensor, config: ModelConfig) -> torch.Tensor:
    """(…, C, H, W) tensor in [0, 1] -> (x - mean) / std per channel."""
    mean, std = _mean_std(tuple(config.mean), tuple(config.std), tensor.dtype, tensor.device)
    return (tensor - mean) / std


@lru_cache(maxsize=32)
def _mean_std(mean: tuple, std: tuple, dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(C, 1, 1) constants, made once per config (a scan normalises thousands of images); never written to."""
    with torch.inference_mode(False):  # plain tensors, whichever mode the first call came from
        return (torch.tensor(mean, dtype=dtype, device=device).view(-1, 1, 1),
                torch.tensor(std, dtype=dtype, device=device).view(-1, 1, 1))


def preprocess(array: np.ndarray, config: ModelConfig) -> torch.Tensor:
    """One image in [0, 1] -> normalised model input (C, img_size, img_size). Training augments
    between ``prepare`` and ``normalize``; everything else calls this."""
    return normalize(prepare(array, config), config)


def preprocess_array(array: np.ndarray, config: ModelConfig) -> np.ndarray:
    """``preprocess`` as a new float32 numpy array, the same numbers (what a scan's decoder hands on). An
    image already at the model's size is normalised in numpy: a scan of small files spends no torch call on it."""
    chw = _square_channels(array, config)
    if chw.shape[1] != config.img_size:
        return normalize(_resize(chw, config), config).numpy()
    mean, std = _mean_std_arrays(tuple(config.mean), tuple(config.std))
    out = np.subtract(chw, mean, dtype=np.float32)  # float32 (x - mean) / std, as normalize computes it
    out /= std
    return out


@lru_cache(maxsize=32)
def _mean_std_arrays(mean: tuple, std: tuple) -> tuple[np.ndarray, np.ndarray]:
    arrays = np.array(mean, dtype=np.float32).reshape(-1, 1, 1), np.array(std, dtype=np.float32).reshape(-1, 1, 1)
    for array in arrays:
        array.flags.writeable = False
    return arrays


def preprocess_batch(arrays, config: ModelConfig) -> torch.Tensor:
    return torch.stack([preprocess(a, config) for a in arrays])
