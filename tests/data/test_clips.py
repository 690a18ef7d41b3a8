"""Reading clip folders back: audio at the model rate, crops from the video's boxes."""

import json

import numpy as np
import pytest

from crn_live.cli.synth import main as synth_main
from crn_live.data.clips import ClipError, find_clips, load_audio, open_clip
from crn_live.data.video import crop_box


@pytest.fixture(scope="module")
def clip_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("clips")
    assert synth_main(["--out", str(out), "--clips", "2", "--seconds", "2", "--seed", "5",
                       "--music", "procedural"]) == 0
    return out


def test_clip_audio_at_model_rate_sums(clip_folder):
    clips = find_clips(clip_folder)
    assert [c.name for c in clips] == ["train-00000", "train-00001"]
    clip = clips[0]
    mix, stems = clip.mix(11025), clip.stems(11025)
    assert mix.shape == (22050,) and stems.shape == (2, 22050)
    # resampling is linear, so the resampled stems and noise still sum to the resampled mix
    noise = load_audio(clip.folder / "noise.wav", 11025)
    assert np.max(np.abs(stems.sum(axis=0) + noise - mix)) < 1e-4
    assert np.max(np.abs(stems.sum(axis=0) - mix)) > 1e-7  # the noise is there


def test_crops_show_the_instrument(clip_folder):
    clip = open_clip(clip_folder / "train-00000")
    crops = clip.crops(np.array([0, 10, 49]), size=64)
    assert crops.shape == (3, 2, 64, 64, 3) and crops.dtype == np.uint8
    assert crops.std() > 10  # not a blank patch
    assert not np.array_equal(crops[:, 0], crops[:, 1])


def test_crop_near_the_border_is_padded_not_shifted():
    image = np.zeros((100, 100, 3), np.uint8)
    image[:20, :20] = 255
    patch = crop_box(image, np.array([0, 0, 20, 20]), 40, margin=0.5)  # reaches x, y < 0
    assert patch.shape == (40, 40, 3)
    # crop spans x, y in [-10, 30): the white corner stays at [0, 20) -> patch [10, 30)
    assert patch[:30, :30].min() == 255 and patch[31:, 31:].max() == 0


def test_not_a_clip_is_one_clear_error(tmp_path):
    with pytest.raises(ClipError, match="no clip folders"):
        find_clips(tmp_path)
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "meta.json").write_text(json.dumps({"slots": [{"slot": 1}]}))
    with pytest.raises(ClipError, match="not valid clip metadata"):
        open_clip(tmp_path / "x")
