"""Video files: header, frames by index, crops around boxes, objects files checked against the
frame, and the audio track through ffmpeg; every failure a one-line UserError."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from crn_live.data import video
from crn_live.data.audio_io import write_wav
from crn_live.data.video import (crop_box, open_video, read_frames, read_objects,
                                 spaced_frames, video_audio, video_info)
from crn_live.errors import UserError

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")


def _write_video(path: Path, frames: int = 10, fps: float = 20.0) -> Path:
    """``frames`` flat grey 64x48 frames, frame ``k`` at level ``20 k`` (MJPEG)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (64, 48))
    for k in range(frames):
        writer.write(np.full((48, 64, 3), 20 * k, np.uint8))
    writer.release()
    return path


def test_spaced_frames_are_mid_interval_and_never_empty() -> None:
    assert spaced_frames(100, 25.0).tolist() == list(range(6, 100, 12))  # 2 a second
    assert spaced_frames(10, 25.0, per_second=25.0).tolist() == list(range(10))
    assert spaced_frames(0, 25.0).tolist() == [0]
    assert spaced_frames(3, 25.0).tolist() == [0]  # shorter than one interval: frame 0


def test_crop_box_is_a_square_rgb_crop_with_a_margin() -> None:
    image = np.zeros((100, 200, 3), np.uint8)
    image[40:60, 90:110] = (255, 0, 0)  # a blue (BGR) square
    crop = crop_box(image, np.array([90, 40, 110, 60]), 32, margin=0.0)
    assert crop.shape == (32, 32, 3) and crop.dtype == np.uint8
    assert (crop[..., 2] > 200).mean() > 0.9 and crop[..., 0].max() < 30  # RGB: blue last
    wide = crop_box(image, np.array([90, 40, 110, 60]), 32, margin=0.5)
    assert 0.2 < (wide[..., 2] > 200).mean() < 0.35  # the square is half the side: a quarter


def test_crop_box_past_the_edge_repeats_the_border() -> None:
    image = np.zeros((50, 50, 3), np.uint8)
    image[:, :5] = 255  # a white left edge
    crop = crop_box(image, np.array([-20, 10, 10, 40]), 30, margin=0.0)
    assert crop.shape == (30, 30, 3)
    assert crop[:, :15].min() == 255  # left of the frame: the white edge, repeated
    assert crop[:, -5:].max() == 0


def test_header_and_frames_by_index(tmp_path: Path) -> None:
    path = _write_video(tmp_path / "ramp.avi")
    info = video_info(path)
    assert (info.fps, info.n_frames, info.width, info.height) == (20.0, 10, 64, 48)
    capture, same = open_video(path)
    capture.release()
    assert same == info
    frames = read_frames(path, [1, 4, 9])
    assert sorted(frames) == [1, 4, 9]
    for index, image in frames.items():
        assert image.shape == (48, 64, 3) and abs(float(image.mean()) - 20 * index) < 4
    assert read_frames(path, []) == {}


def test_unreadable_video_and_missing_frames_are_user_errors(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00" * 100)
    with pytest.raises(UserError, match="cannot open video .*garbage.mp4"):
        video_info(garbage)
    path = _write_video(tmp_path / "short.avi", frames=5)
    with pytest.raises(UserError, match="has only 5 frames; frame 7 was asked for"):
        read_frames(path, [2, 7, 8])


def _objects(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "objects.json"
    path.write_text(json.dumps(data))
    return path


def test_objects_file_in_both_forms(tmp_path: Path) -> None:
    items = [{"class": "violin", "box": [0, 0, 10, 20]},
             {"class": " FLUTE ", "box": [5, 5, 64, 48]}]
    expected = [("Violin", [0.0, 0.0, 10.0, 20.0]), ("Flute", [5.0, 5.0, 64.0, 48.0])]
    assert read_objects(_objects(tmp_path, items), 64, 48) == expected
    assert read_objects(_objects(tmp_path, {"objects": items}), 64, 48) == expected


@pytest.mark.parametrize("data, message", [
    ([], "with at least one object"),
    ({"things": []}, "with at least one object"),
    ([{"box": [0, 0, 1, 1]}], "object 0 needs \"class\" and \"box\""),
    ([{"class": "Violin"}], "object 0 needs \"class\" and \"box\""),
    ([{"class": "Kazoo", "box": [0, 0, 1, 1]}], "object 0: unknown instrument 'Kazoo'"),
    ([{"class": "Violin", "box": [0, 0, "a", 1]}], "object 0:"),
    ([{"class": "Violin", "box": [0, 0, 10]}], "is not [x0, y0, x1, y1] inside the 64x48"),
    ([{"class": "Violin", "box": [10, 0, 5, 10]}], "is not [x0, y0, x1, y1] inside the 64x48"),
    ([{"class": "Violin", "box": [0, 0, 65, 10]}], "is not [x0, y0, x1, y1] inside the 64x48"),
])
def test_bad_objects_are_one_line_user_errors(tmp_path: Path, data: object, message: str) -> None:
    with pytest.raises(UserError) as info:
        read_objects(_objects(tmp_path, data), 64, 48)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_missing_or_broken_objects_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="objects file .*absent.json not found"):
        read_objects(tmp_path / "absent.json", 64, 48)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(UserError, match="cannot read objects file"):
        read_objects(broken, 64, 48)


def test_audio_track_needs_ffmpeg(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(video.shutil, "which", lambda _name: None)
    with pytest.raises(UserError, match="needs ffmpeg .*--audio FILE"):
        video_audio(tmp_path / "any.mp4")


@needs_ffmpeg
def test_audio_track_is_read_as_mono(tmp_path: Path) -> None:
    path = _write_video(tmp_path / "silent.avi")
    with pytest.raises(UserError, match="has no readable audio track"):
        video_audio(path)
    t = np.arange(22050) / 22050
    stereo = np.stack([0.5 * np.sin(2 * np.pi * 440 * t), 0.5 * np.sin(2 * np.pi * 440 * t)], 1)
    write_wav(tmp_path / "tone.wav", stereo.astype(np.float32), 22050)
    muxed = tmp_path / "with_audio.mkv"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-i",
                    str(tmp_path / "tone.wav"), "-c:v", "copy", "-c:a", "flac", str(muxed)],
                   check=True)
    samples, rate = video_audio(muxed)
    assert rate == 22050 and samples.ndim == 1 and samples.dtype == np.float32
    assert abs(len(samples) - 22050) < 100
    tone = stereo[:len(samples), 0]
    samples = samples[:len(tone)]
    # the tone, up to the gain of ffmpeg's stereo downmix (which is not read_mono's average)
    correlation = np.dot(samples, tone) / np.sqrt(np.dot(samples, samples) * np.dot(tone, tone))
    assert correlation > 0.9999
