"""soxr resampling: tones keep frequency and level, streaming == offline, latency bound."""

from __future__ import annotations

import numpy as np
import pytest

from crn_live.dsp.resample import StreamResampler, resample

RATE_PAIRS = [(44100, 11025), (48000, 11025), (11025, 44100), (11025, 48000)]


def _tone(freq: float, rate: int, seconds: float = 0.5, amp: float = 0.5) -> np.ndarray:
    n = np.arange(int(rate * seconds))
    return (amp * np.sin(2 * np.pi * freq * n / rate)).astype(np.float32)


def _fit_tone(y: np.ndarray, freq: float, rate: int) -> tuple[float, float]:
    """Least-squares amplitude of a tone at ``freq`` and the rms of what is left."""
    phase = 2 * np.pi * freq * np.arange(len(y)) / rate
    basis = np.stack([np.sin(phase), np.cos(phase)], axis=1)
    coef, *_ = np.linalg.lstsq(basis, y.astype(np.float64), rcond=None)
    return float(np.hypot(*coef)), float(np.sqrt(np.mean((y - basis @ coef) ** 2)))


@pytest.mark.parametrize(("in_rate", "out_rate"), RATE_PAIRS)
@pytest.mark.parametrize("freq", [50.0, 1000.0, 4500.0])
def test_tone_keeps_frequency_and_level(in_rate: int, out_rate: int, freq: float) -> None:
    y = resample(_tone(freq, in_rate), in_rate, out_rate)
    assert y.dtype == np.float32
    assert abs(len(y) - len(_tone(freq, in_rate)) * out_rate / in_rate) <= 1
    edge = len(y) // 10
    amp, residual = _fit_tone(y[edge:-edge], freq, out_rate)
    assert abs(20 * np.log10(amp / 0.5)) < 0.1  # observed <= 0.008 dB
    assert residual < 1e-4 * amp  # a shifted frequency would leave ~amp of residual


def test_downsampling_rejects_content_above_new_nyquist() -> None:
    y = resample(_tone(7000.0, 44100), 44100, 11025)
    assert np.sqrt(np.mean(y[len(y) // 10:-len(y) // 10] ** 2)) < 1e-3


@pytest.mark.parametrize("rate", [44100, 48000])
def test_down_and_up_roundtrip(rate: int) -> None:
    rng = np.random.default_rng(0)
    n = np.arange(rate // 2)
    x = sum(0.15 * np.sin(2 * np.pi * f * n / rate + rng.uniform(0, 6))
            for f in (100.0, 440.0, 1234.0, 3000.0, 4200.0)).astype(np.float32)
    y = resample(resample(x, rate, 11025), 11025, rate)
    assert abs(len(y) - len(x)) <= 4  # each step rounds the length
    size = min(len(x), len(y))
    x, y = x[:size], y[:size]
    edge = rate // 10
    assert np.abs(y[edge:-edge] - x[edge:-edge]).max() < 1e-4  # observed 3e-7 / 1.6e-5


def test_multichannel_layout_is_frames_by_channels() -> None:
    x = np.stack([_tone(440.0, 44100), _tone(880.0, 44100)], axis=1)
    y = resample(x, 44100, 11025)
    assert y.shape == (-(-len(x) // 4), 2)
    np.testing.assert_allclose(y[:, 1], resample(x[:, 1], 44100, 11025), atol=1e-6)


@pytest.mark.parametrize(("in_rate", "out_rate"), RATE_PAIRS)
def test_random_chunks_concatenate_to_offline(in_rate: int, out_rate: int) -> None:
    rng = np.random.default_rng(1)
    x = rng.uniform(-0.5, 0.5, (in_rate // 2, 2)).astype(np.float32)
    stream = StreamResampler(in_rate, out_rate, channels=2)
    pieces, start = [], 0
    while start < len(x):
        size = int(rng.integers(1, 2000))
        pieces.append(stream.process(x[start:start + size]))
        start += size
    pieces.append(stream.process(np.zeros((0, 2), np.float32), last=True))
    streamed = np.concatenate(pieces)
    offline = resample(x, in_rate, out_rate)
    assert streamed.shape == offline.shape
    assert np.abs(streamed - offline).max() < 1e-6  # observed: bit-identical


@pytest.mark.parametrize(("in_rate", "out_rate"), RATE_PAIRS)
def test_stream_is_aligned_and_latency_is_bounded(in_rate: int, out_rate: int) -> None:
    stream = StreamResampler(in_rate, out_rate)
    assert 0 < stream.delay_samples < 0.2 * out_rate  # 76-121 ms measured for 'HQ'
    block = round(in_rate * 0.01)
    x = np.zeros(in_rate, np.float32)
    x[in_rate // 2] = 1.0  # impulse
    pieces, worst_lag, consumed, produced = [], 0.0, 0, 0
    for start in range(0, len(x), block):
        pieces.append(stream.process(x[start:start + block]))
        consumed += len(x[start:start + block])
        produced += len(pieces[-1])
        worst_lag = max(worst_lag, consumed * out_rate / in_rate - produced)
        assert stream.pending_samples == pytest.approx(consumed * out_rate / in_rate - produced)
    assert worst_lag <= stream.delay_samples + 1.0
    y = np.concatenate(pieces + [stream.process(np.zeros(0, np.float32), last=True)])
    assert abs(int(np.argmax(y)) - (in_rate // 2) * out_rate / in_rate) <= 0.5  # no group delay


def test_process_rejects_wrong_channel_count() -> None:
    with pytest.raises(ValueError, match="channels"):
        StreamResampler(44100, 11025, channels=2).process(np.zeros(100, np.float32))
