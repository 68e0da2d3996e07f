"""Cheap, model-independent statistics of a model's input image, for the out-of-distribution check
(``core.ood``): what kind of picture it is, read before any learned feature.

From the normalised model input (undone with the card's mean / std, channels averaged, so training
and inference compute the same numbers from the same tensors), in [0, 1]:
texture (mean |gradient| and |Laplacian|, their spread and 90th percentile, at full and half
resolution; the mean and spread of the 3 x 3 local standard deviation), layout (7 x 7 block means) and
intensity (a 16-bin histogram): 20 + 49 + 16 = 85 numbers per image.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

BLOCKS = 7
BINS = 16


def input_statistics(inputs: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """(N, C, H, W) normalised model inputs -> (N, 85) float64 statistics (see the module docstring)."""
    if len(inputs) == 0:
        return np.zeros((0, 20 + BLOCKS * BLOCKS + BINS))
    x = inputs.detach().float().cpu()
    scale = torch.tensor(list(std), dtype=x.dtype).view(1, -1, 1, 1)
    shift = torch.tensor(list(mean), dtype=x.dtype).view(1, -1, 1, 1)
    image = (x * scale + shift).mean(dim=1, keepdim=True).clamp(0.0, 1.0)
    n = len(image)
    parts = _texture(image) + [F.adaptive_avg_pool2d(image, BLOCKS).reshape(n, -1)]
    bins = (image.reshape(n, -1) * BINS).floor().clamp(0, BINS - 1).long()
    counts = torch.bincount((bins + BINS * torch.arange(n)[:, None]).reshape(-1), minlength=BINS * n)
    parts.append(counts.view(n, BINS).float() / bins.shape[1])  # the share of pixels in each bin
    return torch.cat([p if p.ndim == 2 else p[:, None] for p in parts], dim=1).double().numpy()


def upper_quantile(rows: torch.Tensor, q: float) -> torch.Tensor:
    """``torch.quantile(rows, q, dim=1)`` (linear interpolation) for q >= 0.5 from the top of each row
    only (``topk``): ~4x faster than its full sort, equal to float32 rounding (the last bit may differ)."""
    n = rows.shape[1]
    rank = q * (n - 1)
    below = int(rank)
    top = rows.topk(n - below, dim=1, sorted=True).values  # descending: [..., value above, value below]
    low = top[:, -1]
    return torch.lerp(low, top[:, -2], rank - below) if n - below >= 2 else low


def _texture(image: torch.Tensor) -> list[torch.Tensor]:
    n, parts = len(image), []
    for level in (image, F.avg_pool2d(image, 2)):
        gx = level[..., :, 1:] - level[..., :, :-1]
        gy = level[..., 1:, :] - level[..., :-1, :]
        lap = (4 * level[..., 1:-1, 1:-1] - level[..., :-2, 1:-1] - level[..., 2:, 1:-1]
               - level[..., 1:-1, :-2] - level[..., 1:-1, 2:])
        for g in (gx, gy, lap):
            a = g.abs().reshape(n, -1)
            parts += [a.mean(1), a.std(1), upper_quantile(a, 0.9)]
    local_mean = F.avg_pool2d(image, 3, 1)
    local_std = (F.avg_pool2d(image * image, 3, 1) - local_mean * local_mean).clamp_min(0).sqrt().reshape(n, -1)
    return parts + [local_std.mean(1), local_std.std(1)]
