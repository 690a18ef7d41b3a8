"""Video files and the pictures in them: header, frames, crops around boxes, the audio track,
and objects files (instrument classes and boxes given by hand).

Both the corpus readers (:mod:`crn_live.data.clips`) and the detector side
(:mod:`crn_live.vision`) import these downward.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import cv2
import numpy as np

from crn_live.data.audio_io import read_mono
from crn_live.errors import UserError
from crn_live.instruments import lookup


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
    """An opened capture of a video file and its :class:`VideoInfo`; UserError (one line) if
    it cannot be opened. The caller releases the capture."""
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise UserError(f"cannot open video {path}: unreadable or not a video file")
    info = VideoInfo(capture.get(cv2.CAP_PROP_FPS) or 25.0,
                     int(capture.get(cv2.CAP_PROP_FRAME_COUNT)),
                     int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
                     int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    return capture, info


def video_info(path: Path) -> VideoInfo:
    """:class:`VideoInfo` of a video file (UserError if it cannot be opened)."""
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
        raise UserError(f"video {path} has only {index} frames; frame {min(missing)} was asked for")
    return frames


def read_objects(path: Path, width: int, height: int) -> list[tuple[str, list[float]]]:
    """``[(class, [x0, y0, x1, y1]), ...]`` from an objects file, checked against the frame."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise UserError(f"objects file {path} not found") from None
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read objects file {path}: {exc}") from None
    items = data.get("objects") if isinstance(data, dict) else data
    if not isinstance(items, list) or not items:
        raise UserError(f"{path}: expected {{\"objects\": [{{\"class\": ..., \"box\": [x0, y0, "
                        f"x1, y1]}}, ...]}} with at least one object")
    found = []
    for k, item in enumerate(items):
        try:
            name = lookup(str(item["class"])).name
            box = [float(v) for v in item["box"]]
        except (KeyError, TypeError) as exc:
            raise UserError(f"{path}: object {k} needs \"class\" and \"box\" ({exc})") from None
        except ValueError as exc:
            raise UserError(f"{path}: object {k}: {exc}") from None
        x0, y0, x1, y1 = box if len(box) == 4 else (0, 0, -1, -1)
        if not (0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height):
            raise UserError(f"{path}: object {k} box {box} is not [x0, y0, x1, y1] inside the "
                            f"{width}x{height} frame")
        found.append((name, box))
    return found


def video_audio(video: Path) -> tuple[np.ndarray, int]:
    """The video's audio track through ffmpeg, mixed down to mono as :func:`read_mono` does
    (the channel average, the same level as the same audio given as a file), native rate."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise UserError(f"reading the audio track of {video} needs ffmpeg (apt-get install "
                        f"ffmpeg), or give the audio as --audio FILE")
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "audio.wav"
        done = subprocess.run([ffmpeg, "-nostdin", "-v", "error", "-i", str(video), "-vn",
                               "-c:a", "pcm_f32le", str(wav)],
                              capture_output=True, text=True)
        if done.returncode != 0 or not wav.is_file():
            raise UserError(f"{video} has no readable audio track; give the audio as "
                            f"--audio FILE")
        return read_mono(wav)
