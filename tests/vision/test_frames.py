"""Detector frames of clip folders: evenly spread, seeded, each with its boxes and labels; classes
the detector does not know and empty selections refused in one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from crn_live.config import DetectorConfig
from crn_live.data.clips import find_clips
from crn_live.errors import UserError
from crn_live.vision.frames import clip_truth, load_frames


def test_frames_come_with_their_boxes(clip_sets: dict[int, Path]) -> None:
    clips = find_clips(clip_sets[3])
    frames = load_frames(clips, 4, DetectorConfig().classes, seed=0)
    assert frames.images.shape == (8, 240, 320, 3) and len(frames.truths) == 8
    truth = frames.truths[0]
    assert len(truth.boxes) == 3 and truth.labels.tolist() == [
        DetectorConfig().classes.index(s.class_name) for s in clips[0].slots]
    again = load_frames(clips, 4, DetectorConfig().classes, seed=0)
    assert np.array_equal(again.images, frames.images)


def test_progress_and_one_line_refusals(clip_sets: dict[int, Path]) -> None:
    clips = find_clips(clip_sets[3])
    calls: list[tuple[int, int]] = []
    load_frames(clips, 1, DetectorConfig().classes, seed=1,
                progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 2), (2, 2)]
    with pytest.raises(UserError, match="no frames"):
        load_frames([], 4, DetectorConfig().classes, seed=0)
    with pytest.raises(UserError, match="is not one the detector knows") as info:
        clip_truth(clips[0], 0, ("Kazoo",))
    assert "\n" not in str(info.value)


def test_truth_is_the_slot_boxes_of_that_frame(clip_sets: dict[int, Path]) -> None:
    clip = find_clips(clip_sets[2])[0]
    classes = DetectorConfig().classes
    truth = clip_truth(clip, 10, classes)
    assert truth.boxes.dtype == np.float32 and truth.boxes.shape == (len(clip.slots), 4)
    for k, slot in enumerate(clip.slots):
        np.testing.assert_array_equal(truth.boxes[k], slot.boxes[10])
        assert truth.labels[k] == classes.index(slot.class_name)
    assert truth.ignore.dtype == bool
