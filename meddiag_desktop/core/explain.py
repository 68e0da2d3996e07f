"""Heat-maps that show which part of an image drove a prediction.

Three methods, all dependency-free:

* ``gradcam``   (cnn)          - Grad-CAM on ``model.cam_layer`` (Selvaraju et al. 2017);
* ``attention`` (transformer)  - attention rollout with residual (Abnar & Zuidema 2020), CLS row;
* ``occlusion`` (every family) - drop in the target probability when a patch is blanked out.

Each low-level function takes the normalised model input ``x`` (1, C, S, S) and returns an (S, S)
float32 map in [0, 1]. ``explain`` goes from an image in [0, 1] to an ``Explanation`` whose heat-map
has the image's own (H, W): the model-space map is put back where ``preprocess``'s centre square
crop came from, and the cropped-away margins are 0.

Grad-CAM needs autograd: it re-enables grad locally (``torch.inference_mode(False)`` +
``torch.enable_grad()`` on a cloned input), so ``explain`` also works inside ``torch.no_grad()`` or
``torch.inference_mode()``; the model's parameters must be ordinary tensors (not created under
inference mode). Parameters never get ``.grad`` (``torch.autograd.grad`` on the activation only).
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .jobs import CancelFlag, raise_if_cancelled
from .models import ModelConfig
from .preprocess import preprocess

METHODS = ("gradcam", "attention", "occlusion")
_AVAILABLE = {"cnn": ("gradcam", "occlusion"), "transformer": ("attention", "occlusion"), "rnn": ("occlusion",)}


@dataclass
class Explanation:
    heatmap: np.ndarray  # float32 (H, W) in [0, 1], same H, W as the explained image
    method: str
    target: int  # class index explained


def available_methods(arch: str) -> tuple[str, ...]:
    """Methods that work for a model family; unknown families get the model-agnostic occlusion."""
    return _AVAILABLE.get(arch, ("occlusion",))


def default_method(arch: str) -> str:
    return available_methods(arch)[0]


# --------------------------------------------------------------------------- helpers
@contextlib.contextmanager
def _eval_mode(model: nn.Module):
    modes = [(m, m.training) for m in model.modules()]  # per module: mixed modes survive
    model.eval()
    try:
        yield
    finally:
        for module, training in modes:
            module.training = training


def _device(model: nn.Module) -> torch.device:
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def _unit(m: torch.Tensor) -> np.ndarray:
    """Non-negative map -> divided by its max (an all-zero map stays zeros), float32 numpy."""
    m = torch.nan_to_num(m.detach().float(), nan=0.0).clamp_(min=0.0)
    top = float(m.max()) if m.numel() else 0.0
    return (m / top if top > 1e-12 else torch.zeros_like(m)).cpu().numpy().astype(np.float32)


def _resize(m: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(h, w) map -> (size) with bilinear interpolation (align_corners=False)."""
    return F.interpolate(m[None, None].float(), size=size, mode="bilinear", align_corners=False)[0, 0]


def _check_target(logits: torch.Tensor, target: int) -> int:
    if not 0 <= int(target) < logits.shape[1]:
        raise ValueError(f"target {target} out of range for {logits.shape[1]} classes")
    return int(target)


# --------------------------------------------------------------------------- methods
def gradcam(model: nn.Module, x: torch.Tensor, target: int) -> np.ndarray:
    """Grad-CAM of class ``target`` on ``model.cam_layer``; returns an (S, S) map in [0, 1].
    A seed ensemble's map is the mean of its members' maps."""
    if hasattr(model, "members"):
        return _unit(torch.from_numpy(np.mean([gradcam(m, x, target) for m in model.members], axis=0)))
    layer = getattr(model, "cam_layer", None)
    if layer is None:
        raise ValueError(f"{type(model).__name__} has no cam_layer; Grad-CAM needs a CNN")
    captured: list[torch.Tensor] = []

    def hook(_module, _inputs, output):
        # A fresh leaf: gradients stop here, so nothing before the layer (or any parameter) is touched.
        leaf = output.detach().requires_grad_(True)
        captured.append(leaf)
        return leaf

    handle = layer.register_forward_hook(hook)
    try:
        # inference_mode(False) + clone: also works when the caller is inside torch.inference_mode().
        with _eval_mode(model), torch.inference_mode(False), torch.enable_grad():
            x = x.detach().to(_device(model)).clone()
            logits = model(x)
            target = _check_target(logits, target)
            (grads,) = torch.autograd.grad(logits[0, target], captured[-1])
            acts = captured[-1].detach()
    finally:
        handle.remove()
    weights = grads.mean(dim=(2, 3), keepdim=True)  # (1, K, 1, 1)
    cam = F.relu((weights * acts).sum(dim=1))[0]  # (h, w)
    return _unit(_resize(cam, tuple(x.shape[-2:])))


