"""ConditionedUNet: shapes for the offline and the windowed layouts, mask range, conditioning."""

from __future__ import annotations

import pytest
import torch

from crn_live.models.unet import ConditionedUNet
from tests.helpers import lively


@pytest.mark.parametrize("in_channels", [1, 2])
@pytest.mark.parametrize("frames, time_strides", [(256, 7), (64, 5)])
def test_seven_layer_unet_shapes(in_channels: int, frames: int, time_strides: int) -> None:
    net = ConditionedUNet(in_channels, ngf=2, depth=7, embed_dim=8, time_strides=time_strides)
    x = torch.randn(3, in_channels, 256, frames)
    with torch.no_grad():
        mask = net(x, torch.randn(3, 8))
    assert mask.shape == (3, 1, 256, frames)
    assert 0.0 <= float(mask.min()) and float(mask.max()) <= 1.0


def test_bottleneck_is_two_by_two_for_the_reference_layout() -> None:
    net = ConditionedUNet(1, ngf=2, depth=7, embed_dim=8, time_strides=7)
    x = torch.randn(1, 1, 256, 256)
    for block in net.down:
        x = block(x)
    assert x.shape[2:] == (2, 2)


def test_mask_depends_on_the_embedding() -> None:
    net = lively(ConditionedUNet(1, ngf=2, depth=5, embed_dim=8, time_strides=3))
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(1, 1, 64, 16, generator=generator)
    embedding = torch.randn(1, 8, generator=generator)
    with torch.no_grad():
        a, again = net(x, embedding), net(x, embedding.clone())
        b = net(x, -embedding)
        batch = net(x.expand(2, -1, -1, -1), torch.cat([embedding, -embedding]))
    assert torch.equal(a, again)  # the same embedding gives the same mask
    difference = (a - b).abs()
    assert difference.mean() > 0.005 and difference.max() > 0.1  # another one changes it
    torch.testing.assert_close(batch, torch.cat([a, b]))  # each object its own embedding
