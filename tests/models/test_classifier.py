"""AudioClassifier and FeatureExtractor (the training-loss networks): shapes, refusals."""

from __future__ import annotations

import pytest
import torch

from crn_live.models import AudioClassifier, FeatureExtractor
from tests.helpers import tiny_config


def test_classifier_and_extractor_shapes() -> None:
    config = tiny_config()
    classifier = AudioClassifier(config)
    logits, features = classifier(torch.randn(2, 1, config.log_bins, config.context_frames))
    assert logits.shape == (2, config.n_classes)
    assert features.shape == (2, 8 * config.classifier_width, 2, 1)
    assert FeatureExtractor(config)(features).shape == (2, config.embed_dim)


def test_extractor_refuses_other_frame_counts() -> None:
    config = tiny_config()
    _, features = AudioClassifier(config)(torch.randn(1, 1, config.log_bins, 64))
    with pytest.raises(ValueError, match="feature map"):
        FeatureExtractor(config)(features)


def test_extractor_for_other_window_lengths() -> None:
    config = tiny_config()
    _, features = AudioClassifier(config)(torch.randn(1, 1, config.log_bins, 64))
    assert FeatureExtractor(config, frames=64)(features).shape == (1, config.embed_dim)
