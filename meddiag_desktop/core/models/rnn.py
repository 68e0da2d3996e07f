"""`rnn`: a bidirectional 2-layer LSTM that reads the image row by row (rows are time steps)."""
from __future__ import annotations

import torch
from torch import nn

from .registry import register_model


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
    ) -> None:
        super().__init__()
        self.img_size, self.in_chans = img_size, in_chans
        self.embed = nn.Sequential(nn.Linear(in_chans * img_size, embed), nn.LayerNorm(embed), nn.GELU())
        self.lstm = nn.LSTM(
            embed, hidden, num_layers=layers, batch_first=True, bidirectional=bidirectional,
            dropout=drop_rate if layers > 1 else 0.0,
        )
        self.num_features = 2 * hidden * (2 if bidirectional else 1)  # mean- and max-pooled outputs
        self.dropout = nn.Dropout(drop_rate)
        self.head = nn.Linear(self.num_features, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        if (c, h, w) != (self.in_chans, self.img_size, self.img_size):
            raise ValueError(f"RowLSTM expects {self.in_chans}x{self.img_size}x{self.img_size} inputs, got {c}x{h}x{w}")
        rows = x.permute(0, 2, 1, 3).reshape(n, h, c * w)  # (N, T=rows, features)
        out, _ = self.lstm(self.embed(rows))
        return torch.cat([out.mean(dim=1), out.amax(dim=1)], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.forward_features(x)))


@register_model("rnn")
def row_lstm(num_classes: int, in_chans: int = 1, img_size: int = 28, **kwargs) -> RowLSTM:
    return RowLSTM(num_classes, in_chans, img_size, **kwargs)
