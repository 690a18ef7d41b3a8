"""ModelConfig: presets, validation, latency, serialisation round trip."""

from __future__ import annotations

import pytest

from crn_live.config import ModelConfig, config_hash, from_dict, to_dict


def test_presets_round_trip_through_dicts() -> None:
    for config in (ModelConfig.small(), ModelConfig.base()):
        rebuilt = from_dict(ModelConfig, to_dict(config))
        assert rebuilt == config
        assert config_hash(rebuilt) == config_hash(config)


def test_base_matches_the_reference_sizes() -> None:
    base = ModelConfig.base()
    assert (base.ngf, base.unet_depth, base.embed_dim, base.crop_size) == (64, 7, 512, 224)
    assert (base.visual_width, base.context_frames, base.time_strides) == (64, 256, 7)


def test_latency_is_window_plus_chunk_and_lookahead_hops() -> None:
    config = ModelConfig.small(chunk_frames=4, lookahead_frames=1)
    assert config.algorithmic_latency_samples == 1022 + (4 - 1 + 1) * 256
    assert config.algorithmic_latency_ms == pytest.approx(2046 / 11025 * 1000)
    assert ModelConfig.small(chunk_frames=1).algorithmic_latency_ms == pytest.approx(
        1022 / 11025 * 1000)


def test_time_strides_keep_a_two_frame_bottleneck() -> None:
    assert ModelConfig.small(context_frames=64).time_strides == 5
    assert ModelConfig.small(context_frames=96).time_strides == 5  # 96 / 32 = 3 frames
    assert ModelConfig.small(context_frames=256).time_strides == 7


@pytest.mark.parametrize("changes", [
    dict(size="huge"), dict(ngf=0), dict(log_bins=128), dict(chunk_frames=80),
    dict(crop_size=100), dict(refine_iterations=-1),
])
def test_invalid_configs_raise_one_value_error(changes: dict) -> None:
    with pytest.raises(ValueError, match="invalid ModelConfig"):
        ModelConfig.small(**changes)
