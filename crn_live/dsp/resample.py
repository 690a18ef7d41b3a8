"""Sample-rate conversion with libsoxr (``soxr``), offline and streaming.

Layout follows soxr: ``(frames,)`` for mono or ``(frames, channels)``; float32 in and out.

soxr compensates its filter delay in the *signal*: the concatenated output of a stream (flushed
with ``last=True``) equals the one-shot output, and an impulse at input sample ``n`` peaks at
output sample ``n * out_rate / in_rate``. The cost is *latency*: a stream holds output back
(:meth:`StreamResampler.pending_samples`, soxr's ``delay()``) and releases it in bursts, one
internal block at a time. :attr:`StreamResampler.delay_samples` is the worst such hold-back,
measured at construction by streaming silence (about 924 output samples, 84 ms, for
44100 -> 11025 'HQ'); a real-time consumer must buffer at least that much.
"""

from __future__ import annotations

import numpy as np
import soxr

_MEASURE_SECONDS = 1.0
_MEASURE_BLOCK_SECONDS = 0.01


def _as_float32(x: np.ndarray) -> np.ndarray:
    """``x`` as a float32 ``(frames,)`` or ``(frames, channels)`` array (no copy if already)."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim not in (1, 2):
        raise ValueError(f"expected (frames,) or (frames, channels), got shape {x.shape}")
    return x


def resample(
    x: np.ndarray, in_rate: int, out_rate: int, quality: str = "HQ"
) -> np.ndarray:
    """Offline resampling: ``(frames,)`` or ``(frames, channels)`` -> same layout, float32.

    Output length is about ``frames * out_rate / in_rate``, aligned (no delay) with the input.
    """
    if in_rate == out_rate:
        return _as_float32(x).copy()
    return soxr.resample(_as_float32(x), in_rate, out_rate, quality)


def _measure_hold_back(in_rate: int, out_rate: int, quality: str) -> float:
    """Worst output hold-back (output samples) of a fresh mono stream fed 10 ms blocks."""
    stream = soxr.ResampleStream(in_rate, out_rate, 1, dtype="float32", quality=quality)
    block = np.zeros(max(1, round(in_rate * _MEASURE_BLOCK_SECONDS)), dtype=np.float32)
    worst = 0.0
    for _ in range(round(_MEASURE_SECONDS / _MEASURE_BLOCK_SECONDS)):
        stream.resample_chunk(block)
        worst = max(worst, stream.delay())
    return worst


class StreamResampler:
    """Chunk-by-chunk resampler wrapping ``soxr.ResampleStream``.

    ``process`` takes ``(frames,)`` (mono only) or ``(frames, channels)`` float32 blocks of any
    size and returns whatever output is ready, in the same layout (possibly 0 frames). Pass
    ``last=True`` once at the end of a signal to flush. Outputs are new arrays (soxr allocates).
    """

    def __init__(
        self, in_rate: int, out_rate: int, channels: int = 1, quality: str = "HQ"
    ) -> None:
        self.in_rate = in_rate
        self.out_rate = out_rate
        self.channels = channels
        self.quality = quality
        self._stream = soxr.ResampleStream(
            in_rate, out_rate, channels, dtype="float32", quality=quality
        )
        self._delay_samples = _measure_hold_back(in_rate, out_rate, quality)

    @property
    def delay_samples(self) -> float:
        """Worst-case output hold-back in output samples, measured at construction."""
        return self._delay_samples

    @property
    def delay_seconds(self) -> float:
        """:attr:`delay_samples` in seconds."""
        return self._delay_samples / self.out_rate

    @property
    def pending_samples(self) -> float:
        """Output samples currently held back by the stream (soxr ``delay()``)."""
        return self._stream.delay()

    def process(self, block: np.ndarray, last: bool = False) -> np.ndarray:
        """Resample one block: ``(frames[, channels])`` -> ``(out_frames[, channels])``."""
        block = _as_float32(block)
        if (block.ndim == 1 and self.channels != 1) or (
            block.ndim == 2 and block.shape[1] != self.channels
        ):
            raise ValueError(f"block shape {block.shape} does not match {self.channels} channels")
        return self._stream.resample_chunk(np.ascontiguousarray(block), last=last)

    def reset(self) -> None:
        """Start a new signal (drops pending output)."""
        self._stream.clear()
