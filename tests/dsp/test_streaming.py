"""Streaming STFT pair: pure delay, equality with offline transforms, no allocation."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from crn_live.config import StftConfig
from crn_live.dsp.stft import check_wola, istft_np, stft_np
from crn_live.dsp.streaming import StreamingIstft, StreamingStft

CONFIGS = [
    StftConfig(),
    StftConfig().scaled_to(44100),
    StftConfig().scaled_to(48000),
    StftConfig(window="sqrt_hann"),
]
CHANNELS = 3


def _signal(config: StftConfig, hops: int, seed: int = 0) -> np.ndarray:
    """Uniform noise in [-1, 1), ``(CHANNELS, hops*hop)`` float32."""
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (CHANNELS, hops * config.hop)).astype(np.float32)


def _analyse(config: StftConfig, x: np.ndarray) -> np.ndarray:
    """Streaming frames of ``x``: ``(channels, samples) -> (channels, bins, frames)``."""
    analysis = StreamingStft(config, channels=x.shape[0])
    hops = np.split(x, x.shape[-1] // config.hop, axis=-1)
    return np.stack([analysis.push(block).copy() for block in hops], axis=-1)


def _synthesise(config: StftConfig, frames: np.ndarray) -> np.ndarray:
    """Streaming synthesis: ``(channels, bins, frames) -> (channels, frames*hop)``."""
    synthesis = StreamingIstft(config, channels=frames.shape[0])
    return np.concatenate(
        [synthesis.push(frames[..., t]).copy() for t in range(frames.shape[-1])], axis=-1
    )


@pytest.mark.parametrize("config", CONFIGS, ids=str)
def test_identity_chain_is_a_pure_delay(config: StftConfig) -> None:
    x = _signal(config, hops=40)
    y = _synthesise(config, _analyse(config, x))
    lat = config.latency_samples
    assert y.dtype == np.float32 and y.shape == x.shape
    assert np.abs(y[:, lat:] - x[:, :-lat]).max() < 1e-5
    assert np.abs(y[:, :lat]).max() < 1e-5


@pytest.mark.parametrize("config", CONFIGS, ids=str)
def test_streaming_frames_equal_offline_stft(config: StftConfig) -> None:
    x = _signal(config, hops=30, seed=1)
    streamed = _analyse(config, x)
    offline = stft_np(x, config)
    assert streamed.dtype == np.complex64 and streamed.shape == offline.shape
    assert np.abs(streamed - offline).max() / np.abs(offline).max() < 1e-5


@pytest.mark.parametrize("config", CONFIGS, ids=str)
def test_streaming_synthesis_equals_offline_istft(config: StftConfig) -> None:
    rng = np.random.default_rng(2)
    shape = (CHANNELS, config.n_bins, 30)
    frames = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)
    streamed = _synthesise(config, frames)
    offline = istft_np(frames.astype(np.complex128), config)  # the fully covered samples
    got = streamed[:, config.latency_samples:]
    assert got.shape == offline.shape
    assert np.abs(got - offline).max() / np.abs(offline).max() < 1e-5


def test_channels_are_independent() -> None:
    config = StftConfig()
    x = _signal(config, hops=12, seed=3)
    together = _analyse(config, x)
    for channel in range(CHANNELS):
        alone = _analyse(config, x[channel:channel + 1])
        np.testing.assert_array_equal(together[channel], alone[0])


def test_reset_restarts_from_silence() -> None:
    config = StftConfig()
    x = _signal(config, hops=8, seed=4)
    analysis, synthesis = StreamingStft(config, CHANNELS), StreamingIstft(config, CHANNELS)
    first = [synthesis.push(analysis.push(x[:, :config.hop])).copy() for _ in range(5)]
    analysis.reset()
    synthesis.reset()
    again = [synthesis.push(analysis.push(x[:, :config.hop])).copy() for _ in range(5)]
    np.testing.assert_array_equal(np.stack(first), np.stack(again))


def test_push_rejects_wrong_shapes() -> None:
    config = StftConfig()
    with pytest.raises(ValueError, match="shape"):
        StreamingStft(config, 2).push(np.zeros((1, config.hop), np.float32))
    with pytest.raises(ValueError, match="shape"):
        StreamingIstft(config, 1).push(np.zeros((1, config.n_bins - 1), np.complex64))


def test_synthesis_writes_into_given_buffer() -> None:
    config = StftConfig()
    synthesis = StreamingIstft(config, 2)
    out = np.full((2, config.hop), np.nan, dtype=np.float32)
    returned = synthesis.push(np.zeros((2, config.n_bins), np.complex64), out=out)
    assert returned is out and np.all(out == 0.0)


@pytest.mark.parametrize(
    "config", [StftConfig(n_fft=512, hop=512), StftConfig(n_fft=1022, hop=1000)], ids=str
)
def test_bad_config_is_refused(config: StftConfig) -> None:
    with pytest.raises(ValueError, match="hop too large"):
        check_wola(config)
    with pytest.raises(ValueError, match="hop too large"):
        StreamingIstft(config)


def test_per_hop_path_allocates_no_arrays() -> None:
    config = StftConfig()
    channels = 4  # one stray (channels, n_fft) float32 temporary would be 16 KiB
    analysis, synthesis = StreamingStft(config, channels), StreamingIstft(config, channels)
    block = np.zeros((channels, config.hop), np.float32)
    out = np.zeros((channels, config.hop), np.float32)
    for _ in range(8):  # warm up numpy / pocketfft plan caches
        synthesis.push(analysis.push(block), out=out)
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for _ in range(200):
            synthesis.push(analysis.push(block), out=out)
        after, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert after - before < 1024  # nothing retained
    assert peak - before < 4096  # only small transient objects (views, scalars)
