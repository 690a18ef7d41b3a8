"""Picture in step with the sound: recent video frames keyed by capture time, and the one to show
while the audio captured at a given time is being heard.

The separated audio leaves the loudspeaker a while after it was captured (the engine's
algorithmic latency, the output ring and the device's own buffer), so the window must not show
the newest camera frame but the one captured when the audio now heard was captured.
:class:`DelayedFrames` holds the last second or so of frames (the session pushes each published
:class:`~crn_live.stream.session.VideoFrame` with its capture time on :func:`time.monotonic`'s
clock) and :meth:`DelayedFrames.at` returns the newest frame captured at or before a time. No Qt,
no devices; one lock, held only to touch the deque.
"""

from __future__ import annotations

import collections
import threading
from typing import Generic, TypeVar

__all__ = ["DelayedFrames"]

Frame = TypeVar("Frame")


class DelayedFrames(Generic[Frame]):
    """A short queue of frames keyed by capture time (seconds, rising), safe across threads.

    Parameters
    ----------
    horizon_s
        Frames captured more than this before the newest one are dropped when a frame is
        pushed (the newest frame older than the horizon is kept, so that a query just past it
        still finds one); must exceed the longest delay asked of :meth:`at`.
    max_frames
        At most this many frames are held (a fast camera, or a long horizon).
    """

    def __init__(self, horizon_s: float = 1.0, max_frames: int = 64) -> None:
        if horizon_s <= 0 or max_frames < 1:
            raise ValueError(f"horizon_s must be > 0 and max_frames >= 1, got {horizon_s}, "
                             f"{max_frames}")
        self.horizon_s = horizon_s
        self._frames: collections.deque[tuple[float, Frame]] = \
            collections.deque(maxlen=max_frames)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._frames)

    @property
    def newest_time(self) -> float | None:
        """Capture time of the newest frame, None when empty."""
        with self._lock:
            return self._frames[-1][0] if self._frames else None

    def push(self, capture_s: float, frame: Frame) -> None:
        """Add ``frame`` captured at ``capture_s``. A capture time earlier than the newest one
        (a source that restarted its clock) starts the queue afresh."""
        with self._lock:
            frames = self._frames
            if frames and capture_s < frames[-1][0]:
                frames.clear()
            frames.append((capture_s, frame))
            oldest = capture_s - self.horizon_s
            while len(frames) > 1 and frames[1][0] <= oldest:
                frames.popleft()

    def at(self, time_s: float) -> Frame | None:
        """The newest frame captured at or before ``time_s``; the oldest frame when every
        frame is later (the queue has not filled yet); None when empty. Frames older than the
        one returned are dropped: play time only moves forward."""
        with self._lock:
            frames = self._frames
            if not frames:
                return None
            while len(frames) > 1 and frames[1][0] <= time_s:
                frames.popleft()
            return frames[0][1]

    def clear(self) -> None:
        """Forget every frame."""
        with self._lock:
            self._frames.clear()
