"""An audio file played into a ring buffer as if it were a microphone (``crn-live --mic FILE``,
the demo, and ``crn-separate`` unpaced)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np

from crn_live.data.audio_io import read_audio
from crn_live.dsp.resample import resample
from crn_live.errors import UserError
from crn_live.stream.devices import one_line
from crn_live.stream.sources.base import RingAudioSource, ThreadedSource

#: Frames per block a :class:`FileAudioSource` releases.
FILE_BLOCK_FRAMES = 256


def _read_mono(path: Path, rate: int | None) -> tuple[np.ndarray, int]:
    """The file's samples ``(frames, 1)`` float32 mixed to mono, at ``rate`` (None: the
    file's), and that rate; UserError (one line) when it is unreadable or empty."""
    try:
        samples, file_rate = read_audio(path)
    except UserError as exc:
        raise UserError(one_line(exc)) from None
    if samples.ndim == 2:
        samples = samples.mean(axis=1)
    if len(samples) == 0:
        raise UserError(f"audio file {path} has no samples")
    if rate is not None and int(rate) != file_rate:
        samples = resample(samples, file_rate, int(rate))
        file_rate = int(rate)
    return np.ascontiguousarray(samples, dtype=np.float32).reshape(-1, 1), file_rate


class FileAudioSource(ThreadedSource, RingAudioSource):
    """An audio file played into a ring as if it were a microphone.

    A thread writes it in blocks of :data:`FILE_BLOCK_FRAMES`: at real-time pace when
    ``paced`` (each block when its last sample is due; a consumer that falls behind loses
    frames like with a microphone), or as fast as the consumer drains the ring when not (then
    nothing is lost). The capture time of sample ``i`` is ``t0 + i / rate`` (plus the time
    spent stopped), ``t0`` being when :meth:`start` ran or its ``at``.

    Parameters
    ----------
    path
        WAV, FLAC, OGG...; several channels are mixed to mono.
    rate
        None keeps the file's rate; another rate resamples the whole file once.
    paced
        Real-time pace, or as fast as it is read.
    loop
        Start again at the end (forever) instead of finishing.
    ring_seconds
        Capacity of the ring the consumer reads from.

    Raises
    ------
    UserError
        One line, when the file is missing, unreadable, not audio or empty.
    """

    thread_name = "crn-file-audio"

    def __init__(self, path: str | Path, rate: int | None = None, paced: bool = True,
                 loop: bool = False, ring_seconds: float = 4.0) -> None:
        path = Path(path)
        samples, file_rate = _read_mono(path, rate)
        ThreadedSource.__init__(self)
        RingAudioSource.__init__(self, file_rate, 1, ring_seconds)
        self.path = path
        #: The whole file ``(frames, 1)`` float32 at :attr:`rate`.
        self.samples = samples
        self.paced = paced
        self.loop = loop
        self._media = 0
        self._t0 = 0.0
        self._drained = threading.Event()

    @property
    def latency(self) -> float:
        """Seconds between a sample's time and its release: one block when paced."""
        return FILE_BLOCK_FRAMES / self._rate if self.paced else 0.0

    @property
    def finished(self) -> bool:
        """The whole file has been written into the ring (never with ``loop``); what is
        still :attr:`available` remains to be read."""
        return self._finished

    @property
    def total_frames(self) -> int:
        """Frames in the file (one pass)."""
        return len(self.samples)

    @property
    def duration(self) -> float:
        """Length of the file in seconds."""
        return len(self.samples) / self._rate

    def read_into(self, out: np.ndarray) -> int:
        n = super().read_into(out)
        self._drained.set()
        return n

    read_into.__doc__ = RingAudioSource.read_into.__doc__

    def _resume_at(self, now: float) -> None:
        """Sample times continue from where the file stopped: the next one is due at ``now``."""
        self._t0 = now - self._media / self._rate

    def _wake(self) -> None:
        self._drained.set()

    def _run(self) -> None:
        total = len(self.samples)
        while not self._stopping.is_set():
            offset = self._media % total if self.loop else self._media
            if offset >= total:
                self._finished = True
                return
            block = self.samples[offset:offset + FILE_BLOCK_FRAMES]
            if not self._wait_for_turn(len(block)):
                return
            self._times.record(self._written, self._t0 + self._media / self._rate)
            self._written += self._ring.write(block)
            self._media += len(block)

    def _wait_for_turn(self, n: int) -> bool:
        """Paced: until the block's last sample is due; unpaced: until the ring has room for
        ``n`` frames. False when stopped meanwhile."""
        if self.paced:
            delay = self._t0 + (self._media + n) / self._rate - time.monotonic()
            return not (delay > 0 and self._stopping.wait(delay))
        while True:
            self._drained.clear()
            if self._ring.space >= n:
                return True
            self._drained.wait(0.05)
            if self._stopping.is_set():
                return False
