"""The scene renderer: players moving in the frame, their boxes, masks and visibility, and the
video it writes. (The instrument sprites: tests/data/test_drawing.py.)"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from crn_live.config import SynthConfig
from crn_live.data.drawing import CLASSES
from crn_live.data.scene import _STYLES, SceneRenderer, SlotVisual
from tests.helpers import video_frames

SHORT = SynthConfig(seconds=2.0)


def _slots(names: list[str], seed: int, seconds: float) -> list[SlotVisual]:
    """Random onsets for each named class."""
    rng = np.random.default_rng(seed)
    return [SlotVisual(name, np.sort(rng.uniform(0.0, seconds, 12)), rng.integers(30, 127, 12))
            for name in names]


def test_unknown_class_raises() -> None:
    with pytest.raises(ValueError):
        SceneRenderer([SlotVisual("Kazoo", np.zeros(0), np.zeros(0))], SHORT, 0)


@pytest.mark.parametrize("seed", [0, 5, 11])
def test_boxes_are_inside_tight_and_cover_the_masks(seed: int) -> None:
    renderer = SceneRenderer(_slots(["Cello", "Flute", "Trumpet"], seed, 2.0), SHORT, seed)
    for index in (0, 7, 23, 49):
        image, masks = renderer.frame(index, return_masks=True)
        boxes = renderer.boxes(index)
        assert image.shape == (SHORT.height, SHORT.width, 3) and image.dtype == np.uint8
        assert boxes.shape == (3, 4) and boxes.dtype == np.float32
        for box, mask in zip(boxes.astype(int), masks):
            x0, y0, x1, y1 = box
            assert 0 <= x0 < x1 <= SHORT.width and 0 <= y0 < y1 <= SHORT.height
            assert mask.sum() > 0
            inside = np.zeros_like(mask)
            inside[y0:y1, x0:x1] = True
            assert not (mask & ~inside).any()
            assert mask[y0:y1, x0].any() and mask[y0:y1, x1 - 1].any()
            assert mask[y0, x0:x1].any() and mask[y1 - 1, x0:x1].any()
        visible = renderer.visible_fraction(index)
        assert visible.shape == (3,) and ((visible >= 0) & (visible <= 1)).all()


def test_instruments_stay_inside_the_frame() -> None:
    for seed in range(8):
        names = [CLASSES[(seed * 4 + k) % len(CLASSES)] for k in range(1 + seed % 3)]
        renderer = SceneRenderer(_slots(names, seed, 2.0), SHORT, seed)
        for index in range(0, SHORT.n_frames, 5):
            for mask in renderer.frame(index, return_masks=True)[1]:
                assert mask.any()
                assert not (mask[0].any() or mask[-1].any() or mask[:, 0].any()
                            or mask[:, -1].any())


def test_same_seed_same_frames_different_seed_different() -> None:
    slots = _slots(["Violin", "Piano"], 2, 2.0)
    a, b = SceneRenderer(slots, SHORT, 42), SceneRenderer(slots, SHORT, 42)
    c = SceneRenderer(slots, SHORT, 43)
    for index in (0, 31):
        assert np.array_equal(a.frame(index), b.frame(index))
        assert np.array_equal(a.boxes(index), b.boxes(index))
        assert not np.array_equal(a.frame(index), c.frame(index))


def test_video_is_byte_identical_and_reads_back(tmp_path: Path) -> None:
    slots = _slots(["Harp", "Saxophone"], 4, 2.0)
    meta = SceneRenderer(slots, SHORT, 9).write_video(tmp_path / "a.mp4")
    again = SceneRenderer(slots, SHORT, 9).write_video(tmp_path / "b.mp4")
    SceneRenderer(slots, SHORT, 10).write_video(tmp_path / "c.mp4")
    data = (tmp_path / "a.mp4").read_bytes()
    assert data == (tmp_path / "b.mp4").read_bytes() and meta == again
    assert data != (tmp_path / "c.mp4").read_bytes()
    assert len(meta["boxes"]) == SHORT.n_frames and len(meta["visible"]) == SHORT.n_frames
    assert all(len(frame) == 2 and len(frame[0]) == 4 for frame in meta["boxes"])
    frames = video_frames(tmp_path / "a.mp4")
    assert len(frames) == SHORT.n_frames
    assert all(image.shape == (SHORT.height, SHORT.width, 3) for image in frames)


def test_write_video_into_a_directory(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    config = SynthConfig(seconds=0.4)
    SceneRenderer(_slots(["Drum"], 0, 0.4), config, 1).write_video(
        tmp_path, progress=lambda done, total: calls.append((done, total)))
    assert (tmp_path / "video.mp4").stat().st_size > 0
    assert calls[-1] == (config.n_frames, config.n_frames)


@pytest.mark.parametrize("class_name", ["Piano", "Flute", "Violin", "Harmonica"])
def test_onsets_cause_motion(class_name: str) -> None:
    config = SynthConfig(seconds=4.0)
    slot = SlotVisual(class_name, np.array([1.0, 3.0]), np.array([110, 110]))
    for seed in range(3):
        renderer = SceneRenderer([slot], config, seed)
        boxes = np.array([renderer.boxes(i)[0] for i in range(config.n_frames)])
        centre = (boxes[:, :2] + boxes[:, 2:]) / 2

        def spread(start: int, stop: int) -> float:
            return float(np.abs(centre[start:stop] - centre[start - 1]).max())

        after_onset = spread(25, 30)  # 1.0 s .. 1.2 s
        quiet = spread(45, 70)  # 1.8 s .. 2.8 s, no onsets
        assert after_onset > quiet + 1.0, (seed, after_onset, quiet)


NEW_CLASSES = ("Clarinet", "Bassoon", "Viola", "Double bass", "Tuba", "Xylophone",
               "Electric bass", "Ukulele", "Bagpipes", "Congas", "Erhu", "Guzheng", "Pipa")


def test_every_class_has_a_style() -> None:
    assert set(_STYLES) == set(CLASSES)


def test_look_alikes_are_sized_apart() -> None:
    assert _STYLES["Viola"].extent[0] > _STYLES["Violin"].extent[0]
    assert _STYLES["Double bass"].extent[0] > _STYLES["Cello"].extent[1]
    assert _STYLES["Ukulele"].extent[1] < _STYLES["Guitar"].extent[0]


@pytest.mark.parametrize("class_name", NEW_CLASSES)
def test_scene_with_each_new_class_renders(class_name: str) -> None:
    config = SynthConfig(seconds=0.4)
    names = [class_name, "Violin"]
    renderer = SceneRenderer(_slots(names, 3, 0.4), config, 7)
    image, masks = renderer.frame(4, return_masks=True)
    boxes = renderer.boxes(4)
    assert image.shape == (config.height, config.width, 3) and boxes.shape == (2, 4)
    x0, y0, x1, y1 = boxes[0].astype(int)
    assert 0 <= x0 < x1 <= config.width and 0 <= y0 < y1 <= config.height
    assert masks[0].sum() > 100
    assert not (masks[0][0].any() or masks[0][-1].any() or masks[0][:, 0].any()
                or masks[0][:, -1].any())
