"""The MUSIC-layout loader on a tiny folder made here in that layout (mp3 audio, jpg frames,
Co-Separation detection files), feeding the same mix-and-separate sampler as crn-synth clips."""

import cv2
import numpy as np
import pytest
import soundfile

from crn_live.data.clips import ClipError
from crn_live.data.mixtures import MixtureSampler, MixtureSpec
from crn_live.data.music_layout import read_music_index


def _video(root, category, vid, seconds=3.0, frames=24, freq=440.0, detections=True):
    audio = root / "audio" / category / f"{vid}.mp3"
    audio.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * 11025)) / 11025
    soundfile.write(audio, (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), 11025)
    frame_dir = root / "frames" / category / f"{vid}.mp4"
    frame_dir.mkdir(parents=True)
    for k in range(frames):
        image = np.full((120, 160, 3), 40, np.uint8)
        cv2.rectangle(image, (60, 30), (100, 90), (0, 200, 255), -1)
        cv2.imwrite(str(frame_dir / f"{k + 1:06d}.jpg"), image)
    if detections:
        (root / "detection_results").mkdir(exist_ok=True)
        rows = [[k, 1, 0.9, 60, 30, 100, 90] for k in range(0, frames, 2)]
        rows.append([0, 1, 0.2, 0, 0, 10, 10])  # a weaker detection loses
        np.save(root / "detection_results" / f"{vid}.mp4.npy", np.array(rows, np.float32))
    return f"audio/{category}/{vid}.mp3,frames/{category}/{vid}.mp4,{frames}"


@pytest.fixture()
def music_root(tmp_path):
    lines = [_video(tmp_path, "violin", "aaa", freq=440.0),
             _video(tmp_path, "acoustic_guitar", "bbb", freq=196.0, detections=False),
             _video(tmp_path, "erhu", "ccc", freq=600.0)]
    (tmp_path / "train.csv").write_text("\n".join(lines) + "\n")
    return tmp_path


def test_index_maps_classes_and_skips_unknown(music_root):
    videos, skipped = read_music_index(music_root, "train")
    assert [v.slots[0].class_name for v in videos] == ["Violin", "Guitar"]
    assert skipped == {"erhu": 1}
    violin, guitar = videos
    assert violin.mix(11025).shape == (33075,)
    # detections: best box per frame, carried over frames without one
    assert np.array_equal(violin.slots[0].boxes[1], [60, 30, 100, 90])
    assert np.array_equal(guitar.slots[0].boxes[0], [0, 0, 160, 120])  # whole frame
    crop = violin.crops(np.array([3]), 32, margin=0.0)[0, 0]
    centre = crop[12:20, 12:20].reshape(-1, 3).mean(axis=0)  # the orange box, in RGB
    assert crop.shape == (32, 32, 3) and centre[0] > 200 and centre[2] < 20


def test_music_videos_feed_mix_and_separate(music_root):
    videos, _ = read_music_index(music_root, "train")
    spec = MixtureSpec(sample_rate=11025, window_samples=256 * 32, crop_size=32, sources=(2,),
                       ensemble_probability=0.0)
    ex = MixtureSampler(videos, spec).example(np.random.default_rng(0))
    assert ex.stems.shape == (2, 256 * 32) and sorted(ex.class_ids.tolist()) == [3, 11]
    assert np.allclose(ex.stems.sum(axis=0), ex.mix)


def test_missing_index_is_one_clear_error(tmp_path):
    with pytest.raises(ClipError, match="train.csv"):
        read_music_index(tmp_path, "train")
