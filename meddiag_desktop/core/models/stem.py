"""A small convolutional stem (conv 3x3 + batch-norm + ReLU + 2x2 max-pool per stage) that the sequence
families can put in front of their sequence model: the LSTM then reads the feature map's rows, the
Transformer's tokens are the feature map's cells (a convolutional tokenizer, as in Compact
Convolutional Transformers, Hassani et al. 2021). The stem only extracts local features; the sequence
model still does all the aggregation over the image."""
from __future__ import annotations

from torch import nn

from .scattering import ScatteringStem


def conv_stem(in_chans: int, widths: tuple[int, ...] | list[int]) -> nn.Sequential:
    """One stage per width, each halving the side; no widths = identity (an empty Sequential)."""
    layers: list[nn.Module] = []
    for width in widths:
        layers += [nn.Conv2d(in_chans, int(width), 3, 1, 1, bias=False), nn.BatchNorm2d(int(width)),
                   nn.ReLU(inplace=True), nn.MaxPool2d(2)]
        in_chans = int(width)
    return nn.Sequential(*layers)


def stem_output(in_chans: int, img_size: int, widths: tuple[int, ...] | list[int]) -> tuple[int, int]:
    """(channels, side) of the stem's feature map for an ``img_size`` square input."""
    side = img_size
    for _ in widths:
        if side % 2:
            raise ValueError(f"the conv stem halves the side {len(widths)} time(s): {img_size} px does not divide")
        side //= 2
    return (int(widths[-1]) if widths else in_chans), side


def make_stem(in_chans: int, img_size: int, widths: tuple[int, ...] | list[int],
              scattering: int = 0) -> tuple[nn.Module, int, int]:
    """The stem and (channels, side) of its map: ``conv_stem(widths)``, or with ``scattering`` J a wavelet
    scattering front end (``scattering.ScatteringStem``: the side / 2^J, conv to the last width, 64 without)."""
    if scattering:
        width = int(widths[-1]) if widths else 64
        return ScatteringStem(in_chans, img_size, scattering, width), width, img_size // 2 ** scattering
    channels, side = stem_output(in_chans, img_size, widths)
    return conv_stem(in_chans, widths), channels, side
