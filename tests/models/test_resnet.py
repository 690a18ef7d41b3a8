"""The ResNet-18 trunk: stride-32 feature maps with ceil rounding, blocks and their shortcuts."""

from __future__ import annotations

import pytest
import torch

from crn_live.models.resnet import BasicBlock, ResNetTrunk, conv1x1_bn_relu, downsampled


@pytest.mark.parametrize("size, expected", [(32, 1), (33, 2), (96, 3), (224, 7), (1, 1)])
def test_downsampled_is_ceil_over_five_halvings(size: int, expected: int) -> None:
    assert downsampled(size) == expected


@pytest.mark.parametrize("height, width", [(32, 32), (64, 16), (40, 70)])
def test_trunk_maps_to_eight_times_width_at_stride_32(height: int, width: int) -> None:
    trunk = ResNetTrunk(in_channels=3, width=4).eval()
    with torch.no_grad():
        out = trunk(torch.rand(2, 3, height, width))
    assert trunk.out_channels == 32
    assert out.shape == (2, 32, downsampled(height), downsampled(width))


def test_blocks_keep_or_project_the_shortcut() -> None:
    same, strided = BasicBlock(8, 8, 1).eval(), BasicBlock(8, 16, 2).eval()
    x = torch.rand(1, 8, 12, 12)
    with torch.no_grad():
        assert same(x).shape == (1, 8, 12, 12)
        assert strided(x).shape == (1, 16, 6, 6)
        assert conv1x1_bn_relu(8, 3)(x).shape == (1, 3, 12, 12)
        assert float(same(x).min()) >= 0.0  # ends in a ReLU
