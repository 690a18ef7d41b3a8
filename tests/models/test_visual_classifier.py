"""VisualEncoder, AudioClassifier and FeatureExtractor shapes (tiny widths)."""

from __future__ import annotations

import pytest
import torch

from crn_live.models import AudioClassifier, FeatureExtractor, VisualEncoder
from tests.models.tiny import tiny_config


def test_visual_encoder_maps_crops_to_embeddings() -> None:
    config = tiny_config()
    encoder = VisualEncoder(config)
    embeddings = encoder(torch.rand(3, 3, config.crop_size, config.crop_size))
    assert embeddings.shape == (3, config.embed_dim)


def test_visual_encoder_refuses_wrong_crop_size() -> None:
    config = tiny_config()
    with pytest.raises(ValueError, match="crops must be"):
        VisualEncoder(config)(torch.rand(1, 3, 64, 64))


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
