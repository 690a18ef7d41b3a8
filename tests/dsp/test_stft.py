"""Offline causal STFT: windows, framing, torch == numpy, inversion, envelope checks."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
import torch

from crn_live.config import StftConfig
from crn_live.dsp.stft import (
    check_wola,
    istft,
    istft_np,
    magphase,
    make_window,
    overlap_add_envelope,
    polar,
    stft,
    stft_np,
    wola_norm,
)

CONFIGS = [
    StftConfig(),
    StftConfig().scaled_to(44100),
    StftConfig().scaled_to(48000),
    StftConfig(window="sqrt_hann"),
]


def _rel_err(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max() / np.abs(b).max())


@pytest.mark.parametrize("window", ["hann", "sqrt_hann"])
def test_window_is_periodic_hann(window: str) -> None:
    config = StftConfig(window=window)
    reference = scipy.signal.get_window("hann", config.n_fft, fftbins=True)
    expected = np.sqrt(reference) if window == "sqrt_hann" else reference
    got = make_window(config)
    assert got.dtype == np.float64 and got.shape == (config.n_fft,)
    np.testing.assert_allclose(got, expected, atol=1e-12)


@pytest.mark.parametrize("n_samples", [1, 255, 256, 257, 5000])
def test_frame_count_and_causal_framing(n_samples: int) -> None:
    config = StftConfig()
    x = np.random.default_rng(n_samples).standard_normal(n_samples)
    spec = stft_np(x, config)
    n_frames = -(-n_samples // config.hop)
    assert spec.shape == (config.n_bins, n_frames)
    padded = np.concatenate([np.zeros(config.n_fft), x, np.zeros(config.hop)])
    for t in {0, n_frames // 2, n_frames - 1}:
        end = config.n_fft + t * config.hop + config.hop  # index of sample t*hop + hop, shifted
        frame = padded[end - config.n_fft:end] * make_window(config)
        np.testing.assert_allclose(spec[:, t], np.fft.rfft(frame), atol=1e-9)


@pytest.mark.parametrize("config", CONFIGS, ids=str)
def test_torch_stft_matches_numpy(config: StftConfig) -> None:
    x = np.random.default_rng(0).uniform(-1, 1, (2, 3, 20 * config.hop + 17))
    reference = stft_np(x, config)
    got32 = stft(torch.tensor(x, dtype=torch.float32), config)
    got64 = stft(torch.tensor(x), config)
    assert got32.dtype == torch.complex64 and got32.shape == reference.shape
    assert _rel_err(got32.numpy(), reference) < 1e-5
    assert _rel_err(got64.numpy(), reference) < 1e-12


@pytest.mark.parametrize("config", CONFIGS, ids=str)
def test_roundtrip_with_latency_padding(config: StftConfig) -> None:
    n_samples = 30 * config.hop + 101
    x = np.random.default_rng(1).uniform(-1, 1, (2, n_samples))
    padded = np.pad(x, ((0, 0), (0, config.latency_samples)))
    np.testing.assert_allclose(
        istft_np(stft_np(padded, config), config, length=n_samples), x, atol=1e-12
    )
    spec = stft(torch.tensor(padded, dtype=torch.float32), config)
    got = istft(spec, config, length=n_samples).numpy()
    assert np.abs(got - x).max() < 1e-5


@pytest.mark.parametrize("config", CONFIGS, ids=str)
def test_torch_istft_matches_numpy(config: StftConfig) -> None:
    rng = np.random.default_rng(2)
    shape = (3, config.n_bins, 25)
    spec = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    reference = istft_np(spec, config)
    assert reference.shape == (3, 25 * config.hop - config.latency_samples)
    got = istft(torch.tensor(spec), config).numpy()
    np.testing.assert_allclose(got, reference, atol=1e-10 * np.abs(reference).max())


def test_istft_refuses_partly_covered_tail() -> None:
    config = StftConfig()
    spec = stft_np(np.ones(20 * config.hop), config)
    with pytest.raises(ValueError, match="overlap-add weight"):
        istft_np(spec, config, length=20 * config.hop)
    with pytest.raises(ValueError, match="overlap-add weight"):
        istft(torch.tensor(spec), config, length=20 * config.hop)
    with pytest.raises(ValueError, match="length"):
        istft_np(spec, config, length=20 * config.hop + 1)


def test_istft_refuses_zero_weight_config() -> None:
    config = StftConfig(n_fft=512, hop=512)
    spec = np.ones((config.n_bins, 10), dtype=complex)
    with pytest.raises(ValueError, match="zero weight"):
        istft_np(spec, config)
    with pytest.raises(ValueError, match="zero weight"):
        istft(torch.tensor(spec), config)


@pytest.mark.parametrize("config", CONFIGS, ids=str)
def test_wola_norm_is_the_steady_state_envelope(config: StftConfig) -> None:
    norm = wola_norm(config)
    assert norm.shape == (config.hop,)
    envelope = overlap_add_envelope(config, 40)
    middle = envelope[config.n_fft:-config.n_fft]  # steady state, frames start at multiples of hop
    offsets = np.arange(config.n_fft, len(envelope) - config.n_fft) % config.hop
    np.testing.assert_allclose(middle, norm[offsets], rtol=1e-12)


def test_wola_norm_is_not_assumed_constant() -> None:
    default = wola_norm(StftConfig())  # 1022 is not a multiple of 256: small ripple
    assert default.max() - default.min() > 1e-4
    cola = wola_norm(StftConfig(n_fft=1024, hop=256, window="sqrt_hann"))  # sum of hann: COLA
    np.testing.assert_allclose(cola, 2.0, rtol=1e-12)


@pytest.mark.parametrize(
    "config",
    [StftConfig(n_fft=512, hop=512), StftConfig(n_fft=512, hop=511)],
    ids=str,
)
def test_check_wola_raises_when_hop_too_large(config: StftConfig) -> None:
    with pytest.raises(ValueError, match="hop too large"):
        check_wola(config)


def test_check_wola_accepts_sane_configs() -> None:
    for config in CONFIGS + [StftConfig(n_fft=512, hop=256)]:
        check_wola(config)


def test_magphase_polar_roundtrip() -> None:
    rng = np.random.default_rng(3)
    spec = rng.standard_normal((4, 5)) + 1j * rng.standard_normal((4, 5))
    mag, phase = magphase(spec)
    np.testing.assert_allclose(mag, np.abs(spec))
    np.testing.assert_allclose(polar(mag, phase), spec, atol=1e-12)
    tensor = torch.tensor(spec)
    tmag, tphase = magphase(tensor)
    np.testing.assert_allclose(tmag.numpy(), mag, atol=1e-12)
    np.testing.assert_allclose(polar(tmag, tphase).numpy(), spec, atol=1e-12)


class _StftModule(torch.nn.Module):
    def __init__(self, config: StftConfig) -> None:
        super().__init__()
        self.config = config

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return stft(x, self.config)


@pytest.mark.slow
def test_stft_exported_graph_matches_eager() -> None:
    config = StftConfig()
    x = torch.randn(2, 10 * config.hop)
    exported = torch.export.export(_StftModule(config), (x,)).module()
    torch.testing.assert_close(exported(x), stft(x, config))
