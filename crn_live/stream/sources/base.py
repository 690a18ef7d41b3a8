"""What every live source and sink shares: the :class:`Source` protocol and the base classes the
devices and file readers are built on.

* :class:`SourceBase`: start / stop / close bookkeeping (starting, stopping and closing twice
  are fine; starting after :meth:`~SourceBase.close` raises), the context manager (enter =
  start, exit = close) and the counters every source has.
* :class:`RingAudioSource`: the read side of an audio input (microphone, file): a caller's
  ``(frames, channels)`` float32 array is filled from an
  :class:`~crn_live.dsp.ringbuffer.AudioRingBuffer`; :attr:`~RingAudioSource.position` is the
  stream index of the next sample returned and :meth:`~RingAudioSource.time_of` the capture
  time of any sample index.
* :class:`PortAudioStream`: a sounddevice stream's lifecycle (microphone, loudspeaker), its
  callback thread's priority raised on its first call (:func:`raise_thread_priority`).
* :class:`ThreadedSource`: a reader thread with a stop event (audio file, camera / video file).
"""

from __future__ import annotations

import os
import threading
import time
from typing import Protocol, TypeVar, runtime_checkable

import numpy as np

from crn_live.dsp.ringbuffer import AudioRingBuffer
from crn_live.stream.sources.clocks import BlockTimes
from crn_live.stream.sources.watch import DeviceWatch

__all__ = ["CALLBACK_NICE", "CALLBACK_PRIORITY", "SCRATCH_FRAMES", "PortAudioStream",
           "RingAudioSource", "Source", "SourceBase", "ThreadedSource", "as_frames",
           "raise_thread_priority"]

#: Largest block a device callback copies (mixes down, duplicates) in one step through its
#: preallocated scratch array; longer blocks go in pieces.
SCRATCH_FRAMES = 8192

_Self = TypeVar("_Self", bound="SourceBase")


