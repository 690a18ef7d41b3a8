"""Causal short-time Fourier transforms, offline, in torch (for models) and numpy (reference).

Framing follows :class:`~crn_live.config.StftConfig`: frame ``t`` covers samples
``[t*hop + hop - n_fft, t*hop + hop)``, so it ends at the newest sample of hop ``t``. Offline
analysis left-pads ``n_fft - hop`` zeros and right-pads to a multiple of ``hop``; a signal of
``N`` samples gives ``ceil(N / hop)`` frames, exactly the frames a streaming analysis produces.

Synthesis is weighted overlap-add with the analysis window as synthesis window, divided by the
*computed* overlap-add envelope ``sum_t w_a * w_s``. Because the framing is causal, the newest
``n_fft - hop`` samples spanned by the frames are covered only by window tails (weights down to
~1e-10), so :func:`istft` returns, by default, only the fully covered samples
``[0, frames*hop - (n_fft - hop))``: the same samples a streaming synthesis has emitted after
``frames`` hops. To invert ``N`` samples exactly, right-pad the input by
``config.latency_samples`` before analysis (as a streaming engine flushes its latency).
"""

from __future__ import annotations

import functools
from typing import TypeVar

import numpy as np
import torch
import torch.nn.functional as F

from crn_live.config import StftConfig

ArrayT = TypeVar("ArrayT", np.ndarray, torch.Tensor)

#: Smallest allowed overlap-add weight, relative to the steady-state peak of ``sum w_a*w_s``.
#: float32 round-off is amplified by ``w_s / envelope``; at this ratio it stays around 1e-5.
MIN_ENVELOPE_RATIO = 1e-4


@functools.lru_cache(maxsize=32)
def _cached_window(config: StftConfig) -> np.ndarray:
    n = np.arange(config.n_fft, dtype=np.float64)
    hann = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / config.n_fft)
    window = np.sqrt(hann) if config.window == "sqrt_hann" else hann
    window.setflags(write=False)
    return window


def make_window(config: StftConfig) -> np.ndarray:
    """Periodic Hann window (its square root for ``'sqrt_hann'``), float64, ``(n_fft,)``."""
    return _cached_window(config).copy()


