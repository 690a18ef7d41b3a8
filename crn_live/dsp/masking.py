"""Masks on log-frequency bins -> separated signals, and the oracle masks they are judged against.

A model predicts one mask per object on the ``L`` log bins of the model-rate STFT. To hear it,
the mask is unwarped onto the linear bins, multiplied with the mixture's STFT (mixture phase) and
inverted. The oracle ideal ratio mask goes through exactly the same path, so it is the ceiling of
any mask this model could output: ``|S_k| / |mix|`` measured on the warped magnitudes and limited
to ``[0, 1]``, the range of the model's sigmoid masks.
"""

from __future__ import annotations

import numpy as np

from crn_live.config import AudioConfig
from crn_live.dsp.stft import istft_np, stft_np
from crn_live.dsp.warp import linear_bin_frequencies, unwarp_matrix, warp_matrix


def padded_stft(x: np.ndarray, audio: AudioConfig) -> np.ndarray:
    """STFT ``(..., bins, frames)`` of ``(..., samples)`` padded so every sample can be rebuilt."""
    pad = [(0, 0)] * (x.ndim - 1) + [(0, audio.stft.latency_samples)]
    return stft_np(np.pad(x, pad), audio.stft)


def log_magnitude_bins(spec: np.ndarray, audio: AudioConfig) -> np.ndarray:
    """Magnitudes warped to log bins: ``(..., bins, frames) -> (..., L, frames)``."""
    return np.einsum("lb,...bt->...lt", warp_matrix(audio.stft, audio.warp), np.abs(spec))


def oracle_log_masks(mix: np.ndarray, stems: np.ndarray, audio: AudioConfig) -> np.ndarray:
    """Ideal ratio masks ``(objects, L, frames)`` in ``[0, 1]`` for ``stems (objects, samples)``."""
    mix_log = log_magnitude_bins(padded_stft(mix, audio), audio)
    stems_log = log_magnitude_bins(padded_stft(stems, audio), audio)
    return np.clip(stems_log / np.maximum(mix_log, 1e-8), 0.0, 1.0)


def apply_log_masks(mix: np.ndarray, log_masks: np.ndarray, audio: AudioConfig) -> np.ndarray:
    """Separated signals ``(objects, samples)`` from ``mix (samples,)`` and ``(objects, L, frames)``.

    ``frames`` must be the frame count of :func:`padded_stft` of ``mix``.
    """
    spec = padded_stft(mix, audio)
    if log_masks.shape[-1] != spec.shape[-1]:
        raise ValueError(f"masks have {log_masks.shape[-1]} frames, the mixture {spec.shape[-1]}")
    unwarp = unwarp_matrix(audio.stft, audio.warp, linear_bin_frequencies(audio.stft))
    masks = np.einsum("bl,klt->kbt", unwarp, log_masks)
    return istft_np(masks * spec[None], audio.stft, length=mix.shape[-1]).astype(np.float32)
