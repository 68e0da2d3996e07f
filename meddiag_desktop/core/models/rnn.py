"""`rnn`: a bidirectional 2-layer LSTM that reads the image row by row (rows are time steps).

``stem`` (conv widths, default none) puts a small convolutional stem (``stem.conv_stem``) in front: the
LSTM then reads the rows of its feature map (a CRNN). ``positions=True`` reads the map cell by cell instead
(raster order: h x w steps of one cell's channels, the same weights for every cell, as a sequence model reads
words). ``columns=True`` adds a second LSTM that reads the columns (column-major with ``positions``); the two
pooled readings are concatenated."""
from __future__ import annotations

import torch
from torch import nn

from .registry import register_model
from .stem import make_stem


class RowLSTM(nn.Module):
    def __init__(
        self,
        num_classes: int,
        in_chans: int = 1,
        img_size: int = 28,
        hidden: int = 128,
        layers: int = 2,
        embed: int = 128,
        bidirectional: bool = True,
        drop_rate: float = 0.2,
        stem: tuple[int, ...] = (),
        scattering: int = 0,
        columns: bool = False,
        positions: bool = False,
    ) -> None:
        super().__init__()
        self.img_size, self.in_chans = img_size, in_chans
        self.stem, channels, side = make_stem(in_chans, img_size, stem, scattering)
        self.positions = positions
        step_features = channels if positions else channels * side

        def reader() -> tuple[nn.Module, nn.LSTM]:
            return (nn.Sequential(nn.Linear(step_features, embed), nn.LayerNorm(embed), nn.GELU()),
                    nn.LSTM(embed, hidden, num_layers=layers, batch_first=True, bidirectional=bidirectional,
                            dropout=drop_rate if layers > 1 else 0.0))

        self.embed, self.lstm = reader()
        self.column_embed, self.column_lstm = reader() if columns else (None, None)
        # mean- and max-pooled outputs of each reading
        self.num_features = 2 * hidden * (2 if bidirectional else 1) * (2 if columns else 1)
        self.dropout = nn.Dropout(drop_rate)
        self.head = nn.Linear(self.num_features, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        if (c, h, w) != (self.in_chans, self.img_size, self.img_size):
            raise ValueError(f"RowLSTM expects {self.in_chans}x{self.img_size}x{self.img_size} inputs, got {c}x{h}x{w}")
        maps = self.stem(x)
        out, _ = self.lstm(self.embed(self.sequence(maps)))
        pooled = [out.mean(dim=1), out.amax(dim=1)]
        if self.column_lstm is not None:
            out, _ = self.column_lstm(self.column_embed(self.sequence(maps.transpose(2, 3))))
            pooled += [out.mean(dim=1), out.amax(dim=1)]
        return torch.cat(pooled, dim=1)

    def sequence(self, maps: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) map -> (N, T, features): its H rows of C*W features, or with ``positions`` its H*W cells
        in raster order, C features each."""
        n, c, h, w = maps.shape
        if self.positions:
            return maps.flatten(2).transpose(1, 2)
        return maps.permute(0, 2, 1, 3).reshape(n, h, c * w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.forward_features(x)))


@register_model("rnn")
def row_lstm(num_classes: int, in_chans: int = 1, img_size: int = 28, **kwargs) -> RowLSTM:
    if "stem" in kwargs:
        kwargs["stem"] = tuple(kwargs["stem"])
    return RowLSTM(num_classes, in_chans, img_size, **kwargs)
