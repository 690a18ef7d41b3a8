"""Reading clip folders (the layout ``crn-synth`` writes) for training, evaluation and separation.

A :class:`Clip` gives the mixture and stems resampled to the model rate, and object crops cut
from the video with the clip's boxes. Nothing here writes into the data folder.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from crn_live.data.audio_io import read_mono
from crn_live.data.video import crop_box, read_frames
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


def load_audio(path: Path, rate: int) -> np.ndarray:
    """Mono float32 ``(samples,)`` audio from a file, resampled to ``rate``."""
    samples, file_rate = read_mono(path)
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
