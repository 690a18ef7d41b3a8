"""Real data in the MUSIC layout of Sound-of-Pixels and Co-Separation.

```
<root>/train.csv, val.csv     lines: AUDIO_PATH,FRAMES_DIR,NUM_FRAMES
AUDIO_PATH                    e.g. audio/acoustic_guitar/M3dekVSwNjY.mp3 (11025 Hz, mono)
FRAMES_DIR                    e.g. frames/acoustic_guitar/M3dekVSwNjY.mp4/000001.jpg ... (8 fps)
<root>/detection_results/     optional: <video>.mp4.npy, rows
                              [frame_index, class, score, x0, y0, x1, y1] (Co-Separation)
```
Paths in the CSV are taken as written, or relative to ``<root>``. The instrument is the audio
file's parent folder name, mapped onto our classes by :data:`MUSIC_SYNONYMS`; videos of a class we
do not have are skipped and counted. Each video becomes a one-slot clip with the same interface as
:class:`crn_live.data.clips.Clip`, so mix-and-separate training uses it unchanged.
"""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import cv2
import numpy as np

from crn_live.data.clips import Clip, ClipError, SlotInfo, load_audio
from crn_live.data.video import crop_box
from crn_live.instruments import CLASSES, class_id

MUSIC_FPS = 8.0
# MUSIC-21 category -> our class: all 21 MUSIC-21 categories have one (``acoustic_guitar`` is
# Guitar, ``bagpipe`` Bagpipes, ``drum`` the kit, ``congas`` Congas), plus the URMP-style names
# of the orchestral classes. Folders of any other name are skipped and counted.
MUSIC_SYNONYMS = {
    "accordion": "Accordion", "acoustic_guitar": "Guitar", "bagpipe": "Bagpipes",
    "banjo": "Banjo", "bassoon": "Bassoon", "cello": "Cello", "clarinet": "Clarinet",
    "congas": "Congas", "drum": "Drum", "electric_bass": "Electric bass", "erhu": "Erhu",
    "flute": "Flute", "guzheng": "Guzheng", "piano": "Piano", "pipa": "Pipa",
    "saxophone": "Saxophone", "trumpet": "Trumpet", "tuba": "Tuba", "ukulele": "Ukulele",
    "violin": "Violin", "xylophone": "Xylophone",
    # URMP and other common folder names
    "horn": "Horn", "french_horn": "Horn", "trombone": "Trombone", "viola": "Viola",
    "double_bass": "Double bass", "contrabass": "Double bass", "oboe": "Oboe", "harp": "Harp",
    "harmonica": "Harmonica", "bagpipes": "Bagpipes",
}


@dataclasses.dataclass(frozen=True)
class MusicVideo(Clip):
    """One solo video of the MUSIC layout as a one-slot clip (``folder`` is its frames folder)."""

    audio: Path = Path()

    def mix(self, rate: int) -> np.ndarray:
        return load_audio(self.audio, rate)

    def stems(self, rate: int) -> np.ndarray:
        return self.mix(rate)[None]

    def crops(self, frame_indices: np.ndarray, size: int, margin: float = 0.1) -> np.ndarray:
        """``(frames, 1, size, size, 3)`` uint8 RGB crops (the detected box, else the frame)."""
        out = np.zeros((len(frame_indices), 1, size, size, 3), np.uint8)
        for row, index in enumerate(frame_indices):
            path = self.folder / f"{int(index) + 1:06d}.jpg"
            image = cv2.imread(str(path))
            if image is None:
                raise ClipError(f"cannot read frame {path}")
            out[row, 0] = crop_box(image, self.slots[0].boxes[int(index)], size, margin)
        return out


def _resolve(root: Path, text: str) -> Path:
    path = Path(text)
    return path if path.is_absolute() or path.exists() else root / path


def _boxes(root: Path, video: str, n_frames: int, size: tuple[int, int]) -> np.ndarray:
    """Per-frame boxes ``(n_frames, 4)``: the best detection of each frame, carried forward
    over frames without one; the whole frame when there is no detection file."""
    width, height = size
    boxes = np.tile(np.array([0, 0, width, height], np.float32), (n_frames, 1))
    det_path = root / "detection_results" / f"{video}.npy"
    if not det_path.is_file():
        return boxes
    try:
        dets = np.load(det_path).reshape(-1, 7)
    except (ValueError, OSError) as exc:
        raise ClipError(f"cannot read detections {det_path}: {exc}") from None
    best: dict[int, np.ndarray] = {}
    for row in dets[np.argsort(-dets[:, 2])]:
        best.setdefault(int(row[0]), row[3:7].astype(np.float32))
    last = None
    for k in range(n_frames):
        last = best.get(k, last)
        if last is not None:
            boxes[k] = last
    return boxes


def read_music_index(root: Path, split: str = "train") -> tuple[list[MusicVideo], dict[str, int]]:
    """The videos of ``<root>/<split>.csv`` with a class of ours, and skipped counts per category."""
    root = Path(root)
    index = root / f"{split}.csv"
    if not index.is_file():
        raise ClipError(f"{index} not found: a MUSIC-layout folder has train.csv / val.csv "
                        "with lines AUDIO_PATH,FRAMES_DIR,NUM_FRAMES")
    videos: list[MusicVideo] = []
    skipped: dict[str, int] = {}
    with index.open(newline="") as handle:
        for line_no, row in enumerate(csv.reader(handle), start=1):
            if not row:
                continue
            if len(row) < 3:
                raise ClipError(f"{index}:{line_no}: expected AUDIO_PATH,FRAMES_DIR,NUM_FRAMES")
            audio, frames = _resolve(root, row[0].strip()), _resolve(root, row[1].strip())
            category = audio.parent.name.lower()
            our_class = MUSIC_SYNONYMS.get(category)
            if our_class is None:
                skipped[category] = skipped.get(category, 0) + 1
                continue
            videos.append(_video(root, audio, frames, int(row[2]), our_class))
    return videos, skipped


def _video(root: Path, audio: Path, frames: Path, n_frames: int, class_name: str) -> MusicVideo:
    if not audio.is_file() or not frames.is_dir():
        raise ClipError(f"missing {audio if not audio.is_file() else frames} listed in the index")
    first = cv2.imread(str(frames / "000001.jpg"))
    if first is None:
        raise ClipError(f"cannot read {frames / '000001.jpg'}")
    size = (first.shape[1], first.shape[0])
    boxes = _boxes(root, frames.name, n_frames, size)
    slot = SlotInfo("0_" + class_name.lower(), class_name, class_id(class_name), audio, boxes)
    meta = {"n_frames": n_frames, "fps": MUSIC_FPS, "width": size[0], "height": size[1],
            "source": "MUSIC", "classes": list(CLASSES)}
    return MusicVideo(frames, meta, (slot,), audio)
