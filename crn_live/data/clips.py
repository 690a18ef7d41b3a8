"""Reading clip folders (the layout ``crn-synth`` writes) for training, evaluation and separation.

A :class:`Clip` gives the mixture and stems resampled to the model rate, and object crops cut
from the video with the clip's boxes. Nothing here writes into the data folder.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import cv2
import numpy as np

from crn_live.audio_io import read_audio
from crn_live.dsp.resample import resample
from crn_live.errors import UserError


class ClipError(UserError):
    """A folder that is not a readable clip."""


@dataclasses.dataclass(frozen=True)
class SlotInfo:
    """One instrument slot of a clip: class, stem file, per-frame boxes ``(frames, 4)``."""

    name: str
    class_name: str
    class_id: int
    stem: Path
    boxes: np.ndarray


@dataclasses.dataclass(frozen=True)
class Clip:
    """A clip folder: ``mix.wav``, ``stems/``, ``video.mp4``, ``meta.json``."""

    folder: Path
    meta: dict
    slots: tuple[SlotInfo, ...]

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def fps(self) -> float:
        return float(self.meta["fps"])

    def mix(self, rate: int) -> np.ndarray:
        """The mixture ``(samples,)`` float32 at ``rate``."""
        return load_audio(self.folder / "mix.wav", rate)

    def stems(self, rate: int) -> np.ndarray:
        """The stems ``(slots, samples)`` float32 at ``rate``, in slot order."""
        return np.stack([load_audio(s.stem, rate) for s in self.slots])

    def crops(self, frame_indices: np.ndarray, size: int, margin: float = 0.1) -> np.ndarray:
        """Object crops ``(frames, slots, size, size, 3)`` uint8 RGB at the given video frames.

        Each crop is the slot's box grown by ``margin`` on each side, squared, clipped to the
        frame and resized to ``size``.
        """
        wanted = sorted(set(int(i) for i in frame_indices))
        images = read_frames(self.folder / "video.mp4", wanted)
        out = np.zeros((len(frame_indices), len(self.slots), size, size, 3), np.uint8)
        for row, index in enumerate(frame_indices):
            image = images[int(index)]
            for k, slot in enumerate(self.slots):
                out[row, k] = crop_box(image, slot.boxes[int(index)], size, margin)
        return out


def spaced_frames(n_frames: int, fps: float, per_second: float = 2.0) -> np.ndarray:
    """Video frame indices ``per_second`` times a second, mid-interval; at least frame 0."""
    step = max(1, int(round(fps / per_second)))
    frames = np.arange(step // 2, n_frames, step)
    return frames if len(frames) else np.zeros(1, np.int64)


def crop_box(image_bgr: np.ndarray, box: np.ndarray, size: int, margin: float = 0.1) -> np.ndarray:
    """A square RGB crop ``(size, size, 3)`` around ``box`` ``[x0, y0, x1, y1]`` (pixels)."""
    h, w = image_bgr.shape[:2]
    x0, y0, x1, y1 = (float(v) for v in box)
    side = max(x1 - x0, y1 - y0) * (1 + 2 * margin)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    a0, b0 = int(round(cx - side / 2)), int(round(cy - side / 2))
    a1, b1 = a0 + max(int(round(side)), 2), b0 + max(int(round(side)), 2)
    padded = cv2.copyMakeBorder(image_bgr, max(0, -b0), max(0, b1 - h), max(0, -a0),
                                max(0, a1 - w), cv2.BORDER_REPLICATE)
    patch = padded[b0 + max(0, -b0):b1 + max(0, -b0), a0 + max(0, -a0):a1 + max(0, -a0)]
    patch = cv2.resize(patch, (size, size), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(patch, cv2.COLOR_BGR2RGB)


@dataclasses.dataclass(frozen=True)
class VideoInfo:
    """What a video file's header says: frame rate (25 when it says nothing), frame count (may
    be approximate or 0 for some containers), frame size."""

    fps: float
    n_frames: int
    width: int
    height: int


def open_video(path: Path) -> tuple[cv2.VideoCapture, VideoInfo]:
    """An opened capture of a video file and its :class:`VideoInfo`; ClipError (one line) if
    it cannot be opened. The caller releases the capture."""
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise ClipError(f"cannot open video {path}: unreadable or not a video file")
    info = VideoInfo(capture.get(cv2.CAP_PROP_FPS) or 25.0,
                     int(capture.get(cv2.CAP_PROP_FRAME_COUNT)),
                     int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
                     int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    return capture, info


def video_info(path: Path) -> VideoInfo:
    """:class:`VideoInfo` of a video file (ClipError if it cannot be opened)."""
    capture, info = open_video(path)
    capture.release()
    return info


def read_frames(path: Path, indices: list[int]) -> dict[int, np.ndarray]:
    """BGR frames at sorted ``indices`` of a video (decoded sequentially, once)."""
    capture, _ = open_video(path)
    frames: dict[int, np.ndarray] = {}
    wanted = set(indices)
    index, last = 0, max(indices) if indices else -1
    try:
        while index <= last:
            ok, image = capture.read()
            if not ok:
                break
            if index in wanted:
                frames[index] = image
            index += 1
    finally:
        capture.release()
    missing = wanted - set(frames)
    if missing:
        raise ClipError(f"video {path} has only {index} frames; frame {min(missing)} was asked for")
    return frames


def load_audio(path: Path, rate: int) -> np.ndarray:
    """Mono float32 ``(samples,)`` audio from a file, resampled to ``rate``."""
    samples, file_rate = read_audio(path)
    if samples.ndim == 2:
        samples = samples.mean(axis=1)
    if file_rate != rate:
        samples = resample(samples, file_rate, rate)
    return np.ascontiguousarray(samples, dtype=np.float32)


def open_clip(folder: Path) -> Clip:
    """Read a clip folder's metadata; ClipError with one line if it is not a clip."""
    folder = Path(folder)
    meta_path = folder / "meta.json"
    if not meta_path.is_file():
        raise ClipError(f"{folder} is not a clip folder (no meta.json); make clips with crn-synth")
    try:
        meta = json.loads(meta_path.read_text())
        slots = tuple(
            SlotInfo(s["slot"], s["class"], int(s["class_id"]), folder / s["stem"],
                     np.asarray(s["boxes"], dtype=np.float32).reshape(-1, 4))
            for s in meta["slots"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ClipError(f"{meta_path} is not valid clip metadata ({exc})") from None
    for name in ("mix.wav", "video.mp4"):
        if not (folder / name).is_file():
            raise ClipError(f"{folder} has no {name}")
    return Clip(folder, meta, slots)


def find_clips(root: Path) -> list[Clip]:
    """All clip folders directly under ``root`` (or ``root`` itself), sorted by name."""
    root = Path(root)
    if not root.is_dir():
        raise ClipError(f"data folder {root} does not exist")
    if (root / "meta.json").is_file():
        return [open_clip(root)]
    clips = [open_clip(p) for p in sorted(root.iterdir())
             if p.is_dir() and not p.name.startswith(".") and (p / "meta.json").is_file()]
    if not clips:
        raise ClipError(f"no clip folders in {root}; make some with crn-synth --out {root}")
    return clips
