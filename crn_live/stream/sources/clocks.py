"""Capture times of audio blocks on :func:`time.monotonic`'s clock: the smoothed per-block
clock of a device stream (:class:`AudioBlockClock`) and the ring of ``(stream position, time)``
pairs a consumer maps sample indices through (:class:`BlockTimes`)."""

from __future__ import annotations

import math

import numpy as np


class AudioBlockClock:
    """Capture time of each block of an audio stream, on :func:`time.monotonic`'s clock.

    A block's raw time is the device's ADC time of its first frame (already mapped onto the
    monotonic clock) when the device reports a plausible one, else its arrival time minus its
    duration (never later than that). The clock predicts each block from the previous one
    (``previous + frames / rate``) and moves towards the raw time by ``gain`` of the error, at
    most ``slew`` of the previous block's duration: times advance with the sample count,
    callback jitter barely reaches them and they always increase. A discontinuity (frames
    lost) re-synchronises at once. Allocation-free apart from Python floats; used from the
    device callback.

    Parameters
    ----------
    rate
        Sample rate.
    max_delay
        An ADC time more than this before the block's arrival is not plausible (PortAudio's
        ALSA backend reports ADC times up to 0.6 s early while a PulseAudio stream settles);
        the arrival time is used instead.
    gain, slew
        Loop gain per block and the largest correction per block (fraction of its duration).
    """

    def __init__(self, rate: float, max_delay: float = 0.1, gain: float = 0.05,
                 slew: float = 0.1) -> None:
        self.rate = float(rate)
        self.max_delay = max_delay
        self.gain = gain
        self.slew = slew
        self.reset()

    def reset(self) -> None:
        """Forget the history (the next block re-synchronises)."""
        self._next = math.nan
        self._duration = 0.0

    def update(self, frames: int, adc_time: float, arrival: float,
               discontinuity: bool = False) -> float:
        """The capture time of the first frame of a ``frames``-long block.

        Parameters
        ----------
        frames
            Block length (> 0).
        adc_time
            The device's capture time of the first frame on the monotonic clock; ``0.0`` when
            unknown.
        arrival
            :func:`time.monotonic` when the block reached the callback.
        discontinuity
            Frames were lost before this block: re-synchronise.
        """
        duration = frames / self.rate
        latest = arrival - duration
        raw = latest
        if arrival - self.max_delay - duration <= adc_time < latest:
            raw = adc_time
        predicted = self._next
        if discontinuity or predicted != predicted:  # NaN: first block
            t = raw
        else:
            step = self.slew * self._duration  # of the previous block: keeps times rising
            t = predicted + min(max(self.gain * (raw - predicted), -step), step)
        self._next = t + duration
        self._duration = duration
        return t


class BlockTimes:
    """Preallocated ring of ``(stream position, capture time)`` pairs, one per block.

    :meth:`record` is called by the producer (a device callback), :meth:`time_of` and
    :meth:`snapshot` by the consumer; the count is published after both values are stored.
    """

    def __init__(self, rate: float, size: int = 4096) -> None:
        self.rate = float(rate)
        self.size = size
        self._positions = np.zeros(size, np.int64)
        self._times = np.zeros(size, np.float64)
        self._count = 0

    def record(self, position: int, t: float) -> None:
        """Producer: the block starting at stream sample ``position`` was captured at ``t``."""
        slot = self._count % self.size
        self._positions[slot] = position
        self._times[slot] = t
        self._count += 1

    def snapshot(self) -> tuple[np.ndarray, np.ndarray]:
        """Consumer: copies of the recorded positions and times ``(blocks,)``, oldest first
        (the oldest slots, which the producer may be overwriting, are left out)."""
        count = self._count
        n = min(count, self.size - 64)
        slots = np.arange(count - n, count) % self.size
        return self._positions[slots], self._times[slots]

    def time_of(self, index: int | np.ndarray) -> float | np.ndarray:
        """Consumer: capture time of stream sample ``index`` (int or array): the time of the
        block holding it plus its offset in the block; extrapolated at the rate outside the
        recorded blocks; NaN before any block."""
        positions, times = self.snapshot()
        index_array = np.asarray(index, dtype=np.int64)
        if len(positions) == 0:
            result = np.full(index_array.shape, np.nan)
        else:
            block = np.clip(np.searchsorted(positions, index_array, side="right") - 1,
                            0, len(positions) - 1)
            result = times[block] + (index_array - positions[block]) / self.rate
        return float(result) if result.ndim == 0 else result
