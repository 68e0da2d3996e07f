"""Tests for meddiag_desktop.core.preprocess: channels, centre crop, resize, normalisation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from meddiag_desktop.core.models import ModelConfig
from meddiag_desktop.core.preprocess import normalize, prepare, preprocess, preprocess_array, preprocess_batch

from testkit import assert_close

GREY = ModelConfig(arch="cnn", task="t", labels=("a", "b"), img_size=28, in_chans=1, mean=(0.5,), std=(0.25,))
RGB = ModelConfig(arch="cnn", task="t", labels=("a", "b"), img_size=28, in_chans=3,
                  mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))




def _rand(*shape, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


# --------------------------------------------------------------------------- channels
@pytest.mark.parametrize("config", [GREY, RGB], ids=["grey-model", "rgb-model"])
@pytest.mark.parametrize("shape", [(28, 28), (28, 28, 3), (60, 45), (45, 60, 3)], ids=str)
def test_output_shape_and_dtype(config, shape):
    out = preprocess(_rand(*shape), config)
    assert out.shape == (config.in_chans, 28, 28) and out.dtype == torch.float32
    assert torch.isfinite(out).all()


def test_grey_image_to_grey_model_is_unchanged():
    image = _rand(28, 28)
    assert torch.equal(prepare(image, GREY), torch.from_numpy(image)[None])


def test_grey_image_to_rgb_model_repeats_the_channel():
    image = _rand(28, 28)
    out = prepare(image, RGB)
    for c in range(3):
        assert torch.equal(out[c], torch.from_numpy(image))


def test_rgb_image_to_rgb_model_keeps_channel_order():
    image = _rand(28, 28, 3)
    assert torch.equal(prepare(image, RGB), torch.from_numpy(image).permute(2, 0, 1))


def test_rgb_image_to_grey_model_uses_luminance():
    image = np.zeros((28, 28, 3), np.float32)
    image[..., 0], image[..., 1], image[..., 2] = 1.0, 0.5, 0.25
    out = prepare(image, GREY)
    expected = 0.299 * 1.0 + 0.587 * 0.5 + 0.114 * 0.25
    assert out.shape == (1, 28, 28)
    assert_close(out, torch.full((1, 28, 28), expected), 1e-6)


@pytest.mark.parametrize("shape", [(28, 28, 4), (28, 28, 1), (28, 28, 2), (3, 28, 28), (28,), (1, 28, 28, 3)], ids=str)
def test_bad_shapes_raise_value_error(shape):
    with pytest.raises(ValueError, match="expected an"):
        prepare(np.zeros(shape, np.float32), GREY)


# --------------------------------------------------------------------------- centre crop and resize
def test_wide_image_is_centre_cropped_without_its_margins():
    image = np.full((28, 40), 0.25, np.float32)
    image[:, :6], image[:, -6:] = 1.0, 0.0  # distinctive left / right margins, exactly cropped away
    assert torch.equal(prepare(image, GREY), torch.full((1, 28, 28), 0.25))


@pytest.mark.parametrize("shape,rows,cols", [((28, 41), slice(None), slice(6, 34)),
                                             ((41, 28), slice(6, 34), slice(None)),
                                             ((29, 28, 3), slice(0, 28), slice(None))])
def test_crop_takes_the_central_square(shape, rows, cols):
    image = _rand(*shape)
    expected = image[rows, cols]
    expected = expected.transpose(2, 0, 1) if expected.ndim == 3 else expected[None]
    config = RGB if image.ndim == 3 else GREY
    assert torch.equal(prepare(image, config), torch.from_numpy(np.ascontiguousarray(expected)))


def test_tall_image_margins_do_not_leak_into_resized_output():
    image = np.full((300, 100), 0.5, np.float32)
    image[:100], image[200:] = 1.0, 0.0  # only the middle 100x100 square is kept
    assert_close(prepare(image, GREY), torch.full((1, 28, 28), 0.5), 1e-6)


def test_image_at_img_size_is_not_resampled():
    image = _rand(28, 28, 3, seed=3)
    out = prepare(image, RGB)
    assert np.array_equal(out.numpy(), image.transpose(2, 0, 1))


def test_large_image_resize_stays_in_unit_range():
    yy, xx = np.mgrid[0:256, 0:256].astype(np.float32) / 255.0
    smooth = 0.5 + 0.5 * np.sin(6 * xx) * np.cos(4 * yy)
    checker = ((np.indices((256, 256)).sum(0) // 3) % 2).astype(np.float32)  # sharp edges: ringing risk
    for image in (smooth, checker, np.ones((256, 256), np.float32), np.zeros((256, 256), np.float32)):
        out = prepare(image, GREY)
        assert out.shape == (1, 28, 28)
        assert out.min() >= 0.0 and out.max() <= 1.0
    assert_close(prepare(np.ones((256, 256), np.float32), GREY), torch.ones(1, 28, 28), 1e-6)
    # a smooth image downsamples to roughly its local mean: the centre pixel stays close
    assert abs(prepare(smooth, GREY)[0, 14, 14].item() - smooth[128, 128]) < 0.1


def test_resize_up_from_small_image():
    image = np.full((10, 10), 0.3, np.float32)
    assert_close(prepare(image, GREY), torch.full((1, 28, 28), 0.3), 1e-6)


# --------------------------------------------------------------------------- normalisation
@pytest.mark.parametrize("value", [0.0, 0.7, 1.0])
def test_normalisation_is_exact_on_constant_image(value):
    out = preprocess(np.full((28, 28, 3), value, np.float32), RGB)
    for c in range(3):
        expected = (np.float32(value) - np.float32(RGB.mean[c])) / np.float32(RGB.std[c])
        assert torch.equal(out[c], torch.full((28, 28), float(expected)))
    grey = preprocess(np.full((28, 28), value, np.float32), GREY)
    expected = (np.float32(value) - np.float32(0.5)) / np.float32(0.25)
    assert torch.equal(grey, torch.full((1, 28, 28), float(expected)))


def test_preprocess_is_normalize_of_prepare():
    for image, config in [(_rand(50, 70), GREY), (_rand(64, 48, 3), RGB), (_rand(28, 28), RGB)]:
        assert torch.equal(preprocess(image, config), normalize(prepare(image, config), config))


@pytest.mark.parametrize("config", [GREY, RGB], ids=["grey-model", "rgb-model"])
def test_preprocess_array_is_preprocess_bit_for_bit(config):
    """The scan's numpy path gives preprocess's numbers exactly: at the model's size (normalised in
    numpy), resized (through torch), grey and colour, values over the whole float range of images."""
    rng = np.random.default_rng(3)
    images = [_rand(28, 28, seed=s) for s in range(20)] + [_rand(28, 28, 3), _rand(28, 40), _rand(60, 45, 3)]
    images += [rng.integers(0, 256, (28, 28)).astype(np.float32) / 255, np.zeros((28, 28), np.float32),
               np.ones((28, 28, 3), np.float32), rng.random((28, 28)).astype(np.float32) * 1e-6]
    for image in images:
        out = preprocess_array(image, config)
        assert out.dtype == np.float32 and out.flags.writeable
        assert np.array_equal(out, preprocess(image, config).numpy())
        assert not np.shares_memory(out, image)


def test_normalize_works_on_batches():
    batch = torch.rand(4, 3, 28, 28)
    out = normalize(batch, RGB)
    for c in range(3):
        assert torch.equal(out[:, c], (batch[:, c] - RGB.mean[c]) / RGB.std[c])


def test_preprocess_batch_stacks_single_images():
    images = [_rand(28, 28, seed=s) for s in range(3)] + [_rand(40, 30, seed=9)]
    batch = preprocess_batch(images, GREY)
    assert batch.shape == (4, 1, 28, 28)
    for i, image in enumerate(images):
        assert torch.equal(batch[i], preprocess(image, GREY))


def test_prepare_does_not_modify_its_input():
    image = _rand(40, 30, 3)
    copy = image.copy()
    preprocess(image, GREY)
    preprocess(image, RGB)
    assert np.array_equal(image, copy)
