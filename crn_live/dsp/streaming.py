"""Stateful real-time STFT analysis / synthesis: one hop in, one hop out.

Both objects preallocate every buffer at construction and precompute, for each of the
``ceil(n_fft / hop)`` ring phases, the views they touch, so :meth:`push` only runs in-place
numpy kernels (``np.copyto``, ``np.multiply(..., out=)``, ``np.fft.rfft(..., out=)``, which
needs numpy >= 2.0) and allocates no array.

Frames are the causal frames of :mod:`crn_live.dsp.stft`: after the ``t``-th push (from 0)
the analysis returns exactly offline frame ``t``, and the synthesis returns signal samples
``[t*hop - latency, (t+1)*hop - latency)``, so analysis -> identity -> synthesis is a pure delay
of ``config.latency_samples`` (= ``n_fft - hop``).

``channels`` is a batch axis (e.g. several separated instruments at once). Not thread-safe: one
thread owns an instance.
"""

from __future__ import annotations

import numpy as np

from crn_live.config import StftConfig
from crn_live.dsp.stft import check_wola, make_window, wola_norm

_Segment = tuple[slice, slice]


def _ring_segments(start: int, length: int, size: int) -> list[_Segment]:
    """``(ring_slice, local_slice)`` pairs covering ``length`` ring slots from ``start``."""
    start %= size
    first = min(length, size - start)
    segments = [(slice(start, start + first), slice(0, first))]
    if first < length:
        segments.append((slice(0, length - first), slice(first, length)))
    return segments


