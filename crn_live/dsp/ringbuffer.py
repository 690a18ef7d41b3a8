"""Single-producer single-consumer ring buffer of audio frames.

Sits between an audio-device callback (producer) and a worker thread (consumer). Storage is
preallocated; every call copies with at most two ``np.copyto`` slices and allocates no array.

Thread contract (SPSC under the GIL):

* exactly one producer thread calls :meth:`write`; exactly one consumer thread calls
  :meth:`read_into`, :meth:`peek_latest_into` and :meth:`clear`;
* positions are monotonic integer counters (``_written`` owned by the producer, ``_read`` by the
  consumer), each published by a single attribute store *after* the data copy, so the other side
  never sees a frame before its samples are in place;
* the producer never overwrites unread frames: what does not fit is dropped (the *newest*
  frames of the block) and counted in :attr:`overruns` / :attr:`overrun_frames`;
* counters read from the other thread are snapshots: :attr:`available` may grow (consumer view)
  or :attr:`space` may grow (producer view) right after being read, never shrink.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike


class AudioRingBuffer:
    """Preallocated ring of ``capacity_frames`` frames of ``channels`` samples.

    Blocks are ``(frames, channels)`` arrays, the layout of sounddevice callbacks.
    """

    def __init__(
        self, capacity_frames: int, channels: int = 1, dtype: DTypeLike = np.float32
    ) -> None:
        if capacity_frames <= 0 or channels <= 0:
            raise ValueError(f"invalid ring: capacity={capacity_frames}, channels={channels}")
        self._data = np.zeros((capacity_frames, channels), dtype=dtype)
        self.capacity = capacity_frames
        self.channels = channels
        self._written = 0
        self._read = 0
        self.overruns = 0
        self.overrun_frames = 0
        self.underruns = 0
        self.underrun_frames = 0

    @property
    def available(self) -> int:
        """Frames written and not yet read."""
        return self._written - self._read

    @property
    def space(self) -> int:
        """Frames that can be written without dropping."""
        return self.capacity - self.available

    def _check(self, block: np.ndarray, name: str) -> None:
        if block.ndim != 2 or block.shape[1] != self.channels:
            raise ValueError(f"{name} must be (frames, {self.channels}), got {block.shape}")

    def _store(self, position: int, block: np.ndarray) -> None:
        """Copy ``block`` (frames, channels) into the ring from counter ``position``."""
        start = position % self.capacity
        first = min(len(block), self.capacity - start)
        np.copyto(self._data[start:start + first], block[:first])
        if first < len(block):
            np.copyto(self._data[: len(block) - first], block[first:])

    def _load(self, position: int, out: np.ndarray) -> None:
        """Copy ``len(out)`` frames from counter ``position`` into ``out`` (frames, channels)."""
        start = position % self.capacity
        first = min(len(out), self.capacity - start)
        np.copyto(out[:first], self._data[start:start + first])
        if first < len(out):
            np.copyto(out[first:], self._data[: len(out) - first])

    def write(self, block: np.ndarray) -> int:
        """Producer: append ``block`` ``(frames, channels)``; returns frames written.

        Frames that do not fit are dropped and counted as an overrun.
        """
        self._check(block, "block")
        count = min(len(block), self.space)
        self._store(self._written, block[:count])
        self._written += count
        if count < len(block):
            self.overruns += 1
            self.overrun_frames += len(block) - count
        return count

    def read_into(self, out: np.ndarray) -> int:
        """Consumer: fill ``out`` ``(frames, channels)`` with the oldest frames; returns frames
        read. When short, the rest of ``out`` is zero-filled and an underrun is counted.
        """
        self._check(out, "out")
        count = min(len(out), self.available)
        self._load(self._read, out[:count])
        out[count:].fill(0)
        self._read += count
        if count < len(out):
            self.underruns += 1
            self.underrun_frames += len(out) - count
        return count

    def peek_latest_into(self, out: np.ndarray) -> int:
        """Consumer: copy the newest unread frames into the *end* of ``out`` without consuming.

        ``out`` is ``(frames, channels)``; returns ``min(len(out), available)``, the number of
        valid trailing frames, and zero-fills the frames before them. Only unread frames are
        returned, because the producer may be overwriting the ones already read.
        """
        self._check(out, "out")
        written = self._written
        count = min(len(out), written - self._read)
        head = len(out) - count
        out[:head].fill(0)
        self._load(written - count, out[head:])
        return count

    def clear(self) -> None:
        """Consumer: discard every unread frame (the xrun counters are kept)."""
        self._read = self._written
