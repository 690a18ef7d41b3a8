"""The bridge between a running session and the widgets, on the GUI thread.

A QTimer (about every 30 ms) drains the session's frame queue (``poll_frames``, thread-safe,
oldest first) and reads ``latest_video()`` (the frame of the sound now heard: the session holds
the picture back by the audio path's latency); the GUI thread never runs inference or audio
work, it only copies what the session already computed into the widgets.

Coalescing: every spectrum column of every polled frame is pushed into the strips, but each
strip and the video view redraw at most once per tick. Pacing: the session hands over a chunk of
columns at a time (two 23.2 ms hops every 46 ms for the small model); released all at once the
spectrograms would jump at the chunk rate. The bridge instead releases columns at the hop rate
of the wall clock, so the picture scrolls a little every tick, holding back at most about one
chunk (a longer backlog - a busy GUI, a stall - is released at once, never dropped).

The bridge measures its own refresh rate: :attr:`SessionBridge.fps` counts the ticks that drew
something, per second, over the last two seconds; :meth:`SessionBridge.stats` has the totals.
"""

from __future__ import annotations

import collections
import time

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Signal

from crn_live.stream.protocol import SessionProtocol
from .compat import guard_singletons
from .strip import SPECTRUM_LEVELS, StripPanel

#: Timer period of the bridge (about 33 ticks a second).
TICK_MS = 30
#: How often the status bar is refreshed.
STATUS_MS = 500
#: Seconds per column assumed until two frames have been seen (the model's 23.2 ms hop).
DEFAULT_HOP_S = 256 / 11025


