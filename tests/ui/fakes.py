"""Stand-ins for a LiveSession in widget tests: frames built from the session's own dataclasses
and a session that records every call the window makes.

:class:`FakeSession` and :class:`RecordingMixer` subclass the protocols the app uses
(:mod:`crn_live.stream.protocol`); ``tests/stream/test_protocol.py`` checks that they, like
``LiveSession``, define every member with the protocol's call signature."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from crn_live.errors import UserError
from crn_live.instruments import lookup
from crn_live.stream.protocol import NAMED_ID_BASE, MixerControls, SessionProtocol
from crn_live.stream.session import SessionOptions, Status, StripFrame, UiFrame, VideoFrame
from crn_live.stream.vision import TrackInfo

LABELS = {1: "Violin", 2: "Cello", 3: "Flute", 4: "Drum"}


def label_of(track_id: int) -> str:
    """The fake class of a track: Violin, Cello, Flute, Drum, Violin, ..."""
    return LABELS[(track_id - 1) % len(LABELS) + 1]


def strip_frame(key, value: float = -20.0, bins: int = 32, frames: int = 2,
                level_db: float = -12.0, gain: float = 1.0, label: str | None = None
                ) -> StripFrame:
    label = label or {"mix": "Mixture", "residual": "Residual"}.get(key) or label_of(key)
    return StripFrame(key, label, np.full((bins, frames), value, np.float32), level_db, gain)


def ui_frame(index: int, tracks=(1, 2), value: float = -20.0, bins: int = 32,
             frames: int = 2, hop_s: float = 256 / 11025, labels: dict | None = None
             ) -> UiFrame:
    """Chunk ``index``: the mixture, ``tracks`` and the residual, all columns ``value``;
    ``labels``: strip names by key (else :func:`label_of`)."""
    keys = ["mix", *tracks, "residual"]
    labels = labels or {}
    return UiFrame(index, index * frames * hop_s,
                   tuple(strip_frame(k, value, bins, frames, label=labels.get(k))
                         for k in keys))


def video_frame(tracks=(1, 2), time_s: float = 0.0, size=(240, 320)) -> VideoFrame:
    h, w = size
    image = np.zeros((h, w, 3), np.uint8)
    image[..., 1] = 60
    infos = [TrackInfo(t, label_of(t), (10.0 + 70 * (t - 1), 20.0,
                                                  70.0 + 70 * (t - 1), 120.0), t > 3, 0.9)
             for t in tracks]
    return VideoFrame(image, time_s, infos)


class RecordingMixer(MixerControls):
    """Records ``set_solo`` / ``set_mute`` / ``set_gain`` calls."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def set_solo(self, key, on: bool) -> None:
        self.calls.append(("solo", key, bool(on)))

    def set_mute(self, key, on: bool) -> None:
        self.calls.append(("mute", key, bool(on)))

    def set_gain(self, key, gain: float) -> None:
        self.calls.append(("gain", key, float(gain)))


class FakeSession(SessionProtocol):
    """What the window needs of a LiveSession, with queued frames and recorded calls; tests
    set ``running`` and ``finished`` directly."""

    classes = ("Violin", "Cello", "Flute", "Drum")

    def __init__(self, options: SessionOptions | None = None) -> None:
        self.options = options or SessionOptions()
        self.mixer = RecordingMixer()
        self.frames: list[UiFrame] = []
        self.video: VideoFrame | None = None
        self._running = False
        self._finished = False
        self.error: BaseException | None = None
        self.closed = False
        self.regions: list[tuple] = []
        self.named: dict[int, str] = {}  # instruments added by name, by id
        self.removed: list[int] = []
        self.recording: Path | None = None
        self.recorded: list[Path] = []
        self.polls = 0
        #: What ``status()`` reports as the picture's delay (a real session measures it).
        self.playback_delay_ms = 185.9

    @property
    def running(self) -> bool:
        return self._running

    @running.setter
    def running(self, value: bool) -> None:
        self._running = value

    @property
    def finished(self) -> bool:
        return self._finished

    @finished.setter
    def finished(self, value: bool) -> None:
        self._finished = value

    def start(self) -> None:
        if self.closed:
            raise RuntimeError("closed")
        self.running = True

    def stop(self) -> None:
        self.running = False

    def close(self) -> None:
        self.stop()
        self.closed = True

    def poll_frames(self) -> list[UiFrame]:
        self.polls += 1
        frames, self.frames = self.frames, []
        return frames

    def latest_video(self) -> VideoFrame | None:
        return self.video

    def status(self) -> Status:
        return Status("onnxruntime", "no GPU here", 115.92, 4.2, 9.8, 0.21, 1, "full", 2,
                      10, 0.46, self.recording, str(self.options.camera),
                      str(self.options.mic), str(self.options.output),
                      self.playback_delay_ms)

    def add_region(self, box: Sequence[float], class_name: str) -> int:
        self.regions.append((tuple(box), class_name))
        return 100 + len(self.regions)

    def add_instrument(self, class_name: str) -> int:
        name = lookup(class_name).name  # ValueError with close matches, as the real one
        if len(self.named) >= self.options.max_objects:
            raise ValueError(f"{self.options.max_objects} instruments are already named: "
                             f"remove one first")
        named_id = NAMED_ID_BASE + len(self.named) + len(self.removed)
        self.named[named_id] = name
        return named_id

    def remove_track(self, track_id: int) -> bool:
        self.removed.append(track_id)
        self.named.pop(track_id, None)
        return True

    def start_recording(self, folder: Path) -> None:
        self.recording = Path(folder)

    def stop_recording(self) -> Path | None:
        path, self.recording = self.recording, None
        if path is not None:
            self.recorded.append(path)
        return path


class FakeFactory:
    """``factory(options) -> FakeSession``; raises UserError for options with ``camera`` in
    ``broken`` (like a missing camera)."""

    def __init__(self, broken=()) -> None:
        self.broken = set(broken)
        self.opened: list[FakeSession] = []
        self.options: list[SessionOptions] = []

    def __call__(self, options: SessionOptions) -> FakeSession:
        self.options.append(options)
        if options.camera in self.broken:
            raise UserError(f"no camera {options.camera}: list devices with crn-live "
                            f"--list-devices")
        session = FakeSession(options)
        self.opened.append(session)
        return session
