"""Tests for meddiag_desktop.core.explain: Grad-CAM, attention rollout and occlusion on tiny models.

A module fixture trains one tiny model per family (~0.5 s each, single thread, fixed seeds) on 28 px
synthetic images where class 1 has a bright 6x6 square at a random position and class 0 has none.
"""
from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from meddiag_desktop.core.jobs import Cancelled

from meddiag_desktop.core.explain import (
    METHODS,
    Explanation,
    attention_rollout,
    available_methods,
    default_method,
    explain,
    gradcam,
    occlusion,
)
from meddiag_desktop.core.models import ModelConfig, create_model
from meddiag_desktop.core.preprocess import preprocess

SIZE = 28
KWARGS = {
    "cnn": {"widths": (8, 16, 16, 16)},
    "rnn": {"hidden": 32, "embed": 32},
    "transformer": {"depth": 2, "d_model": 32, "heads": 4},
}
# (steps, learning rate): enough for ~100 % accuracy without saturating the softmax (occlusion
# measures probability drops, which vanish when a model is pushed to p == 1.0).
TRAINING = {"cnn": (25, 5e-3), "rnn": (25, 5e-3), "transformer": (15, 3e-3)}  # batch 16; ~0.5 s each
PAIRS = [(arch, method) for arch in KWARGS for method in available_methods(arch)]


def _config(arch: str) -> ModelConfig:
    return ModelConfig(arch=arch, task="toy", labels=("clear", "square"), img_size=SIZE, arch_kwargs=KWARGS[arch])


