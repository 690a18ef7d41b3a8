"""Instruments of a video file: detection every Nth frame, tracking in between, crops per track.

The same loop as live (detect at a reduced rate, :class:`~crn_live.vision.tracker.Tracker`
fills the frames between), run over a file in one decoding pass. Each track that was visible
long enough becomes a :class:`VideoTrack` with its box per frame and its object crops at the
frames the separator embeds (two per second, :func:`~crn_live.data.clips.spaced_frames`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable

import numpy as np

from crn_live.data.video import crop_box, open_video, spaced_frames
from crn_live.errors import UserError
from crn_live.vision.tracker import Tracker, TrackerConfig

CROPS_PER_SECOND = 2.0
#: A track must be visible at this fraction of the crop frames to count as an instrument.
MIN_PRESENCE = 0.25


@dataclasses.dataclass(frozen=True)
class VideoTrack:
    """One tracked instrument: class, mean confidence, boxes ``{frame: (4,)}`` and crops
    ``(n, S, S, 3)`` RGB uint8 at the crop frames where it was visible."""

    track_id: int
    class_name: str
    score: float
    boxes: dict[int, np.ndarray]
    crops: np.ndarray
    manual: bool = False

    def box_at(self, frame: int) -> np.ndarray | None:
        return self.boxes.get(frame)

    def median_box(self) -> list[float]:
        return [round(float(v), 1) for v in np.median(np.stack(list(self.boxes.values())), 0)]


@dataclasses.dataclass(frozen=True)
class VideoScan:
    """What :func:`track_video` saw: the tracks, the frame count, the frame rate and size."""

    tracks: list[VideoTrack]
    n_frames: int
    fps: float
    width: int
    height: int


def track_video(path: Path, detector, crop_size: int, every: int = 5,
                config: TrackerConfig = TrackerConfig(),
                manual: list[tuple[str, list[float]]] | None = None,
                progress: Callable[[int, int], None] | None = None) -> VideoScan:
    """Detect (every ``every``-th frame) and track instruments through a video file.

    ``detector``: anything with ``classes`` and ``detect(frame_bgr) -> Detections``.
    ``manual``: ``[(class, box)]`` regions kept for the whole video (the user's own boxes).
    """
    capture, header = open_video(path)
    fps, expected = header.fps, header.n_frames
    tracker = Tracker(config)
    for name, box in manual or []:
        tracker.add_manual(np.asarray(box, np.float64), name, 0.0)
    crop_step = max(1, int(round(fps / CROPS_PER_SECOND)))  # as spaced_frames picks them
    boxes: dict[int, dict[int, np.ndarray]] = {}
    crops: dict[int, list[np.ndarray]] = {}
    scores: dict[int, list[float]] = {}
    info: dict[int, tuple[str, bool]] = {}
    index = 0
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            time_s = index / fps
            if index % every == 0:
                found = detector.detect(frame)
                visible = tracker.update(time_s, found.boxes,
                                         [detector.classes[k] for k in found.labels],
                                         found.scores)
            else:
                visible = tracker.predict(time_s)
            for track in visible:
                info[track.track_id] = (track.class_name, track.manual)
                boxes.setdefault(track.track_id, {})[index] = track.box.astype(np.float32)
                scores.setdefault(track.track_id, []).append(track.score)
                if index % crop_step == crop_step // 2:
                    crops.setdefault(track.track_id, []).append(
                        crop_box(frame, track.box, crop_size))
            index += 1
            if progress is not None:
                progress(index, max(expected, index))
    finally:
        capture.release()
    if index == 0:
        raise UserError(f"{path} has no readable video frames")
    n_crop_frames = len(spaced_frames(index, fps, CROPS_PER_SECOND))
    tracks = [VideoTrack(tid, info[tid][0], float(np.mean(scores[tid])), boxes[tid],
                         np.stack(crops[tid]), info[tid][1])
              for tid in sorted(crops) if len(crops[tid]) >= MIN_PRESENCE * n_crop_frames]
    return VideoScan(tracks, index, float(fps), header.width, header.height)