def _ring_size(config: StftConfig) -> int:
    """Ring length: ``n_fft`` rounded up to a whole number of hops."""
    return -(-config.n_fft // config.hop) * config.hop


def _rows(*views: np.ndarray) -> list[tuple[np.ndarray, ...]]:
    """Same-shape ``(channels, n)`` views as per-channel tuples of 1-D contiguous rows.

    A numpy ufunc on a 2-D strided view (or with a broadcast operand) builds a buffered
    iterator that allocates per call; 1-D contiguous rows take the allocation-free fast loop.
    """
    return list(zip(*views))


def _check_block(block: np.ndarray, shape: tuple[int, int], name: str) -> None:
    if block.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {block.shape}")


class StreamingStft:
    """Causal streaming analysis: ``push((channels, hop)) -> (channels, n_bins)`` complex64.

    Keeps the last ``n_fft`` input samples per channel in a ring; starts from silence, like the
    zero left-padding of the offline :func:`~crn_live.dsp.stft.stft`.
    """

    def __init__(self, config: StftConfig, channels: int = 1) -> None:
        self.config = config
        self.channels = channels
        size = _ring_size(config)
        self._ring = np.zeros((channels, size), dtype=np.float32)
        self._block = np.zeros((channels, config.hop), dtype=np.float32)
        self._windowed = np.zeros((channels, config.n_fft), dtype=np.float32)
        self._frame = np.zeros((channels, config.n_bins), dtype=np.complex64)
        # rfft(norm="forward") avoids a per-call cast buffer; the n_fft factor goes in the window.
        self._window = (make_window(config) * config.n_fft).astype(np.float32)
        phases = range(size // config.hop)
        self._write_views = [self._write_plan(t, size) for t in phases]
        self._window_views = [self._window_plan(t, size) for t in phases]
        self._phase = 0

    def _write_plan(self, t: int, size: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """(ring view, block view) pairs, ``(channels, n)`` each, receiving hop ``t``."""
        segments = _ring_segments(t * self.config.hop, self.config.hop, size)
        return [(self._ring[:, ring], self._block[:, local]) for ring, local in segments]

    def _window_plan(self, t: int, size: int) -> list[tuple[np.ndarray, ...]]:
        """Per-channel 1-D (ring, window, output) rows forming frame ``t``."""
        hop, n_fft = self.config.hop, self.config.n_fft
        plan: list[tuple[np.ndarray, ...]] = []
        for ring, local in _ring_segments(t * hop + hop - n_fft, n_fft, size):
            out = self._windowed[:, local]
            window = np.broadcast_to(self._window[local], out.shape)
            plan += _rows(self._ring[:, ring], window, out)
        return plan

    def push(self, hop_block: np.ndarray) -> np.ndarray:
        """Analyse one hop: ``(channels, hop)`` float -> frame ``(channels, n_bins)`` complex64.

        The returned array is an internal buffer, overwritten by the next call: copy it if you
        keep it.
        """
        _check_block(hop_block, self._block.shape, "hop_block")
        np.copyto(self._block, hop_block, casting="same_kind")
        for ring_view, block_view in self._write_views[self._phase]:
            np.copyto(ring_view, block_view)
        for ring_row, window_row, out_row in self._window_views[self._phase]:
            np.multiply(ring_row, window_row, out=out_row)
        np.fft.rfft(self._windowed, axis=-1, norm="forward", out=self._frame)
        self._phase = (self._phase + 1) % len(self._write_views)
        return self._frame

    def reset(self) -> None:
        """Forget the history (back to silence)."""
        self._ring.fill(0.0)
        self._phase = 0


class StreamingIstft:
    """Causal streaming synthesis: ``push((channels, n_bins)) -> (channels, hop)`` float32.

    Windowed overlap-add (synthesis window = analysis window) divided by the steady-state
    envelope :func:`~crn_live.dsp.stft.wola_norm`, checked at construction. The output is the
    analysed input delayed by ``config.latency_samples``; the first ``latency_samples`` outputs
    after construction or :meth:`reset` are a start-up transient (zeros for an identity chain).
    """

    def __init__(self, config: StftConfig, channels: int = 1) -> None:
        check_wola(config)
        self.config = config
        self.channels = channels
        size = _ring_size(config)
        hop = config.hop
        self._ring = np.zeros((channels, size), dtype=np.float32)
        self._spec = np.zeros((channels, config.n_bins), dtype=np.complex64)
        self._frame = np.zeros((channels, config.n_fft), dtype=np.float32)
        self._out = np.zeros((channels, hop), dtype=np.float32)
        window = np.broadcast_to(make_window(config).astype(np.float32), self._frame.shape)
        inv_norm = np.broadcast_to((1.0 / wola_norm(config)).astype(np.float32), self._out.shape)
        self._window_rows = _rows(self._frame, window)
        # Ring slot of signal sample s is (s + latency) % size: frame t starts at slot t*hop.
        phases = range(size // hop)
        self._add_views = [self._add_plan(t, size) for t in phases]
        self._ready_views = [self._ring[:, t * hop:(t + 1) * hop] for t in phases]
        self._norm_rows = [_rows(ready, inv_norm, self._out) for ready in self._ready_views]
        self._phase = 0

    def _add_plan(self, t: int, size: int) -> list[tuple[np.ndarray, ...]]:
        """Per-channel 1-D (ring, frame) rows receiving frame ``t``."""
        plan: list[tuple[np.ndarray, ...]] = []
        for ring, local in _ring_segments(t * self.config.hop, self.config.n_fft, size):
            plan += _rows(self._ring[:, ring], self._frame[:, local])
        return plan

    def push(self, frame: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Synthesise one hop: frame ``(channels, n_bins)`` complex -> ``(channels, hop)``.

        Copies into ``out`` (``(channels, hop)``) if given and returns it; otherwise returns an
        internal float32 buffer that the next call overwrites.
        """
        _check_block(frame, self._spec.shape, "frame")
        np.copyto(self._spec, frame, casting="same_kind")
        np.fft.irfft(self._spec, n=self.config.n_fft, axis=-1, out=self._frame)
        for frame_row, window_row in self._window_rows:
            np.multiply(frame_row, window_row, out=frame_row)
        for ring_row, frame_row in self._add_views[self._phase]:
            np.add(ring_row, frame_row, out=ring_row)
        for ready_row, norm_row, out_row in self._norm_rows[self._phase]:
            np.multiply(ready_row, norm_row, out=out_row)
        self._ready_views[self._phase].fill(0.0)
        self._phase = (self._phase + 1) % len(self._add_views)
        if out is None:
            return self._out
        np.copyto(out, self._out, casting="same_kind")
        return out

    def reset(self) -> None:
        """Drop the pending overlap-add tail."""
        self._ring.fill(0.0)
        self._phase = 0
