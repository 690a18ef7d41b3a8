"""Video frames of clip folders with their ground-truth objects, for the detector.

Frames are taken evenly spread over each clip (a seeded offset per frame), with the boxes of
``meta.json``; objects less than :data:`MIN_VISIBLE` visible (hidden behind another player) are
flagged *ignored*: the detector gets no target for them and the mAP neither rewards nor
penalises finding them (COCO's "crowd" rule).
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Sequence

import numpy as np

from crn_live.data.clips import Clip
from crn_live.data.video import read_frames
from crn_live.errors import UserError
from crn_live.vision.average_precision import GroundTruth
from crn_live.vision.decode import letterbox

#: Objects with less of their area visible than this are ignored (no target, no penalty).
MIN_VISIBLE = 0.2


@dataclasses.dataclass(frozen=True)
class FrameSet:
    """Frames ``(N, H, W, 3)`` BGR uint8 and their objects (one :class:`GroundTruth` each)."""

    images: np.ndarray
    truths: tuple[GroundTruth, ...]


def clip_truth(clip: Clip, frame: int, classes: Sequence[str]) -> GroundTruth:
    """Ground truth of one video frame of a clip: slot boxes, class indices, ignore flags."""
    boxes, labels, ignore = [], [], []
    for slot, spec in zip(clip.slots, clip.meta["slots"]):
        if slot.class_name not in classes:
            raise UserError(f"{clip.folder}: class {slot.class_name} is not one the detector "
                            f"knows ({', '.join(classes)})")
        visible = spec.get("visible")
        boxes.append(slot.boxes[frame])
        labels.append(classes.index(slot.class_name))
        ignore.append(visible is not None and float(visible[frame]) < MIN_VISIBLE)
    return GroundTruth(np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(labels, np.int64),
                       np.asarray(ignore, bool))


def load_frames(clips: Sequence[Clip], per_clip: int, classes: Sequence[str], seed: int,
                progress: Callable[[int, int], None] | None = None) -> FrameSet:
    """``per_clip`` frames of each clip, evenly spaced with a seeded offset, and their objects."""
    rng = np.random.default_rng(seed)
    images, truths = [], []
    for done, clip in enumerate(clips):
        n_frames = int(clip.meta["n_frames"])
        count = min(per_clip, n_frames)
        step = n_frames / count
        indices = sorted({min(n_frames - 1, int(step * (i + rng.random()))) for i in range(count)})
        frames = read_frames(clip.folder / "video.mp4", indices)
        for index in indices:
            images.append(frames[index])
            truths.append(clip_truth(clip, index, classes))
        if progress is not None:
            progress(done + 1, len(clips))
    if not images:
        raise UserError("no frames to train the detector on")
    shapes = {im.shape for im in images}
    if len(shapes) > 1:  # clips of several sizes: letterbox all to the first one's size
        h, w = images[0].shape[:2]
        fitted = []
        for k, image in enumerate(images):
            rgb, box = letterbox(image, w, h)
            fitted.append(np.ascontiguousarray(
                (rgb.transpose(1, 2, 0)[:, :, ::-1] * 255).round().astype(np.uint8)))
            t = truths[k]
            truths[k] = GroundTruth(t.boxes * box.scale + np.array([box.pad_x, box.pad_y] * 2,
                                                                   np.float32), t.labels, t.ignore)
        images = fitted
    return FrameSet(np.stack(images), tuple(truths))
