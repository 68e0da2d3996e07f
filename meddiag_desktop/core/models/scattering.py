"""The 2-D wavelet scattering transform (Mallat 2012; Bruna & Mallat 2013) as a fixed torch module.

The same transform as kymatio's ``Scattering2D`` (Morlet filter bank, reflection padding, Fourier-domain
subsampling; output channels in kymatio's order: order 0, order 1 by (j1, theta1), order 2 by (n1, n2)),
written with numpy / torch only: kymatio needs SciPy (113 MB, excluded from the bundle) to build its filters
and loops over every scattering path in Python; here each order is one batched FFT over all orientations.
``tests/core/test_scattering.py`` checks it against kymatio itself. The filters are non-persistent
buffers, rebuilt from (shape, J, L) on construction: a model's weights file holds none of them.
The filter construction (``gabor_2d``, ``morlet_2d``, ``periodize``) follows kymatio's ``filter_bank.py``,
whose licence is below.
"""
from __future__ import annotations

# BSD 3-Clause License
#
# Copyright (c) 2018, the Kymatio developers
# All rights reserved.
#
# Redistribution and use in source and binary forms, with or without
# modification, are permitted provided that the following conditions are met:
#
# * Redistributions of source code must retain the above copyright notice, this
#   list of conditions and the following disclaimer.
#
# * Redistributions in binary form must reproduce the above copyright notice,
#   this list of conditions and the following disclaimer in the documentation
#   and/or other materials provided with the distribution.
#
# * Neither the name of the copyright holder nor the names of its
#   contributors may be used to endorse or promote products derived from
#   this software without specific prior written permission.
#
# THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS"
# AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE
# IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE
# DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE
# FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL
# DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR
# SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER
# CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY,
# OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE
# OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.

import numpy as np
import torch
from torch import nn


def gabor_2d(m: int, n: int, sigma: float, theta: float, xi: float, slant: float = 1.0) -> np.ndarray:
    """A Gabor filter on an (m, n) grid, periodised over 5 x 5 copies (kymatio's ``gabor_2d``)."""
    rotate = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]], np.float32)
    rotate_inverse = np.array([[np.cos(theta), np.sin(theta)], [-np.sin(theta), np.cos(theta)]], np.float32)
    curvature = rotate @ np.array([[1, 0], [0, slant * slant]]) @ rotate_inverse / (2 * sigma * sigma)
    gabor = np.zeros((m, n), np.complex64)
    for ex in (-2, -1, 0, 1, 2):
        for ey in (-2, -1, 0, 1, 2):
            xx, yy = np.mgrid[ex * m:m + ex * m, ey * n:n + ey * n]
            arg = (-(curvature[0, 0] * xx * xx + (curvature[0, 1] + curvature[1, 0]) * xx * yy
                     + curvature[1, 1] * yy * yy) + 1j * (xx * xi * np.cos(theta) + yy * xi * np.sin(theta)))
            gabor += np.exp(arg)
    return gabor / (2 * 3.1415 * sigma * sigma / slant)


def morlet_2d(m: int, n: int, sigma: float, theta: float, xi: float, slant: float) -> np.ndarray:
    """A Gabor filter minus the Gaussian that makes its mean zero (a Morlet wavelet)."""
    wave = gabor_2d(m, n, sigma, theta, xi, slant)
    envelope = gabor_2d(m, n, sigma, theta, 0, slant)
    return wave - np.sum(wave) / np.sum(envelope) * envelope


