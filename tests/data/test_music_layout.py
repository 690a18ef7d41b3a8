"""The MUSIC-layout loader on a tiny folder made here in that layout (mp3 audio, jpg frames,
Co-Separation detection files), feeding the same mix-and-separate sampler as crn-synth clips."""

import numpy as np
import pytest

from crn_live.data.clips import ClipError
from crn_live.data.mixtures import MixtureSampler, MixtureSpec
from crn_live.data.music_layout import MUSIC_SYNONYMS, read_music_index
from crn_live.instruments import CLASSES
from tests.helpers import write_music_video


@pytest.fixture()
def music_root(tmp_path):
    lines = [write_music_video(tmp_path, "violin", "aaa", freq=440.0),
             write_music_video(tmp_path, "acoustic_guitar", "bbb", freq=196.0, detections=False),
             write_music_video(tmp_path, "kazoo", "ccc", freq=600.0)]
    (tmp_path / "train.csv").write_text("\n".join(lines) + "\n")
    return tmp_path


def test_index_maps_classes_and_skips_unknown(music_root):
    videos, skipped = read_music_index(music_root, "train")
    assert [v.slots[0].class_name for v in videos] == ["Violin", "Guitar"]
    assert skipped == {"kazoo": 1}
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


MUSIC21 = ("accordion", "acoustic_guitar", "bagpipe", "banjo", "bassoon", "cello", "clarinet",
           "congas", "drum", "electric_bass", "erhu", "flute", "guzheng", "piano", "pipa",
           "saxophone", "trumpet", "tuba", "ukulele", "violin", "xylophone")


def test_every_music21_category_has_a_class():
    assert len(MUSIC21) == 21
    for category in MUSIC21:
        assert MUSIC_SYNONYMS[category] in CLASSES, category
    assert len({MUSIC_SYNONYMS[c] for c in MUSIC21}) == 21  # no two categories merged
    for urmp in ("horn", "trombone", "viola", "double_bass", "oboe"):
        assert MUSIC_SYNONYMS[urmp] in CLASSES
