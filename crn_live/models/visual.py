"""Visual stream: one embedding per detected object crop (ResNet-18 + 1x1 conv + FC).

As in the reference, the ResNet feature map is *not* globally pooled: a 1x1 conv reduces it to
128 channels and an FC maps the flattened ``128 x (crop/32)^2`` map to ``embed_dim``, so the
embedding keeps where things are in the crop. Trained from scratch (no pretrained weights).
"""

from __future__ import annotations

import torch
from torch import nn

from crn_live.config import ModelConfig
from crn_live.models.resnet import ResNetTrunk, conv1x1_bn_relu, downsampled
from crn_live.models.unet import init_weights

#: ImageNet channel statistics (RGB) used to normalise crops inside the network.
IMAGE_MEAN = (0.485, 0.456, 0.406)
IMAGE_STD = (0.229, 0.224, 0.225)
REDUCED_CHANNELS = 128


class VisualEncoder(nn.Module):
    """Object crops ``(objects, 3, crop, crop)`` RGB float in ``[0, 1]`` -> embeddings
    ``(objects, embed_dim)``."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.crop_size = config.crop_size
        self.trunk = ResNetTrunk(3, config.visual_width)
        self.reduce = conv1x1_bn_relu(self.trunk.out_channels, REDUCED_CHANNELS)
        side = downsampled(config.crop_size)
        self.fc = nn.Linear(REDUCED_CHANNELS * side * side, config.embed_dim)
        self.reduce.apply(init_weights)
        self.fc.apply(init_weights)
        self.register_buffer("mean", torch.tensor(IMAGE_MEAN)[:, None, None], persistent=False)
        self.register_buffer("std", torch.tensor(IMAGE_STD)[:, None, None], persistent=False)

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        """``(objects, 3, crop, crop)`` in ``[0, 1]`` -> ``(objects, embed_dim)``."""
        if crops.shape[1:] != (3, self.crop_size, self.crop_size):
            raise ValueError(f"crops must be (objects, 3, {self.crop_size}, {self.crop_size}), "
                             f"got {tuple(crops.shape)}")
        features = self.reduce(self.trunk((crops - self.mean) / self.std))
        return self.fc(features.flatten(1))