def _segment_overlap_add(frames: np.ndarray, hop: int) -> np.ndarray:
    """Overlap-add frames spaced by ``hop`` with a loop over window segments, not frames.

    ``frames``: ``(..., n_frames, n_fft)`` -> ``(..., (n_frames - 1) * hop + n_fft)``.
    """
    *batch, n_frames, n_fft = frames.shape
    segments = -(-n_fft // hop)
    padded = np.zeros((*batch, n_frames, segments * hop), dtype=frames.dtype)
    padded[..., :n_fft] = frames
    padded = padded.reshape(*batch, n_frames, segments, hop)
    out = np.zeros((*batch, n_frames + segments - 1, hop), dtype=frames.dtype)
    for k in range(segments):
        out[..., k:k + n_frames, :] += padded[..., :, k, :]
    return out.reshape(*batch, -1)[..., : (n_frames - 1) * hop + n_fft]


def wola_norm(config: StftConfig) -> np.ndarray:
    """Steady-state overlap-add envelope ``sum_k w_a*w_s`` at offsets ``n mod hop``, ``(hop,)``.

    Entry ``n`` is ``sum_k w[n + k*hop]**2`` over the window positions that coincide with
    position ``n`` of a frame; the envelope of a long overlap-add is periodic with period ``hop``
    for any ``n_fft``, and equals ``wola_norm[(sample + n_fft - hop) % hop]`` in signal time.
    """
    squared = _cached_window(config) ** 2
    segments = -(-config.n_fft // config.hop)
    padded = np.zeros(segments * config.hop)
    padded[: config.n_fft] = squared
    return padded.reshape(segments, config.hop).sum(axis=0)


def check_wola(config: StftConfig) -> None:
    """Raise ``ValueError`` if some sample gets ~zero weight in steady-state overlap-add."""
    norm = wola_norm(config)
    ratio = norm.min() / norm.max()
    if ratio < MIN_ENVELOPE_RATIO:
        raise ValueError(
            f"overlap-add envelope of {config} drops to {norm.min():.3g} (ratio {ratio:.3g} < "
            f"{MIN_ENVELOPE_RATIO:g}) at offset {int(norm.argmin())}: hop too large for the "
            f"{config.window!r} window, some samples would get (almost) zero weight"
        )


def overlap_add_envelope(config: StftConfig, n_frames: int) -> np.ndarray:
    """True envelope ``sum_t w_a*w_s`` over the left-padded signal, ``(lat + n_frames*hop,)``.

    Index ``i`` is padded-signal time: signal sample ``s`` is index ``s + latency_samples``.
    """
    squared = np.broadcast_to(_cached_window(config) ** 2, (n_frames, config.n_fft))
    return _segment_overlap_add(np.ascontiguousarray(squared), config.hop)


def _output_length(config: StftConfig, n_frames: int, length: int | None) -> int:
    """Number of signal samples to synthesise; default: the fully covered ones."""
    if n_frames < 1:
        raise ValueError("cannot synthesise from zero frames")
    spanned = n_frames * config.hop
    if length is None:
        return max(0, spanned - config.latency_samples)
    if not 0 <= length <= spanned:
        raise ValueError(f"length {length} outside [0, {spanned}] for {n_frames} frames")
    return length


def _synthesis_envelope(config: StftConfig, n_frames: int, length: int) -> np.ndarray:
    """Checked envelope for signal samples ``[0, length)``, ``(length,)`` float64."""
    check_wola(config)
    lat = config.latency_samples
    envelope = overlap_add_envelope(config, n_frames)[lat:lat + length]
    floor = MIN_ENVELOPE_RATIO * wola_norm(config).max()
    if length and envelope.min() < floor:
        first = int(np.argmax(envelope < floor))
        raise ValueError(
            f"output sample {first} has overlap-add weight {envelope[first]:.3g} < {floor:.3g}: "
            f"the last {lat} samples spanned by causal frames are only partly covered; request "
            f"length <= {n_frames * config.hop - lat} or right-pad the input by {lat} samples"
        )
    return envelope


def _frame_np(x: np.ndarray, config: StftConfig) -> np.ndarray:
    """Causal frames, ``(..., samples) -> (..., frames, n_fft)``: views of a padded copy."""
    n_samples = x.shape[-1]
    if n_samples == 0:
        raise ValueError("cannot analyse an empty signal")
    pad = [(0, 0)] * (x.ndim - 1) + [(config.latency_samples, -n_samples % config.hop)]
    padded = np.pad(x, pad)
    windows = np.lib.stride_tricks.sliding_window_view(padded, config.n_fft, axis=-1)
    return windows[..., :: config.hop, :]


def stft_np(x: np.ndarray, config: StftConfig) -> np.ndarray:
    """Reference causal STFT in float64: ``(..., samples) -> (..., bins, frames)`` complex128."""
    frames = _frame_np(np.asarray(x, dtype=np.float64), config) * _cached_window(config)
    return np.swapaxes(np.fft.rfft(frames, axis=-1), -1, -2)


def istft_np(spec: np.ndarray, config: StftConfig, length: int | None = None) -> np.ndarray:
    """Reference inverse: ``(..., bins, frames) -> (..., length)`` float64.

    ``length`` defaults to the fully covered samples ``frames*hop - latency_samples``; raises
    ``ValueError`` if a requested sample has overlap-add weight below the tolerance.
    """
    n_frames = spec.shape[-1]
    length = _output_length(config, n_frames, length)
    envelope = _synthesis_envelope(config, n_frames, length)
    frames = np.fft.irfft(np.swapaxes(spec, -1, -2), n=config.n_fft, axis=-1)
    signal = _segment_overlap_add(frames * _cached_window(config), config.hop)
    lat = config.latency_samples
    return signal[..., lat:lat + length] / envelope


def _torch_window(config: StftConfig, like: torch.Tensor) -> torch.Tensor:
    """The analysis window as a tensor with the real dtype and device of ``like``, ``(n_fft,)``."""
    dtype = like.real.dtype if like.is_complex() else like.dtype
    return torch.tensor(_cached_window(config), dtype=dtype, device=like.device)


def stft(x: torch.Tensor, config: StftConfig) -> torch.Tensor:
    """Causal STFT: ``(..., samples) -> (..., bins, frames)`` complex (complex64 for float32)."""
    n_samples = x.shape[-1]
    if n_samples == 0:
        raise ValueError("cannot analyse an empty signal")
    padded = F.pad(x, (config.latency_samples, -n_samples % config.hop))
    frames = padded.unfold(-1, config.n_fft, config.hop)  # (..., frames, n_fft)
    spec = torch.fft.rfft(frames * _torch_window(config, x), dim=-1)
    return spec.transpose(-1, -2)


def istft(spec: torch.Tensor, config: StftConfig, length: int | None = None) -> torch.Tensor:
    """Inverse of :func:`stft` by weighted overlap-add (``fold``): ``(..., bins, frames) ->
    (..., length)`` real.

    The sum is divided by the computed envelope ``sum_t w_a*w_s``; ``length`` defaults to the
    fully covered samples ``frames*hop - latency_samples``; ``ValueError`` if a requested sample
    has overlap-add weight below the tolerance.
    """
    n_frames, n_fft = spec.shape[-1], config.n_fft
    length = _output_length(config, n_frames, length)
    envelope = _synthesis_envelope(config, n_frames, length)
    frames = torch.fft.irfft(spec, n=n_fft, dim=-2)  # (..., n_fft, frames)
    frames = frames * _torch_window(config, spec)[:, None]
    total = (n_frames - 1) * config.hop + n_fft
    folded = F.fold(
        frames.reshape(-1, n_fft, n_frames),
        output_size=(1, total),
        kernel_size=(1, n_fft),
        stride=(1, config.hop),
    )  # (batch, 1, 1, total)
    lat = config.latency_samples
    signal = folded.reshape(*spec.shape[:-2], total)[..., lat:lat + length]
    return signal / torch.tensor(envelope, dtype=signal.dtype, device=signal.device)


def magphase(spec: ArrayT) -> tuple[ArrayT, ArrayT]:
    """Magnitude and phase (radians) of a complex tensor or array, same shape as ``spec``."""
    if isinstance(spec, torch.Tensor):
        return spec.abs(), torch.angle(spec)
    return np.abs(spec), np.angle(spec)


def polar(mag: ArrayT, phase: ArrayT) -> ArrayT:
    """Complex value ``mag * exp(1j * phase)`` of a tensor or array pair (same shapes)."""
    if isinstance(mag, torch.Tensor):
        return torch.polar(mag, phase)
    return mag * np.exp(1j * phase)
