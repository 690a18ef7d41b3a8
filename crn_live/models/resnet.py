"""A ResNet-18 trunk with a configurable base width (BasicBlocks ``[2, 2, 2, 2]``), from scratch.

Shared by the visual encoder (3 input channels) and the audio classifier (1 input channel).
The trunk ends before pooling: ``(B, in, H, W) -> (B, 8*width, H/32, W/32)`` (sizes rounded
up at each of the five stride-2 stages).
"""

from __future__ import annotations

import torch
from torch import nn


def downsampled(size: int, stages: int = 5) -> int:
    """Spatial size after ``stages`` stride-2 stages with ``ceil`` rounding."""
    for _ in range(stages):
        size = (size - 1) // 2 + 1
    return size


class BasicBlock(nn.Module):
    """Two 3x3 convs with BatchNorm and an identity (or 1x1 projection) shortcut."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU()
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, in, H, W) -> (B, out, H/stride, W/stride)``."""
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + self.shortcut(x))


def _stage(in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        BasicBlock(in_channels, out_channels, stride), BasicBlock(out_channels, out_channels, 1)
    )


class ResNetTrunk(nn.Module):
    """ResNet-18 feature extractor without pooling/FC: ``(B, in_channels, H, W) ->
    (B, 8*width, ceil(H/32), ceil(W/32))``."""

    def __init__(self, in_channels: int, width: int) -> None:
        super().__init__()
        self.out_channels = 8 * width
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, width, 7, 2, padding=3, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.MaxPool2d(3, 2, padding=1),
        )
        self.layers = nn.Sequential(
            _stage(width, width, 1),
            _stage(width, 2 * width, 2),
            _stage(2 * width, 4 * width, 2),
            _stage(4 * width, 8 * width, 2),
        )
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, in_channels, H, W) -> (B, 8*width, ceil(H/32), ceil(W/32))``."""
        return self.layers(self.stem(x))


def conv1x1_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    """The reference's channel reduction: 1x1 conv + BatchNorm + ReLU."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels), nn.ReLU()
    )
