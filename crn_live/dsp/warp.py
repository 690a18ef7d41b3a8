"""Log-frequency warp of the reference design, as interpolation matrices.

Sound-of-Pixels / Co-Separation resample the linear spectrogram with ``grid_sample``
(``align_corners=True``): log bin ``i`` of ``L`` reads the linear axis at normalised position
``u_i = (base**(i/(L-1)) - (base+1)/2) / ((base-1)/2)``, i.e. at linear bin
``p_i = (u_i + 1)/2 * (n_bins - 1)``, with linear interpolation between neighbouring bins.

Here the same interpolation is a ``(L, n_bins)`` matrix, and its inverse direction a
``(targets, L)`` matrix onto *any* linear frequency grid in Hz: inverting the warp gives the
fractional log-bin index ``i(f) = (L-1) * log(1 + x*(base-1)) / log(base)`` with
``x = f / f_top`` (``f_top`` = frequency of the top linear bin). A mask predicted on the model's
11025 Hz grid is applied to a full-band 44.1/48 kHz STFT this way; frequencies above ``f_top``
take the top log bin. Both are plain matmuls: ONNX / TensorRT friendly.
"""

from __future__ import annotations

import numpy as np
import torch

from crn_live.config import StftConfig, WarpConfig


def linear_bin_frequencies(stft: StftConfig) -> np.ndarray:
    """Centre frequencies of the one-sided STFT bins in Hz, ``(n_bins,)``."""
    return np.arange(stft.n_bins) * (stft.sample_rate / stft.n_fft)


def _log_bin_positions(stft: StftConfig, warp: WarpConfig) -> np.ndarray:
    """Fractional linear-bin positions ``p_i`` sampled by the log bins, ``(L,)``."""
    base = warp.base
    exponent = np.arange(warp.log_bins) / (warp.log_bins - 1)
    u = (base**exponent - (base + 1) / 2) / ((base - 1) / 2)
    return np.clip((u + 1) / 2 * (stft.n_bins - 1), 0.0, stft.n_bins - 1)


def interpolation_taps(positions: np.ndarray,
                       size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Linear interpolation at fractional ``positions`` of a ``size`` grid as two taps per
    position: ``(lower, upper, w_lower, w_upper)``, so that the interpolated values of ``x``
    (along its last axis) are ``x[..., lower] * w_lower + x[..., upper] * w_upper``."""
    positions = np.asarray(positions, np.float64)
    lower = np.clip(np.floor(positions).astype(np.int64), 0, size - 1)
    upper = np.minimum(lower + 1, size - 1)
    frac = positions - lower
    return lower, upper, 1.0 - frac, frac


def _interpolation_matrix(positions: np.ndarray, size: int) -> np.ndarray:
    """Linear interpolation at fractional ``positions`` of a ``size`` grid, ``(len, size)``."""
    lower, upper, w_lower, frac = interpolation_taps(positions, size)
    matrix = np.zeros((len(positions), size))
    rows = np.arange(len(positions))
    np.add.at(matrix, (rows, lower), w_lower)
    np.add.at(matrix, (rows, upper), frac)
    return matrix


def log_bin_frequencies(stft: StftConfig, warp: WarpConfig) -> np.ndarray:
    """Frequencies in Hz sampled by the log bins, ``(L,)``, from 0 to the top linear bin."""
    return _log_bin_positions(stft, warp) * (stft.sample_rate / stft.n_fft)


def warp_matrix(stft: StftConfig, warp: WarpConfig) -> np.ndarray:
    """Linear bins -> log bins, ``(L, n_bins)``; each row sums to 1. Use ``W @ spec``."""
    return _interpolation_matrix(_log_bin_positions(stft, warp), stft.n_bins)


def log_bin_index(stft: StftConfig, warp: WarpConfig, freqs_hz: np.ndarray) -> np.ndarray:
    """Fractional log-bin index of each frequency (inverse warp), clamped to ``[0, L-1]``."""
    top_hz = (stft.n_bins - 1) * stft.sample_rate / stft.n_fft
    x = np.clip(np.asarray(freqs_hz, dtype=np.float64) / top_hz, 0.0, 1.0)
    index = (warp.log_bins - 1) * np.log1p(x * (warp.base - 1)) / np.log(warp.base)
    return np.clip(index, 0.0, warp.log_bins - 1)


def unwarp_matrix(
    stft: StftConfig, warp: WarpConfig, target_freqs_hz: np.ndarray
) -> np.ndarray:
    """Log bins -> an arbitrary linear grid given in Hz, ``(len(target), L)``; rows sum to 1."""
    index = log_bin_index(stft, warp, target_freqs_hz)
    return _interpolation_matrix(index, warp.log_bins)


class LogFrequencyWarp(torch.nn.Module):
    """Warp to / unwarp from the log-frequency grid by matmul with fixed buffers.

    ``target_freqs_hz`` (default: the model's own linear bins) sets the grid of :meth:`unwarp`,
    e.g. ``np.fft.rfftfreq(4088, 1 / 44100)`` for a full-band mask. The buffers are derived from
    the configs and are not saved in ``state_dict``.
    """

    def __init__(
        self,
        stft: StftConfig,
        warp: WarpConfig,
        target_freqs_hz: np.ndarray | None = None,
    ) -> None:
        super().__init__()
        if target_freqs_hz is None:
            target_freqs_hz = linear_bin_frequencies(stft)
        forward = torch.tensor(warp_matrix(stft, warp), dtype=torch.float32)
        inverse = torch.tensor(unwarp_matrix(stft, warp, target_freqs_hz), dtype=torch.float32)
        self.register_buffer("warp_matrix", forward, persistent=False)
        self.register_buffer("unwarp_matrix", inverse, persistent=False)

    def warp(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., n_bins, frames) -> (..., L, frames)``."""
        return torch.matmul(self.warp_matrix, x)

    def unwarp(self, m: torch.Tensor) -> torch.Tensor:
        """``(..., L, frames) -> (..., n_targets, frames)`` (``n_bins`` by default)."""
        return torch.matmul(self.unwarp_matrix, m)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Same as :meth:`warp`: ``(..., n_bins, frames) -> (..., L, frames)``."""
        return self.warp(x)