def _batch(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    images = rng.uniform(0.0, 0.4, size=(n, SIZE, SIZE)).astype(np.float32)
    labels = rng.integers(0, 2, n)
    for i in np.flatnonzero(labels):
        top, left = rng.integers(0, SIZE - 6 + 1, 2)
        images[i, top : top + 6, left : left + 6] = 1.0
    return images, labels


def _square_image(top: int, left: int, shape=(SIZE, SIZE), seed: int = 5) -> np.ndarray:
    image = np.random.default_rng(seed).uniform(0.0, 0.4, size=shape).astype(np.float32)
    image[top : top + 6, left : left + 6] = 1.0
    return image


def _adam_step(params, moments, grads, lr: float, step: int, b1: float = 0.9, b2: float = 0.999) -> None:
    """Plain Adam. (torch.optim's first use imports torch._dynamo: ~3 s, more than all the training.)"""
    with torch.no_grad():
        for p, (m, v), g in zip(params, moments, grads):
            m.mul_(b1).add_(g, alpha=1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            p.addcdiv_(m, (v / (1 - b2**step)).sqrt_().add_(1e-8), value=-lr / (1 - b1**step))


@pytest.fixture(scope="module")
def trained():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    models = {}
    try:
        for arch, (steps, lr) in TRAINING.items():
            torch.manual_seed(0)
            rng = np.random.default_rng(0)
            model = create_model(arch, 2, 1, SIZE, **KWARGS[arch])
            params = list(model.parameters())
            moments = [(torch.zeros_like(p), torch.zeros_like(p)) for p in params]
            for step in range(1, steps + 1):
                images, labels = _batch(16, rng)
                x = torch.from_numpy((images - 0.5) / 0.25)[:, None]
                loss = F.cross_entropy(model(x), torch.from_numpy(labels))
                _adam_step(params, moments, torch.autograd.grad(loss, params), lr, step)
            models[arch] = model.eval()
        yield models
    finally:
        torch.set_num_threads(threads)


def _fresh(arch: str) -> torch.nn.Module:
    torch.manual_seed(1)
    return create_model(arch, 2, 1, SIZE, **KWARGS[arch])


# --------------------------------------------------------------------------- method tables
def test_method_tables():
    assert METHODS == ("gradcam", "attention", "occlusion")
    assert available_methods("cnn") == ("gradcam", "occlusion")
    assert available_methods("transformer") == ("attention", "occlusion")
    assert available_methods("rnn") == ("occlusion",)
    assert [default_method(a) for a in ("cnn", "transformer", "rnn")] == ["gradcam", "attention", "occlusion"]


@pytest.mark.parametrize("arch,method", [("rnn", "gradcam"), ("rnn", "attention"), ("cnn", "attention"),
                                         ("transformer", "gradcam"), ("cnn", "saliency")])
def test_unavailable_method_is_a_clear_value_error(arch, method):
    with pytest.raises(ValueError, match=f"{method}.*not available for '{arch}'"):
        explain(_fresh(arch), _config(arch), _square_image(4, 4), method=method)


# --------------------------------------------------------------------------- shapes and ranges
IMAGES = {
    "grey_40x32": lambda: _square_image(10, 6, shape=(40, 32)),
    "grey_32x40": lambda: _square_image(6, 12, shape=(32, 40)),
    "rgb_36x36": lambda: np.repeat(_square_image(20, 8, shape=(36, 36))[..., None], 3, axis=2) * [1.0, 0.9, 0.8],
}


@pytest.mark.parametrize("image_name", list(IMAGES))
@pytest.mark.parametrize("arch,method", PAIRS)
def test_heatmap_matches_image_shape_and_range(trained, arch, method, image_name):
    image = IMAGES[image_name]()
    result = explain(trained[arch], _config(arch), image, method=method, target=1)
    heat = result.heatmap
    assert isinstance(result, Explanation) and result.method == method and result.target == 1
    assert heat.shape == image.shape[:2] and heat.dtype == np.float32
    assert np.isfinite(heat).all() and heat.min() >= 0.0 and heat.max() <= 1.0
    assert heat.max() > heat.min()
    h, w = image.shape[:2]  # margins cropped away by preprocess get 0
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    outside = np.ones((h, w), bool)
    outside[top : top + side, left : left + side] = False
    assert not heat[outside].any()


def test_default_method_and_target(trained):
    image = _square_image(3, 18)
    for arch in KWARGS:
        result = explain(trained[arch], _config(arch), image)
        assert result.method == default_method(arch)
        with torch.no_grad():
            predicted = int(trained[arch](preprocess(image, _config(arch))[None]).argmax())
        assert result.target == predicted == 1


# --------------------------------------------------------------------------- localisation
def _centre_of_mass(heat: np.ndarray) -> np.ndarray:
    rows, cols = np.mgrid[: heat.shape[0], : heat.shape[1]]
    return np.array([(heat * rows).sum(), (heat * cols).sum()]) / heat.sum()


@pytest.mark.parametrize("arch,method", PAIRS)
def test_map_moves_with_the_salient_region(trained, arch, method):
    half = SIZE // 2
    top_left = explain(trained[arch], _config(arch), _square_image(2, 2), method=method, target=1).heatmap
    bottom_right = explain(trained[arch], _config(arch), _square_image(20, 20), method=method, target=1).heatmap
    r, c = np.unravel_index(top_left.argmax(), top_left.shape)
    assert r < half and c < half, f"top-left square, argmax at {(r, c)}"
    r, c = np.unravel_index(bottom_right.argmax(), bottom_right.shape)
    assert r >= half and c >= half, f"bottom-right square, argmax at {(r, c)}"
    assert (_centre_of_mass(bottom_right) > _centre_of_mass(top_left) + 4).all()


# --------------------------------------------------------------------------- side effects
@pytest.mark.parametrize("arch,method", PAIRS)
@pytest.mark.parametrize("training", [True, False])
def test_explain_restores_mode_and_leaves_no_grad(arch, method, training):
    model = _fresh(arch).train(training)
    explain(model, _config(arch), _square_image(8, 8), method=method, target=1)
    assert all(m.training == training for m in model.modules())
    assert all(p.grad is None for p in model.parameters())


def test_mixed_module_modes_survive():
    model = _fresh("cnn").train()
    model.stem[1].eval()  # e.g. a frozen batch-norm while fine-tuning
    explain(model, _config("cnn"), _square_image(8, 8), method="gradcam")
    assert model.training and not model.stem[1].training and model.head.training


@pytest.mark.parametrize("method", ["attention", "occlusion"])
def test_target_out_of_range_is_a_value_error(method):
    with pytest.raises(ValueError, match="target 2 out of range"):
        explain(_fresh("transformer"), _config("transformer"), _square_image(8, 8), method=method, target=2)


def test_existing_grads_are_not_touched():
    model = _fresh("cnn")
    for p in model.parameters():
        p.grad = torch.ones_like(p)
    explain(model, _config("cnn"), _square_image(8, 8), method="gradcam", target=1)
    assert all(torch.equal(p.grad, torch.ones_like(p)) for p in model.parameters())


@pytest.mark.parametrize("context", [torch.no_grad, torch.inference_mode])
def test_gradcam_works_without_autograd_context(trained, context):
    image = _square_image(2, 2)
    expected = explain(trained["cnn"], _config("cnn"), image, method="gradcam", target=1).heatmap
    with context():
        heat = explain(trained["cnn"], _config("cnn"), image, method="gradcam", target=1).heatmap
    np.testing.assert_allclose(heat, expected, atol=1e-6)
    assert heat.max() == pytest.approx(1.0)


def test_hooks_are_removed_even_on_error(trained):
    model = trained["cnn"]
    x = preprocess(_square_image(2, 2), _config("cnn"))[None]
    with pytest.raises(ValueError, match="target"):
        gradcam(model, x, target=5)
    assert not model.cam_layer._forward_hooks


# --------------------------------------------------------------------------- method details
def test_gradcam_all_zero_map_stays_zero():
    model = _fresh("cnn").eval()
    torch.nn.init.zeros_(model.head.weight)  # logits no longer depend on the activation
    heat = gradcam(model, torch.randn(1, 1, SIZE, SIZE), target=0)
    assert heat.shape == (SIZE, SIZE) and heat.dtype == np.float32 and not heat.any()


def test_gradcam_requires_cam_layer():
    with pytest.raises(ValueError, match="cam_layer"):
        gradcam(_fresh("rnn"), torch.zeros(1, 1, SIZE, SIZE), target=0)


def test_attention_rollout_discard_ratio(trained):
    x = preprocess(_square_image(2, 2), _config("transformer"))[None]
    for ratio in (0.0, 0.5, 0.9):
        heat = attention_rollout(trained["transformer"], x, discard_ratio=ratio)
        assert heat.shape == (SIZE, SIZE) and np.isfinite(heat).all() and heat.max() == pytest.approx(1.0)
    with pytest.raises(ValueError):
        attention_rollout(trained["transformer"], x, discard_ratio=1.0)


def test_occlusion_options_cover_every_pixel(trained):
    x = preprocess(_square_image(20, 20), _config("cnn"))[None]
    heat = occlusion(trained["cnn"], x, target=1, patch=6, stride=5, baseline=0.0, batch_size=7)
    assert heat.shape == (SIZE, SIZE) and heat.max() == pytest.approx(1.0)
    r, c = np.unravel_index(heat.argmax(), heat.shape)
    assert r >= SIZE // 2 and c >= SIZE // 2


def test_occlusion_cancel_before_start(trained):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        explain(trained["rnn"], _config("rnn"), _square_image(2, 2), cancel=cancel)


def test_occlusion_cancel_between_batches(trained):
    model, cancel, calls = trained["rnn"], threading.Event(), []

    def count_and_cancel(*_):
        calls.append(1)
        if len(calls) == 2:  # the unoccluded pass, then the first batch of windows
            cancel.set()

    handle = model.register_forward_hook(count_and_cancel)
    try:
        x = preprocess(_square_image(2, 2), _config("rnn"))[None]
        with pytest.raises(Cancelled):
            occlusion(model, x, target=1, batch_size=8, cancel=cancel)
    finally:
        handle.remove()
    assert len(calls) == 2
    assert not model.training
