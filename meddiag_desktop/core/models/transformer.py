"""`transformer`: patch embedding + learned positional encoding + ``nn.TransformerEncoder`` + CLS head.

``stem`` (conv widths, default none) puts a small convolutional tokenizer (``stem.conv_stem``) before the
patch embedding: the tokens are then cells of its feature map (``patch_size`` counted on that map)."""
from __future__ import annotations

import torch
from torch import nn

from .registry import register_model
from .stem import make_stem


class PatchTransformer(nn.Module):
    def __init__(
        self,
        num_classes: int,
        in_chans: int = 1,
        img_size: int = 28,
        patch_size: int = 4,
        d_model: int = 128,
        heads: int = 8,
        depth: int = 4,
        mlp_ratio: float = 2.0,
        drop_rate: float = 0.1,
        stem: tuple[int, ...] = (),
        scattering: int = 0,
    ) -> None:
        super().__init__()
        stem_module, channels, side = make_stem(in_chans, img_size, stem, scattering)
        if side % patch_size:
            where = f"the conv stem's {side} px map (img_size {img_size})" if stem else f"img_size {img_size}"
            raise ValueError(f"{where} is not a multiple of patch_size {patch_size}")
        self.grid = side // patch_size
        self.stem = stem_module
        self.patch_embed = nn.Conv2d(channels, d_model, patch_size, patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d_model))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + self.grid**2, d_model))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        layer = nn.TransformerEncoderLayer(
            d_model, heads, int(d_model * mlp_ratio), drop_rate, activation="gelu", batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, num_classes)
        self.num_features = d_model

    def _tokens(self, x: torch.Tensor) -> torch.Tensor:
        patches = self.patch_embed(self.stem(x)).flatten(2).transpose(1, 2)  # (N, grid*grid, D)
        cls = self.cls_token.expand(len(x), -1, -1)
        return torch.cat([cls, patches], dim=1) + self.pos_embed

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.encoder(self._tokens(x)))[:, 0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_features(x))

    @torch.no_grad()
    def attention_maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Head-averaged attention of every layer, each (N, T, T); replays the encoder in eval mode."""
        was_training = self.training
        self.eval()  # dropout off, so each map is row-stochastic
        try:
            tokens, maps = self._tokens(x), []
            for layer in self.encoder.layers:
                h = layer.norm1(tokens)
                attended, weights = layer.self_attn(h, h, h, need_weights=True, average_attn_weights=True)
                tokens = tokens + attended
                tokens = tokens + layer.linear2(layer.activation(layer.linear1(layer.norm2(tokens))))
                maps.append(weights)
            return maps
        finally:
            self.train(was_training)


@register_model("transformer")
def patch_transformer(num_classes: int, in_chans: int = 1, img_size: int = 28, **kwargs) -> PatchTransformer:
    if "stem" in kwargs:
        kwargs["stem"] = tuple(kwargs["stem"])
    return PatchTransformer(num_classes, in_chans, img_size, **kwargs)
