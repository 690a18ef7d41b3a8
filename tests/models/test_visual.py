"""VisualEncoder: object crops -> embeddings (tiny widths)."""

from __future__ import annotations

import pytest
import torch

from crn_live.models import VisualEncoder
from tests.helpers import lively, tiny_config


def test_visual_encoder_maps_crops_to_embeddings() -> None:
    config = tiny_config()
    encoder = VisualEncoder(config)
    embeddings = encoder(torch.rand(3, 3, config.crop_size, config.crop_size))
    assert embeddings.shape == (3, config.embed_dim)


def test_visual_encoder_refuses_wrong_crop_size() -> None:
    config = tiny_config()
    with pytest.raises(ValueError, match="crops must be"):
        VisualEncoder(config)(torch.rand(1, 3, 64, 64))


def test_each_crop_gets_its_own_embedding() -> None:
    config = tiny_config()
    encoder = lively(VisualEncoder(config))
    crops = torch.rand(2, 3, config.crop_size, config.crop_size,
                       generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        both = encoder(crops)
        first = encoder(crops[:1])
    torch.testing.assert_close(both[:1], first)  # eval mode: no crop leaks into another's
    assert (both[0] - both[1]).abs().max() > 1e-3
