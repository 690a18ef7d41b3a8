"""Log-frequency warp: reference grid_sample equivalence, inversion, full-band unwarp."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from crn_live.config import StftConfig, WarpConfig
from crn_live.dsp.warp import (
    LogFrequencyWarp,
    linear_bin_frequencies,
    log_bin_frequencies,
    unwarp_matrix,
    warp_matrix,
)

STFT = StftConfig()
WARP = WarpConfig()


def _reference_warpgrid(height: int, width: int, base: float) -> torch.Tensor:
    """The Sound-of-Pixels ``warpgrid(warp=True)``, shape ``(1, height, width, 2)``."""
    xv, yv = np.meshgrid(np.linspace(-1, 1, width), np.linspace(-1, 1, height))
    grid_y = (np.power(base, (yv + 1) / 2) - (base + 1) / 2) / ((base - 1) / 2)
    return torch.tensor(np.stack([xv, grid_y], axis=-1)[None])


def test_warp_matrix_equals_reference_grid_sample() -> None:
    spec = torch.rand(1, 1, STFT.n_bins, 40, dtype=torch.float64)
    grid = _reference_warpgrid(WARP.log_bins, 40, WARP.base)
    reference = torch.nn.functional.grid_sample(spec, grid, align_corners=True)[0, 0]
    got = torch.tensor(warp_matrix(STFT, WARP)) @ spec[0, 0]
    torch.testing.assert_close(got, reference, atol=1e-12, rtol=0)


def test_log_bin_frequencies_span_zero_to_nyquist() -> None:
    freqs = log_bin_frequencies(STFT, WARP)
    assert freqs.shape == (WARP.log_bins,)
    assert freqs[0] == 0.0 and freqs[-1] == pytest.approx(STFT.sample_rate / 2)
    assert np.all(np.diff(freqs) > 0)
    # base 21: the top log bin is 21x wider than the bottom one
    assert np.diff(freqs)[-1] / np.diff(freqs)[0] == pytest.approx(WARP.base, rel=0.02)


def test_warp_of_constant_spectrum_is_constant() -> None:
    matrix = warp_matrix(STFT, WARP)
    assert matrix.shape == (WARP.log_bins, STFT.n_bins)
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(matrix @ np.full(STFT.n_bins, 3.5), 3.5, atol=1e-12)


def test_unwarp_inverts_the_warp_formula() -> None:
    at_log_bins = unwarp_matrix(STFT, WARP, log_bin_frequencies(STFT, WARP))
    np.testing.assert_allclose(at_log_bins, np.eye(WARP.log_bins), atol=1e-9)


@pytest.mark.parametrize(
    ("name", "tolerance"),
    [("rational", 2e-4), ("gaussian", 1e-3), ("ripple_1500hz", 1e-2)],
)
def test_unwarp_warp_recovers_smooth_spectrum(name: str, tolerance: float) -> None:
    # Observed max relative errors: 5.0e-5, 3.5e-4, 3.2e-3 (the top log bins are ~6 linear
    # bins wide, so only spectra smooth on that scale come back).
    freqs = linear_bin_frequencies(STFT)
    spectrum = {
        "rational": 1.0 / (1.0 + freqs / 500.0),
        "gaussian": np.exp(-(((freqs - 2000.0) / 800.0) ** 2)),
        "ripple_1500hz": 1.0 + 0.5 * np.cos(2 * np.pi * freqs / 1500.0),
    }[name]
    matrix = unwarp_matrix(STFT, WARP, freqs) @ warp_matrix(STFT, WARP)
    error = np.abs(matrix @ spectrum - spectrum).max() / np.abs(spectrum).max()
    assert error < tolerance


def test_unwarp_warp_does_not_recover_white_noise() -> None:
    noise = np.random.default_rng(0).uniform(0.0, 1.0, STFT.n_bins)
    matrix = unwarp_matrix(STFT, WARP, linear_bin_frequencies(STFT)) @ warp_matrix(STFT, WARP)
    assert np.abs(matrix @ noise - noise).max() > 0.1  # 256 log bins cannot hold 512 values


@pytest.mark.parametrize("rate", [44100, 48000])
def test_ones_mask_unwarps_to_ones_on_full_band_grid(rate: int) -> None:
    full = STFT.scaled_to(rate)
    freqs = linear_bin_frequencies(full)
    module = LogFrequencyWarp(STFT, WARP, target_freqs_hz=freqs)
    mask = module.unwarp(torch.ones(2, WARP.log_bins, 7))
    assert mask.shape == (2, full.n_bins, 7)
    torch.testing.assert_close(mask, torch.ones_like(mask))


def test_unwarp_clamps_out_of_range_frequencies() -> None:
    matrix = unwarp_matrix(STFT, WARP, np.array([-5.0, 0.0, 6000.0, 20000.0]))
    np.testing.assert_allclose(matrix[0], matrix[1])
    assert matrix[0, 0] == 1.0 and matrix[2, -1] == 1.0 and matrix[3, -1] == 1.0


def test_full_band_unwarp_matches_model_grid_below_nyquist() -> None:
    # Interpolating the log mask at 44.1 kHz bin frequencies == interpolating the model-grid
    # mask linearly between its bins, up to the (small) error of the two-step interpolation.
    log_mask = np.linspace(0.0, 1.0, WARP.log_bins) ** 2
    full_freqs = linear_bin_frequencies(STFT.scaled_to(44100))
    below = full_freqs <= STFT.sample_rate / 2
    direct = unwarp_matrix(STFT, WARP, full_freqs[below]) @ log_mask
    model_grid = unwarp_matrix(STFT, WARP, linear_bin_frequencies(STFT)) @ log_mask
    via_grid = np.interp(full_freqs[below], linear_bin_frequencies(STFT), model_grid)
    assert np.abs(direct - via_grid).max() < 1e-3


def test_torch_module_equals_numpy() -> None:
    module = LogFrequencyWarp(STFT, WARP)
    spec = np.random.default_rng(1).uniform(0, 1, (2, 3, STFT.n_bins, 11))
    warped = module.warp(torch.tensor(spec, dtype=torch.float32))
    expected = warp_matrix(STFT, WARP) @ spec
    np.testing.assert_allclose(warped.numpy(), expected, atol=1e-5)
    unwarped = module.unwarp(warped).numpy()
    expected_back = unwarp_matrix(STFT, WARP, linear_bin_frequencies(STFT)) @ expected
    np.testing.assert_allclose(unwarped, expected_back, atol=1e-5)
    assert module.state_dict() == {}  # derived from configs, not checkpointed


def test_onnx_export_matches_eager(tmp_path: Path) -> None:
    ort = pytest.importorskip("onnxruntime")
    module = LogFrequencyWarp(STFT, WARP).eval()
    spec = torch.rand(1, STFT.n_bins, 64)
    path = tmp_path / "warp.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (spec,), str(path), dynamo=False,
                          input_names=["mix_mag"], output_names=["log_mag"])
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"mix_mag": spec.numpy()})
    np.testing.assert_allclose(got, module(spec).numpy(), atol=1e-6)