def periodize(spectrum: np.ndarray, res: int) -> np.ndarray:
    """The (m / 2^res, n / 2^res) spectrum of the filter subsampled by 2^res: the spectrum with its high
    band masked out, summed over its 2^res x 2^res periods."""
    m, n = spectrum.shape
    k = 2 ** res
    mask = np.ones(spectrum.shape, np.float32)
    mask[int(m * 2 ** (-res - 1)):int(m * 2 ** (-res - 1)) + int(m * (1 - 2 ** -res)), :] = 0
    mask[:, int(n * 2 ** (-res - 1)):int(n * 2 ** (-res - 1)) + int(n * (1 - 2 ** -res))] = 0
    return (spectrum * mask).reshape(k, m // k, k, n // k).sum(axis=(0, 2)).astype(spectrum.dtype)


def real_spectrum(signal: np.ndarray) -> np.ndarray:
    """Real part of the 2-D FFT in single precision, as kymatio computes its filters."""
    return np.real(np.fft.fft2(signal)).astype(np.float32)


def subsample(spectrum: torch.Tensor, k: int) -> torch.Tensor:
    """Spectrum of the signal subsampled by ``k`` in space: the mean of its k x k periods."""
    if k == 1:
        return spectrum
    *batch, m, n = spectrum.shape
    parts = torch.view_as_real(spectrum).reshape(*batch, k, m // k, k, n // k, 2)
    return torch.view_as_complex(parts.mean(-3).mean(-4))  # on real pairs: ~10x faster than a complex mean


class Scattering2D(nn.Module):
    """(B, C, M, N) -> (B, C, K, M / 2^J, N / 2^J), K = 1 + J L + L^2 J (J - 1) / 2 (orders 0, 1 and 2).

    Large batches are transformed ``chunk`` images at a time: the per-image arithmetic is the same (equal to the
    bit), and 32 images' spectra stay in cache - a batch of 125 took twice as long in one piece on one core."""

    chunk = 32

    def __init__(self, shape: tuple[int, int], scale: int = 2, orientations: int = 8) -> None:
        super().__init__()
        m, n = shape
        if 2 ** scale > min(m, n):
            raise ValueError(f"a {m}x{n} image cannot be analysed at 2^{scale} px")
        self.shape, self.scale, self.orientations = (m, n), scale, orientations
        self.padded = tuple(((side + 2 ** scale) // 2 ** scale + 1) * 2 ** scale for side in (m, n))
        pm, pn = self.padded
        for j in range(scale):  # psi_{j}_{r}: the L wavelets of octave j at every level r the transform uses
            spectra = [real_spectrum(morlet_2d(pm, pn, 0.8 * 2 ** j, (int(orientations - orientations / 2 - 1) - t)
                                               * np.pi / orientations, 3.0 / 4.0 * np.pi / 2 ** j,
                                               4.0 / orientations)) for t in range(orientations)]
            for res in range(min(j + 1, max(scale - 1, 1))):
                self.register_buffer(f"psi_{j}_{res}", torch.from_numpy(np.stack([periodize(s, res) for s in spectra])),
                                     persistent=False)
        phi = real_spectrum(gabor_2d(pm, pn, 0.8 * 2 ** (scale - 1), 0, 0))
        for res in range(scale):
            self.register_buffer(f"phi_{res}", torch.from_numpy(periodize(phi, res)), persistent=False)
        self.channels = 1 + scale * orientations + orientations ** 2 * scale * (scale - 1) // 2

    def pad(self, x: torch.Tensor) -> torch.Tensor:
        (m, n), (pm, pn) = self.shape, self.padded
        top, left = (pm - m) // 2, (pn - n) // 2
        return nn.functional.pad(x, (left, pn - n - left, top, pm - m - top), mode="reflect")

    def low_pass(self, spectrum: torch.Tensor, j: int) -> torch.Tensor:
        """Averaged by phi, subsampled to the output grid, back in space, padding cut."""
        out = torch.fft.ifft2(subsample(spectrum * getattr(self, f"phi_{j}"), 2 ** (self.scale - j))).real
        return out[..., 1:-1, 1:-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, chans, m, n = x.shape
        if (m, n) != self.shape:
            raise ValueError(f"expected {self.shape[0]}x{self.shape[1]} images, got {m}x{n}")
        per_chunk = max(1, self.chunk // chans)
        if batch > per_chunk:
            return torch.cat([self(part) for part in x.split(per_chunk)])
        x_hat = torch.fft.fft2(self.pad(x.reshape(batch * chans, 1, m, n)))  # (BC, 1, pm, pn)
        orders = [self.low_pass(x_hat, 0)]
        first = []  # |x * psi_j1| spectra per j1: (BC, L, ., .)
        for j1 in range(self.scale):
            u1 = torch.fft.fft2(torch.fft.ifft2(subsample(x_hat * getattr(self, f"psi_{j1}_0"), 2 ** j1)).abs())
            first.append(u1)
            orders.append(self.low_pass(u1, j1))
        for j1 in range(self.scale - 1):
            second = []
            for j2 in range(j1 + 1, self.scale):
                # (BC, L1, 1, ., .) x (L2, ., .) -> (BC, L1, L2, ., .): every orientation pair at once
                wave = first[j1][:, :, None] * getattr(self, f"psi_{j2}_{j1}")
                second.append(self.low_pass(torch.fft.fft2(torch.fft.ifft2(subsample(wave, 2 ** (j2 - j1))).abs()), j2))
            orders.append(torch.cat(second, dim=2).flatten(1, 2))  # by theta1, then (j2, theta2)
        out = torch.cat(orders, dim=1)  # (BC, K, m / 2^J, n / 2^J)
        return out.reshape(batch, chans, self.channels, *out.shape[-2:])


class ScatteringStem(nn.Module):
    """A fixed wavelet scattering transform (``Scattering2D``) of ``scale`` octaves, then a learned
    3x3 conv: a hybrid network's front end (Oyallon et al. 2017), stable features for small training sets.
    With ``scale`` 2 a 28 px image becomes 81 channels at 7 x 7, which the stages take from there."""

    def __init__(self, in_chans: int, img_size: int, scale: int, width: int) -> None:
        super().__init__()
        self.scattering = Scattering2D((img_size, img_size), scale)
        channels = in_chans * self.scattering.channels
        self.norm = nn.BatchNorm2d(channels)
        self.conv = nn.Sequential(nn.Conv2d(channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width),
                                  nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        coefficients = self.scattering(x.contiguous())
        return self.conv(self.norm(coefficients.flatten(1, 2)))