class SessionBridge(QObject):
    """Moves frames from ``session`` into ``panel`` (a :class:`~ui.strip.StripPanel`) and
    ``video`` (a :class:`~ui.video_view.VideoView`, or None).

    Of the session (a :class:`~crn_live.stream.protocol.SessionProtocol`) it reads
    ``poll_frames()``, ``latest_video()``, ``status()`` and ``finished``. Signals:
    ``statusChanged(status)`` every :data:`STATUS_MS`, ``stripsChanged()`` when strips appear
    or go, ``finished()`` once the session's file sources have ended.
    ``pace=False`` releases every column the tick it arrives (tests of coalescing).
    """

    statusChanged = Signal(object)
    stripsChanged = Signal()
    finished = Signal()

    def __init__(self, session: SessionProtocol, panel: StripPanel, video=None,
                 interval_ms: int = TICK_MS, status_ms: int = STATUS_MS, pace: bool = True,
                 parent: QObject | None = None, clock=time.perf_counter) -> None:
        super().__init__(parent)
        self.session = session
        self.panel = panel
        self.video = video
        self.pace = pace
        self.status_ms = status_ms
        self.clock = clock
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.tick)
        self._pending: collections.deque = collections.deque()  # (strips by key, column)
        self._credit = 0.0
        self._hop_s = DEFAULT_HOP_S
        self._chunk_columns = 1
        self._last_time: float | None = None  # time_s of the newest polled frame
        self._last_tick: float | None = None
        self._last_status = -1e9
        self._draw_times: collections.deque = collections.deque(maxlen=256)
        self._finished_sent = False
        self.ticks = 0
        self.drawn = 0  # ticks that drew anything
        self.scrolled = 0  # ticks that moved the spectrograms
        self.video_frames = 0
        self.frames = 0  # UiFrames polled
        self.columns = 0  # spectrum columns pushed per strip
        self.tick_ms_total = 0.0
        self.tick_ms_max = 0.0
        self.started_at: float | None = None

    # --- control ------------------------------------------------------------------------------
    def start(self) -> None:
        self.started_at = self.clock()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    @property
    def active(self) -> bool:
        return self.timer.isActive()

    # --- measurements -------------------------------------------------------------------------
    @property
    def fps(self) -> float:
        """Frames drawn per second over the last two seconds (0.0 before two draws)."""
        now = self.clock()
        times = [t for t in self._draw_times if now - t <= 2.0]
        if len(times) < 2:
            return 0.0
        return (len(times) - 1) / max(times[-1] - times[0], 1e-9)

    @property
    def pending_columns(self) -> int:
        """Spectrum columns received but not drawn yet (released at the hop rate)."""
        return len(self._pending)

    def stats(self) -> dict:
        """Totals since :meth:`start`: ticks, draws, draws per second, columns, tick time."""
        elapsed = max(self.clock() - self.started_at, 1e-9) if self.started_at else 0.0
        return {"seconds": round(elapsed, 3), "ticks": self.ticks, "drawn": self.drawn,
                "scrolled": self.scrolled, "video_frames": self.video_frames,
                "frames_polled": self.frames, "columns": self.columns,
                "fps": round(self.drawn / elapsed, 2) if elapsed else 0.0,
                "spectrogram_fps": round(self.scrolled / elapsed, 2) if elapsed else 0.0,
                "video_fps": round(self.video_frames / elapsed, 2) if elapsed else 0.0,
                "tick_ms_mean": round(self.tick_ms_total / max(self.ticks, 1), 3),
                "tick_ms_max": round(self.tick_ms_max, 3), "strips": len(self.panel.keys())}

    # --- the tick -----------------------------------------------------------------------------
    def tick(self) -> bool:
        """Poll, push, redraw once. True when something was drawn."""
        started = self.clock()
        guard_singletons()
        frames = self.session.poll_frames()
        if frames:
            self._take(frames)
        released = self._release(started)
        scrolled = False
        if released:
            scrolled = self._push(released)
        video = self.video is not None and self.video.show_frame(self.session.latest_video())
        if video:
            self.video_frames += 1
        if scrolled:
            self.scrolled += 1
        drawn = scrolled or video
        if drawn:
            self.drawn += 1
            self._draw_times.append(started)
        if 1000.0 * (started - self._last_status) >= self.status_ms:
            self._last_status = started
            self.statusChanged.emit(self.session.status())
        if not self._finished_sent and self.session.finished:
            self._finished_sent = True
            self.finished.emit()
        self.ticks += 1
        spent = 1000.0 * (self.clock() - started)
        self.tick_ms_total += spent
        self.tick_ms_max = max(self.tick_ms_max, spent)
        return drawn

    def _take(self, frames) -> None:
        """Queue the columns of ``frames`` and sync the strips with the newest frame's keys."""
        for frame in frames:
            strips = {s.key: s for s in frame.strips}
            n = max((s.spectrum.shape[-1] for s in frame.strips), default=0)
            if n:
                if self._last_time is not None and frame.time_s > self._last_time:
                    # time_s advances by a chunk of n hops between frames
                    hop = (frame.time_s - self._last_time) / n
                    if 0.002 < hop < 0.2:
                        self._hop_s = 0.8 * self._hop_s + 0.2 * hop
                self._chunk_columns = n
                self._pending.extend((strips, i) for i in range(n))
            self._last_time = frame.time_s
        self.frames += len(frames)
        newest = frames[-1]
        if self.panel.sync([(s.key, s.label) for s in newest.strips]):
            self.stripsChanged.emit()

    def _release(self, now: float) -> list:
        """Columns to show this tick, oldest first (all of them when not pacing)."""
        if not self.pace:
            released = list(self._pending)
            self._pending.clear()
            return released
        dt = 0.0 if self._last_tick is None else now - self._last_tick
        self._last_tick = now
        self._credit += dt / self._hop_s
        n = int(self._credit)
        # hold back at most about a chunk: a longer backlog goes out at once
        n = max(n, len(self._pending) - (self._chunk_columns + 1))
        n = min(n, len(self._pending))
        # a forced release (backlog) leaves no debt; unused credit is kept for a column or two
        self._credit = min(max(self._credit - n, 0.0), 1.0) if n else min(self._credit, 2.0)
        return [self._pending.popleft() for _ in range(n)]

    def _push(self, released: list) -> bool:
        """Push the released columns into every strip (silence where a strip had no column
        then), set the meters, redraw each strip once."""
        floor = SPECTRUM_LEVELS[0]
        moved = False
        for strip in self.panel.strips():
            key = strip.key
            columns, latest = [], None
            bins = strip.spectrogram.bins
            for strips, i in released:
                s = strips.get(key)
                if s is not None:
                    columns.append(s.spectrum[:, i])
                    latest = s
                    bins = s.spectrum.shape[0]
                else:
                    columns.append(None)
            if latest is None and not bins:
                continue
            block = np.stack([c if c is not None else np.full(bins, floor, np.float32)
                              for c in columns], axis=1)
            strip.push(block)
            if latest is not None:
                strip.set_level(latest.level_db)
                strip.set_effective_gain(latest.gain)
            moved = strip.redraw() or moved
        if moved:
            self.columns += len(released)
        return moved