def attention_rollout(model: nn.Module, x: torch.Tensor, discard_ratio: float = 0.0) -> np.ndarray:
    """Attention rollout: per layer A' = 0.5*A + 0.5*I (rows renormalised), R = A'_L ... A'_1; the CLS
    row over the patch tokens, as a grid, upsampled to (S, S) and min-max scaled to [0, 1].
    ``discard_ratio`` zeroes that fraction of the weakest attention weights per layer (never CLS->CLS).
    A seed ensemble's map is the mean of its members' maps."""
    if hasattr(model, "members"):
        return _unit(torch.from_numpy(np.mean([attention_rollout(m, x, discard_ratio) for m in model.members], axis=0)))
    if not hasattr(model, "attention_maps"):
        raise ValueError(f"{type(model).__name__} has no attention_maps; rollout needs a transformer")
    if not 0.0 <= discard_ratio < 1.0:
        raise ValueError("discard_ratio must be in [0, 1)")
    with _eval_mode(model), torch.no_grad():
        maps = model.attention_maps(x.detach().to(_device(model)))
        tokens = maps[0].shape[-1]
        eye = torch.eye(tokens, device=maps[0].device)
        rollout = eye.expand_as(maps[0]).clone()
        for attn in maps:
            attn = attn.float().clone()
            if discard_ratio > 0:
                flat = attn.view(attn.shape[0], -1)
                k = int(flat.shape[1] * discard_ratio)
                cls_to_cls = flat[:, 0].clone()
                flat.scatter_(1, flat.topk(k, dim=1, largest=False).indices, 0.0)
                flat[:, 0] = cls_to_cls
            attn = 0.5 * attn + 0.5 * eye
            attn = attn / attn.sum(dim=-1, keepdim=True)
            rollout = attn @ rollout
        mask = rollout[0, 0, 1:]
        grid = int(round(mask.numel() ** 0.5))
        mask = _resize(mask.reshape(grid, grid), tuple(x.shape[-2:]))
    return _unit(mask - mask.min())


def occlusion(
    model: nn.Module,
    x: torch.Tensor,
    target: int,
    patch: int | None = None,
    stride: int | None = None,
    baseline: float | None = None,
    batch_size: int = 64,
    *,
    cancel: CancelFlag | None = None,
) -> np.ndarray:
    """Drop in softmax probability of ``target`` when a ``patch``-sized square is replaced by
    ``baseline`` (default: the input's per-channel mean, in normalised units), averaged over the
    windows covering each pixel, clipped at 0 and scaled to [0, 1]. ``cancel`` is checked between
    batches and raises ``jobs.Cancelled``."""
    size_h, size_w = x.shape[-2:]
    patch = patch or max(1, round(min(size_h, size_w) / 7))
    stride = stride or max(1, patch // 2)

    def starts(n: int) -> list[int]:
        s = list(range(0, max(n - patch, 0) + 1, stride))
        return s if s[-1] == max(n - patch, 0) else s + [max(n - patch, 0)]  # cover the far edge

    windows = [(t, l) for t in starts(size_h) for l in starts(size_w)]
    with _eval_mode(model), torch.no_grad():
        x = x.detach().to(_device(model))
        fill = x.mean(dim=(2, 3), keepdim=True) if baseline is None else torch.full_like(x[:, :, :1, :1], baseline)
        logits = model(x)
        target = _check_target(logits, target)
        # float64 on the CPU: later saturation of the softmax, and no float64 needed on the device
        base_prob = torch.softmax(logits.cpu().double(), dim=1)[0, target]
        total = torch.zeros(size_h, size_w, dtype=torch.float64)
        count = torch.zeros_like(total)
        for i in range(0, len(windows), batch_size):
            raise_if_cancelled(cancel)
            chunk = windows[i : i + batch_size]
            batch = x.repeat(len(chunk), 1, 1, 1)
            for j, (t, l) in enumerate(chunk):
                batch[j, :, t : t + patch, l : l + patch] = fill[0]
            drop = base_prob - torch.softmax(model(batch).cpu().double(), dim=1)[:, target]
            for j, (t, l) in enumerate(chunk):
                total[t : t + patch, l : l + patch] += drop[j]
                count[t : t + patch, l : l + patch] += 1
    return _unit(total / count.clamp(min=1))


# --------------------------------------------------------------------------- front door
def _to_image_space(m: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """(S, S) model-space map -> (H, W): the centre square gets the resized map, margins get 0."""
    h, w = shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2  # as preprocess.centre_square
    out = np.zeros((h, w), dtype=np.float32)
    out[top : top + side, left : left + side] = _resize(torch.from_numpy(m), (side, side)).numpy()
    return np.clip(out, 0.0, 1.0)


def explain(
    model: nn.Module,
    config: ModelConfig,
    image: np.ndarray,
    method: str | None = None,
    target: int | None = None,
    *,
    cancel: CancelFlag | None = None,
) -> Explanation:
    """Explain ``model``'s prediction on ``image`` (in [0, 1], (H, W) or (H, W, 3)); ``target``
    defaults to the predicted class (``attention`` rollout is class-agnostic: ``target`` is only
    recorded). Safe to call inside ``torch.no_grad()`` / ``torch.inference_mode()``. ``cancel`` is
    checked between occlusion batches and raises ``jobs.Cancelled`` (the other methods are one pass)."""
    method = method or default_method(config.arch)
    if method not in available_methods(config.arch):
        raise ValueError(
            f"method {method!r} is not available for {config.arch!r} models; "
            f"use one of: {', '.join(available_methods(config.arch))}"
        )
    image = np.asarray(image)
    x = preprocess(image, config)[None].to(_device(model))
    with _eval_mode(model):
        with torch.no_grad():
            logits = model(x)
        target = int(logits.argmax(dim=1)[0]) if target is None else _check_target(logits, target)
        if method == "gradcam":
            m = gradcam(model, x, target)
        elif method == "attention":
            m = attention_rollout(model, x)
        else:
            m = occlusion(model, x, target, cancel=cancel)
    return Explanation(heatmap=_to_image_space(m, image.shape), method=method, target=int(target))
