"""The latest frame of a camera or a video file, read by a thread (OpenCV)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from crn_live.errors import UserError
from crn_live.stream.devices import quiet_stderr
from crn_live.stream.sources.base import ThreadedSource

#: ``on_frame(frame RGB uint8 (height, width, 3), capture time, index)``.
FrameCallback = Callable[[np.ndarray, float, int], None]
#: A camera that answers more reads in a row than this with no frame counts as gone.
MAX_FAILED_READS = 50


def _camera_index(spec: int | str | Path) -> int | None:
    """The camera index ``spec`` names, or None when it names a file."""
    if isinstance(spec, int):
        return spec
    text = str(spec).strip()
    return int(text) if text.isdigit() else None


def _open_file(path: Path) -> tuple[cv2.VideoCapture, np.ndarray, float]:
    """Capture, first BGR frame and frame rate (25 when unknown) of a video file."""
    if not path.is_file():
        raise UserError(f"cannot read video {path}: no such file")
    with quiet_stderr():
        capture = cv2.VideoCapture(str(path))
        ok, first = capture.read() if capture.isOpened() else (False, None)
    if not ok or first is None:
        capture.release()
        raise UserError(f"cannot read video {path}: not a video file or no decodable frame")
    fps = capture.get(cv2.CAP_PROP_FPS)
    return capture, first, float(fps) if fps and fps > 0 else 25.0


def _open_camera(index: int, width: int | None,
                 height: int | None) -> tuple[cv2.VideoCapture, np.ndarray, float]:
    """Capture, first BGR frame and frame rate (30 when unknown) of camera ``index``, asked
    for ``width`` x ``height``."""
    with quiet_stderr():
        capture = cv2.VideoCapture(index)
        if capture.isOpened():
            if width:
                capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            if height:
                capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        ok, first = capture.read() if capture.isOpened() else (False, None)
    if not ok or first is None:
        capture.release()
        raise UserError(f"no camera {index}: it does not open or delivers no frame "
                        "(list cameras with crn-live --list-devices)")
    fps = capture.get(cv2.CAP_PROP_FPS)
    return capture, first, float(fps) if fps and fps > 0 else 30.0


class CameraSource(ThreadedSource):
    """The latest frame of a camera or a video file, read by a thread.

    The reader keeps one slot ``(frame, t, index)``: RGB uint8 ``(height, width, 3)``, capture
    time on :func:`time.monotonic`'s clock, frame index from 0. The lock guarding the slot is
    held only to swap the reference. A camera frame's time is when the driver handed it over;
    a file frame ``i`` is due at ``t0 + i / fps`` and, when ``paced``, published then (the
    reader sleeps until it is due); unpaced files are decoded as fast as possible.

    Parameters
    ----------
    spec
        A camera index (int or digits) or a video file path.
    paced
        Files only: play at the file's own frame rate.
    width, height
        Wanted frame size: asked of a camera, and frames are resized to it when they differ
        (one of them alone keeps the aspect ratio).
    on_frame
        Called from the reader thread with ``(frame, t, index)`` for every frame read.
    loop
        Files only: start again at the end instead of finishing.

    Raises
    ------
    UserError
        One line: ``no camera 0: ...`` or ``cannot read video X: ...``.
    """

    thread_name = "crn-camera"

    def __init__(self, spec: int | str | Path, paced: bool = True, width: int | None = None,
                 height: int | None = None, on_frame: FrameCallback | None = None,
                 loop: bool = False) -> None:
        super().__init__()
        self.spec = spec
        self.paced = paced
        self.on_frame = on_frame
        self.loop = loop
        self._want = (width, height)
        index = _camera_index(spec)
        self.is_file = index is None
        if self.is_file:
            capture, first, self.fps = _open_file(Path(spec))
        else:
            capture, first, self.fps = _open_camera(index, width, height)
        self._capture = capture
        self._pending: np.ndarray | None = first
        self._pending_time = time.monotonic()
        self.size = self._target_size(first.shape[1], first.shape[0])
        self._slot: tuple[np.ndarray, float, int] | None = None
        self._fetched = -1  # index of the last frame latest() returned
        self._lock = threading.Lock()
        self._next_index = 0
        self._t0 = 0.0
        self._failed_reads = 0
        self._dropped = 0
        self.error: str | None = None

    def _target_size(self, width: int, height: int) -> tuple[int, int]:
        """(width, height) delivered for frames of ``width`` x ``height``."""
        want_w, want_h = self._want
        if want_w and want_h:
            return int(want_w), int(want_h)
        if want_w:
            return int(want_w), max(1, round(height * want_w / width))
        if want_h:
            return max(1, round(width * want_h / height)), int(want_h)
        return width, height

    @property
    def finished(self) -> bool:
        """A file reached its end (or a camera stopped delivering: see :attr:`error`)."""
        return self._finished

    @property
    def frames_read(self) -> int:
        """Frames published so far."""
        return self._next_index

    @property
    def xruns(self) -> int:
        """Reads a camera answered with no frame."""
        return self._failed_reads

    @property
    def dropped_frames(self) -> int:
        """Frames replaced by a newer one before :meth:`latest` returned them (frames that
        only ``on_frame`` saw count too)."""
        return self._dropped

    def latest(self) -> tuple[np.ndarray, float, int] | None:
        """The newest ``(frame RGB uint8, capture time, index)``, or None before the first."""
        with self._lock:
            if self._slot is not None:
                self._fetched = self._slot[2]
            return self._slot

    def _convert(self, bgr: np.ndarray) -> np.ndarray:
        if (bgr.shape[1], bgr.shape[0]) != self.size:
            bgr = cv2.resize(bgr, self.size, interpolation=cv2.INTER_AREA)
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def _resume_at(self, now: float) -> None:
        """File frame times continue from where it stopped: the next one is due at ``now``."""
        self._t0 = now - self._next_index / self.fps

    def _read(self) -> tuple[np.ndarray | None, float]:
        if self._pending is not None:
            frame, t, self._pending = self._pending, self._pending_time, None
            return frame, t
        ok, frame = self._capture.read()
        t = time.monotonic()
        if (not ok or frame is None) and self.is_file and self.loop:
            self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self._capture.read()
        return (frame if ok else None), t

    def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            bgr, t = self._read()
            if bgr is None:
                if not self.is_file:
                    failures += 1
                    self._failed_reads += 1
                if self.is_file or failures > MAX_FAILED_READS:
                    self._give_up()
                    return
                time.sleep(0.01)
                continue
            failures = 0
            if self.is_file:
                t = self._t0 + self._next_index / self.fps
                delay = t - time.monotonic()
                if self.paced and delay > 0 and self._stopping.wait(delay):
                    self._pending, self._pending_time = bgr, t
                    return
            self._publish(self._convert(bgr), t)

    def _give_up(self) -> None:
        """The file ended, or the camera stopped delivering."""
        if not self.is_file:
            self.error = f"camera {self.spec} stopped delivering frames"
        self._finished = True

    def _publish(self, frame: np.ndarray, t: float) -> None:
        """Swap ``frame`` into the slot (counting the one it replaces if never fetched), then
        hand it to ``on_frame``."""
        index = self._next_index
        with self._lock:
            if self._slot is not None and self._slot[2] != self._fetched:
                self._dropped += 1
            self._slot = (frame, t, index)
        self._next_index = index + 1
        if self.on_frame is not None:
            self.on_frame(frame, t, index)

    def _release(self) -> None:
        """Release the camera or file (left to the reader thread should it still run)."""
        if not self.running:
            self._capture.release()
