"""The scattering transform (core.models.scattering) and the hybrid CNN built on it."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from meddiag_desktop.core.models import create_model
from meddiag_desktop.core.models.scattering import Scattering2D, periodize


@pytest.mark.parametrize("shape, scale", [((28, 28), 2), ((28, 28), 1), ((32, 24), 3)])
def test_equals_kymatio_the_reference_implementation(shape, scale):
    frontend = pytest.importorskip("kymatio.scattering2d.frontend.torch_frontend")
    reference = frontend.ScatteringTorch2D(J=scale, shape=shape, L=8)
    x = torch.rand(3, 2, *shape, generator=torch.Generator().manual_seed(scale))
    expected, ours = reference(x), Scattering2D(shape, scale)(x)
    assert ours.shape == expected.shape == (3, 2, Scattering2D(shape, scale).channels,
                                            shape[0] // 2 ** scale, shape[1] // 2 ** scale)
    torch.testing.assert_close(ours, expected, atol=1e-6, rtol=1e-5)


def test_channels_orders_and_what_the_weights_file_holds():
    module = Scattering2D((28, 28), 2)
    assert module.channels == 1 + 2 * 8 + 64 == 81
    assert module.state_dict() == {}  # the filters are rebuilt, never stored
    x = torch.zeros(1, 1, 28, 28)
    x[..., 10:18, 10:18] = 1.0
    out = module(x)[0, 0]
    assert out.shape == (81, 7, 7) and torch.isfinite(out).all()
    edges = out[1:17].sum(0)  # order 1: averaged wavelet moduli, largest where the square's edges are
    assert float(edges[2:5, 2:5].mean()) > 10 * float(edges[0, 0]) > 0
    # order 0 is a local average: a constant image gives (almost) that constant everywhere
    flat = module(torch.full((1, 1, 28, 28), 0.5))[0, 0]
    torch.testing.assert_close(flat[0], torch.full((7, 7), 0.5), atol=2e-3, rtol=0)
    assert float(flat[1:].abs().max()) < 1e-3  # wavelets have zero mean: nothing to see in a flat image
    with pytest.raises(ValueError, match="expected 28x28"):
        module(torch.zeros(1, 1, 32, 32))


def test_a_large_batch_is_transformed_in_chunks_equal_to_one_piece():
    module = Scattering2D((28, 28), 2)
    x = torch.rand(75, 2, 28, 28, generator=torch.Generator().manual_seed(0))  # 16 images a chunk: 5 chunks
    whole = Scattering2D((28, 28), 2)
    whole.chunk = 10 ** 6
    chunked, expected = module(x), whole(x)
    assert chunked.shape == (75, 2, 81, 7, 7)
    assert torch.equal(chunked, expected)  # bit for bit: the same arithmetic per image
    x.requires_grad_(True)
    module(x).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_periodize_sums_the_masked_spectrum_over_its_periods():
    spectrum = np.arange(64, dtype=np.float32).reshape(8, 8)
    assert np.array_equal(periodize(spectrum, 0), spectrum)
    half = periodize(spectrum, 1)
    masked = spectrum.copy()
    masked[2:6, :] = 0
    masked[:, 2:6] = 0
    assert np.array_equal(half, masked[:4, :4] + masked[4:, :4] + masked[:4, 4:] + masked[4:, 4:])


def test_hybrid_cnn_and_a_mixed_ensemble_of_plain_and_scattering_members():
    hybrid = create_model("cnn", 2, 1, 28, scattering=2, widths=[8, 16], depths=[1, 1]).eval()
    x = torch.rand(4, 1, 28, 28, requires_grad=True)
    logits = hybrid(x)
    assert logits.shape == (4, 2) and hybrid.num_features == 16
    logits.sum().backward()  # differentiable down to the pixels (saliency, Grad-CAM through the stages)
    assert x.grad is not None and torch.isfinite(x.grad).all() and float(x.grad.abs().sum()) > 0
    mixed = create_model("cnn", 2, 1, 28, widths=[4, 8, 8, 8], members=3,
                         variants=[{}, {"scattering": 2, "widths": [8, 16], "depths": [1, 1]}])
    kinds = [type(m.stem).__name__ for m in mixed.members]
    assert kinds == ["Sequential", "ScatteringStem", "Sequential"]
    assert mixed.num_features == 8 + 16 + 8 and mixed(torch.rand(2, 1, 28, 28)).shape == (2, 2)
    assert not any("scattering" in key for key in mixed.state_dict())
