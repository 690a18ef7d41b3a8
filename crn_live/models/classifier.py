"""Audio classifier (co-separation consistency) and the feature extractor of the feature loss.

:class:`AudioClassifier` is a 1-channel ResNet-18 on a log separated spectrogram: global max
pool + FC to ``n_classes`` logits (as in the reference), and it also returns the unpooled
feature map. :class:`FeatureExtractor` maps that map to an ``embed_dim`` vector (1x1 conv to
128 channels + FC over the flattened map, the reference's ``Down_channels``) for a
feature-matching loss between refined output and ground truth.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from crn_live.config import ModelConfig
from crn_live.models.resnet import ResNetTrunk, conv1x1_bn_relu, downsampled
from crn_live.models.unet import init_weights
from crn_live.models.visual import REDUCED_CHANNELS


class AudioClassifier(nn.Module):
    """Log spectrogram ``(objects, 1, bins, frames)`` -> logits ``(objects, n_classes)`` and
    features ``(objects, 8*classifier_width, ceil(bins/32), ceil(frames/32))``."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.trunk = ResNetTrunk(1, config.classifier_width)
        self.fc = nn.Linear(self.trunk.out_channels, config.n_classes)
        self.fc.apply(init_weights)

    def forward(self, log_spec: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(objects, 1, bins, frames)`` -> ``(logits (objects, n_classes), features)``."""
        features = self.trunk(log_spec)
        logits = self.fc(F.adaptive_max_pool2d(features, 1).flatten(1))
        return logits, features


class FeatureExtractor(nn.Module):
    """Classifier features -> ``(objects, embed_dim)``, for inputs of ``bins x frames``
    (default: ``log_bins x context_frames``; the FC size depends on it)."""

    def __init__(self, config: ModelConfig, frames: int | None = None) -> None:
        super().__init__()
        frames = config.context_frames if frames is None else frames
        self.map_size = (downsampled(config.log_bins), downsampled(frames))
        self.reduce = conv1x1_bn_relu(8 * config.classifier_width, REDUCED_CHANNELS)
        self.fc = nn.Linear(REDUCED_CHANNELS * self.map_size[0] * self.map_size[1],
                            config.embed_dim)
        self.apply(init_weights)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """``(objects, 8*classifier_width, h, w)`` from :class:`AudioClassifier` ->
        ``(objects, embed_dim)``."""
        if tuple(features.shape[2:]) != self.map_size:
            raise ValueError(f"feature map must be {self.map_size}, got "
                             f"{tuple(features.shape[2:])}: build the extractor for these frames")
        return self.fc(self.reduce(features).flatten(1))