@runtime_checkable
class Source(Protocol):
    """A live input or output: started, stopped, closed, and counted."""

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop` (or the end of a file)."""

    @property
    def closed(self) -> bool:
        """True after :meth:`close`: the device or file is released."""

    @property
    def finished(self) -> bool:
        """True once a file reached its end (a device never finishes)."""

    @property
    def xruns(self) -> int:
        """Glitches: over- or underflows the device reported, or blocks a full ring dropped."""

    @property
    def dropped_frames(self) -> int:
        """Frames (samples per channel, or video frames) lost because no one took them."""

    @property
    def lost(self) -> str | None:
        """Why the device went away mid-run (one line), None while it works."""

    def start(self) -> None:
        """Start (or resume); no-op while running; RuntimeError once closed."""

    def stop(self) -> None:
        """Stop; what is buffered stays buffered; no-op when stopped."""

    def close(self) -> None:
        """Stop and release the device or file; no-op when closed."""

    def __enter__(self) -> Source:
        """:meth:`start`, then the source itself."""

    def __exit__(self, *exc: object) -> None:
        """:meth:`close`."""


class SourceBase:
    """Start / stop / close bookkeeping, the context manager and default counters.

    Subclasses say whether they are :attr:`running` and implement the hooks :meth:`_begin`
    (start when not running), :meth:`_halt` (stop) and :meth:`_release` (free the device or
    file, after :meth:`_halt`).
    """

    def __init__(self) -> None:
        self._closed = False

    # --- state and counters -------------------------------------------------------------------
    @property
    def running(self) -> bool:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed

    @property
    def finished(self) -> bool:
        """True once a file reached its end; a device never finishes."""
        return False

    @property
    def xruns(self) -> int:
        """Glitches counted so far (none by default)."""
        return 0

    @property
    def dropped_frames(self) -> int:
        """Frames lost so far (none by default)."""
        return 0

    @property
    def lost(self) -> str | None:
        """Why the device went away mid-run (a file or camera: never, by default)."""
        return None

    # --- lifecycle ----------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"{type(self).__name__} is closed")

    def start(self) -> None:
        """Start (no-op when running); RuntimeError once closed."""
        self._check_open()
        if not self.running:
            self._begin()

    def stop(self) -> None:
        """Stop; what is buffered stays buffered (no-op when stopped or closed)."""
        if not self._closed:
            self._halt()

    def close(self) -> None:
        """Stop and release the device or file (no-op when closed)."""
        if not self._closed:
            self.stop()
            self._release()
            self._closed = True

    def __enter__(self: _Self) -> _Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _begin(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _halt(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _release(self) -> None:
        """Nothing to free by default."""


def as_frames(array: np.ndarray, channels: int, name: str) -> np.ndarray:
    """``array`` as ``(frames, channels)`` (a view of a ``(frames,)`` array when ``channels``
    is 1); ValueError for any other shape."""
    if array.ndim == 1 and channels == 1:
        return array.reshape(-1, 1)
    if array.ndim != 2 or array.shape[1] != channels:
        raise ValueError(f"{name} must be (frames, {channels}) float32, got {array.shape}")
    return array


class RingAudioSource(SourceBase):
    """The read side of an audio input: a producer (device callback or file thread) writes a
    ring of ``ring_seconds`` and records each block's capture time; the consumer reads.

    Producers use ``_ring``, ``_times`` (:class:`~crn_live.stream.sources.clocks.BlockTimes`)
    and ``_written`` (stream index of the next sample written).
    """

    def __init__(self, rate: int, channels: int, ring_seconds: float) -> None:
        SourceBase.__init__(self)  # not super(): a file source also runs ThreadedSource's
        self._rate = int(rate)
        self.channels = channels
        self._ring = AudioRingBuffer(max(int(ring_seconds * rate), 1), channels)
        self._times = BlockTimes(rate)
        self._written = 0
        self._read = 0

    @property
    def rate(self) -> int:
        """Sample rate (Hz) of what :meth:`read_into` returns."""
        return self._rate

    @property
    def available(self) -> int:
        """Frames captured and not yet read."""
        return self._ring.available

    @property
    def position(self) -> int:
        """Stream index of the next sample :meth:`read_into` returns."""
        return self._read

    @property
    def total_frames(self) -> int | None:
        """Frames in the input (one pass of a file); None for a live device."""
        return None

    @property
    def xruns(self) -> int:
        """Blocks the full ring dropped (the consumer did not read in time)."""
        return self._ring.overruns

    @property
    def dropped_frames(self) -> int:
        """Frames lost because the consumer did not read in time (the ring was full)."""
        return self._ring.overrun_frames

    def read_into(self, out: np.ndarray) -> int:
        """Fill ``out`` ``(frames, channels)`` float32 (or ``(frames,)`` when mono) with the
        oldest unread samples; returns how many were there (the rest is zero-filled)."""
        n = self._ring.read_into(as_frames(out, self.channels, "out"))
        self._read += n
        return n

    def time_of(self, index: int | np.ndarray) -> float | np.ndarray:
        """Capture time (:func:`time.monotonic` clock) of stream sample ``index``, an int or
        an array of them; NaN before the first block."""
        return self._times.time_of(index)

    def block_times(self) -> tuple[np.ndarray, np.ndarray]:
        """Stream positions and capture times ``(blocks,)`` of the recent blocks, oldest
        first."""
        return self._times.snapshot()


#: SCHED_FIFO priority asked for a device callback's thread (PulseAudio's own threads ask
#: rtkit for 5..20): a thread the scheduler may leave waiting longer than the device's buffer
#: (30 ms) under a busy CPU makes the device run dry.
CALLBACK_PRIORITY = 20
#: Nice value tried where real-time scheduling is not allowed.
CALLBACK_NICE = -10


def raise_thread_priority() -> str:
    """Raise the calling thread's scheduling priority as far as allowed: ``"realtime"``
    (SCHED_FIFO at :data:`CALLBACK_PRIORITY`: root, or an RLIMIT_RTPRIO allowance),
    ``"nice"`` (:data:`CALLBACK_NICE`), or ``"normal"`` (unchanged: neither is allowed, or not
    on Linux). One system call or two; for a device callback's first call."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(CALLBACK_PRIORITY))
        return "realtime"
    except (AttributeError, OSError):
        pass
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), CALLBACK_NICE)
        return "nice"
    except (AttributeError, OSError):
        return "normal"


class PortAudioStream(SourceBase):
    """The lifecycle of a sounddevice stream held in ``_stream`` (set by the subclass's
    ``__init__``; None until opened), watched by ``_watch``
    (:class:`~crn_live.stream.sources.watch.DeviceWatch`: its callback sets
    ``_watch.last_call``, its ``finished_callback`` is ``_watch.finished``).

    The callback calls :meth:`_first_call` while :attr:`callback_priority` is None: PortAudio
    runs each start's callbacks on a new thread of ordinary priority, which the first call
    raises (:func:`raise_thread_priority`)."""

    _stream = None
    _watch: DeviceWatch | None = None
    device_name: str
    #: What :func:`raise_thread_priority` got for this start's callback thread; None before
    #: the first callback.
    callback_priority: str | None = None

    def _first_call(self) -> None:
        """The callback's thread, on its first call after a start: raise its priority."""
        self.callback_priority = raise_thread_priority()

    @property
    def running(self) -> bool:
        """True while the device stream is active."""
        return self._stream is not None and bool(self._stream.active)

    @property
    def latency(self) -> float:
        """Latency (seconds) the stream reports."""
        return float(self._stream.latency)

    @property
    def lost(self) -> str | None:
        """Why the device went away while running (one line: removed, suspended, failed),
        None while it works; stays set (open a new stream to go on)."""
        return None if self._watch is None else self._watch.lost

    def _begin(self) -> None:
        if self._watch is not None:
            self._watch.begin()
        self.callback_priority = None
        self._stream.start()

    def _halt(self) -> None:
        # stop() on a stream whose device stopped calling back blocks for ~18 s; abort() not
        stuck = self._watch is not None and self._watch.end()
        if self._stream is not None and not self._stream.stopped:
            if stuck:
                self._stream.abort()
            else:
                self._stream.stop()

    def _release(self) -> None:
        self._stream.close()


class ThreadedSource(SourceBase):
    """A reader thread (``_run``) that ends when ``_stopping`` is set.

    Subclasses implement ``_run`` and :meth:`_resume_at` (the monotonic time of the next item
    to deliver) and may override :meth:`_wake` (unblock ``_run`` when stopping).
    """

    thread_name = "crn-source"

    def __init__(self) -> None:
        SourceBase.__init__(self)  # not super(): a file source also runs RingAudioSource's
        self._finished = False
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def running(self) -> bool:
        """True while the reader thread runs."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def finished(self) -> bool:
        """A file reached its end."""
        return self._finished

    def start(self, at: float | None = None) -> None:
        """Start (or resume) reading; ``at`` is the :func:`time.monotonic` time of the next
        item (default: now). No-op while running; RuntimeError once closed."""
        self._check_open()
        if self.running:
            return
        self._stopping.clear()
        self._resume_at(time.monotonic() if at is None else at)
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    def _resume_at(self, now: float) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _run(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _wake(self) -> None:
        """Unblock a waiting ``_run`` (nothing to do by default)."""

    def _halt(self) -> None:
        self._stopping.set()
        self._wake()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)
