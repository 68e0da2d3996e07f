"""A shifted copy of validation images, as another scanner or probe would give them: the robustness
check reported next to the clean figures in every card (``metrics["shifted"]``).

One fixed, seeded shift per image (not a random augmentation): gamma, contrast, a little blur and
sensor noise, each drawn from a range wider than the training augmentation's default, so a model
that only memorised the intensity profile of one machine shows it here.
"""
from __future__ import annotations

import torch

from .data import blur_batch

SHIFT = {"gamma": 0.35, "contrast": 0.3, "blur_sigma": 0.8, "noise_std": 0.04, "seed": 1234}
DESCRIPTION = ("each image: gamma exp(U(-0.35, 0.35)), contrast x U(0.7, 1.3) about its mean, Gaussian blur "
               "sigma U(0, 0.8) px, Gaussian noise std U(0, 0.04); seeded, the same for every model")


def scanner_shift(x: torch.Tensor, seed: int = SHIFT["seed"]) -> torch.Tensor:
    """(B, C, H, W) inputs in [0, 1] -> the same images as a different scanner might give (deterministic)."""
    g = torch.Generator().manual_seed(seed)
    n = x.shape[0]

    def uniform(*shape: int) -> torch.Tensor:
        return (torch.rand(*shape, generator=g) * 2 - 1).to(x.device, x.dtype)

    out = x.clamp_min(1e-6) ** torch.exp(uniform(n, 1, 1, 1) * SHIFT["gamma"])
    mean = out.mean(dim=(1, 2, 3), keepdim=True)
    out = ((out - mean) * (1 + uniform(n, 1, 1, 1) * SHIFT["contrast"]) + mean).clamp(0.0, 1.0)
    out = blur_batch(out, (uniform(n) + 1) / 2 * SHIFT["blur_sigma"])
    noise = torch.randn(x.shape, generator=g).to(x.device, x.dtype)
    return (out + noise * (uniform(n, 1, 1, 1) + 1) / 2 * SHIFT["noise_std"]).clamp(0.0, 1.0)
