"""The frozen configs: STFT framing at other rates, model presets, validation and latency, the
detector and synthesis configs, and the dict / hash round trip checkpoints rely on."""

from __future__ import annotations

import pytest

from crn_live.config import (AudioConfig, DetectorConfig, ModelConfig, StftConfig, SynthConfig,
                             WarpConfig, config_hash, from_dict, to_dict)
from crn_live.instruments import CLASSES


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


def test_stft_framing_keeps_its_durations_at_other_rates() -> None:
    model = StftConfig()
    assert (model.n_bins, model.latency_samples) == (512, 766)
    assert model.hop_seconds == pytest.approx(256 / 11025)
    at_48k = model.scaled_to(48000)
    assert (at_48k.sample_rate, at_48k.n_fft, at_48k.hop) == (48000, 4450, 1115)
    assert at_48k.hop_seconds == pytest.approx(model.hop_seconds, rel=1e-3)
    assert at_48k.n_fft % 2 == 0 and at_48k.window == model.window
    assert model.scaled_to(11025) == model


@pytest.mark.parametrize("config, message", [
    (lambda: StftConfig(n_fft=256, hop=512), "invalid STFT framing"),
    (lambda: StftConfig(window="blackman"), "unknown window"),
    (lambda: WarpConfig(log_bins=1), "invalid warp"),
    (lambda: SynthConfig(seconds=0), "must be positive"),
    (lambda: SynthConfig(music="jazz"), "unknown music kind"),
    (lambda: DetectorConfig(widths=(8, 16, 32)), "5 positive channel counts"),
    (lambda: DetectorConfig(output_stride=32), "output_stride 32"),
    (lambda: DetectorConfig(input_width=324), "not a multiple of output_stride"),
    (lambda: DetectorConfig(score_threshold=1.5), "score_threshold"),
])
def test_other_invalid_configs_raise_one_value_error(config, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        config()


def test_detector_defaults_to_our_classes_and_its_score_map_size() -> None:
    config = DetectorConfig()
    assert config.classes == CLASSES and config.output_size == (30, 40)
    custom = DetectorConfig(classes=["Violin", "Flute"], widths=[8, 8, 16, 16, 32])
    assert custom.classes == ("Violin", "Flute") and custom.widths == (8, 8, 16, 16, 32)
    assert from_dict(DetectorConfig, to_dict(custom)) == custom


def test_synth_config_counts() -> None:
    config = SynthConfig(seconds=3.0, fps=25, sample_rate=44100)
    assert (config.n_samples, config.n_frames) == (132300, 75)


def test_from_dict_rebuilds_nested_configs_and_refuses_unknown_keys() -> None:
    config = from_dict(ModelConfig, {"ngf": 8, "audio": {"warp": {"log_bins": 128}},
                                     "log_bins": 128})
    assert config.audio == AudioConfig(warp=WarpConfig(log_bins=128))
    assert isinstance(config.audio.stft, StftConfig)
    with pytest.raises(ValueError, match=r"ModelConfig: unknown keys \['colour'\]"):
        from_dict(ModelConfig, {"colour": "red"})
    with pytest.raises(ValueError, match=r"WarpConfig: unknown keys"):
        from_dict(ModelConfig, {"audio": {"warp": {"bins": 3}}})


def test_config_hash_is_short_stable_and_tells_configs_apart() -> None:
    small = ModelConfig.small()
    assert config_hash(small) == config_hash(ModelConfig.small()) and len(config_hash(small)) == 16
    assert config_hash(small) != config_hash(ModelConfig.small(ngf=8))
    assert config_hash(small) != config_hash(ModelConfig.small(chunk_frames=1))
