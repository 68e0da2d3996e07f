"""`cnn`: a small ResNet (basic residual blocks with batch-norm) sized for 28-64 px inputs."""
from __future__ import annotations

import torch
from torch import nn

from .registry import register_model
from .scattering import ScatteringStem


class BasicBlock(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.act = nn.ReLU(inplace=True)
        self.shortcut = nn.Identity()
        if stride != 1 or in_ch != out_ch:
            self.shortcut = nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, stride, bias=False), nn.BatchNorm2d(out_ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.act(out + self.shortcut(x))


class SmallResNet(nn.Module):
    def __init__(
        self,
        num_classes: int,
        in_chans: int = 1,
        img_size: int = 28,
        widths: tuple[int, ...] = (16, 32, 64, 128),
        depths: tuple[int, ...] = (1, 1, 1, 1),
        drop_rate: float = 0.2,
        scattering: int = 0,
    ) -> None:
        super().__init__()
        stem_stride = 2 if img_size >= 64 else 1  # keep ~28-32 px maps entering the stages
        if scattering:
            self.stem = ScatteringStem(in_chans, img_size, scattering, widths[0])
        else:
            self.stem = nn.Sequential(
                nn.Conv2d(in_chans, widths[0], 3, stem_stride, 1, bias=False),
                nn.BatchNorm2d(widths[0]),
                nn.ReLU(inplace=True),
            )
        stages, in_ch = [], widths[0]
        for i, (width, depth) in enumerate(zip(widths, depths)):
            blocks = [BasicBlock(in_ch, width, 1 if i == 0 else 2)]
            blocks += [BasicBlock(width, width, 1) for _ in range(depth - 1)]
            stages.append(nn.Sequential(*blocks))
            in_ch = width
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(drop_rate)
        self.head = nn.Linear(in_ch, num_classes)
        self.num_features = in_ch

    @property
    def cam_layer(self) -> nn.Module:
        """The last convolutional stage: its activations feed Grad-CAM."""
        return self.stages[-1]

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.stages(self.stem(x))).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.forward_features(x)))


@register_model("cnn")
def small_resnet(num_classes: int, in_chans: int = 1, img_size: int = 28, **kwargs) -> SmallResNet:
    for key in ("widths", "depths"):
        if key in kwargs:
            kwargs[key] = tuple(kwargs[key])
    return SmallResNet(num_classes, in_chans, img_size, **kwargs)
