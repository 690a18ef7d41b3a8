"""crn-synth end to end: real FluidSynth renders, real mp4 files, real music21 scores."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from crn_live.cli.synth import main as synth_main
from crn_live.data import synth
from crn_live.instruments import BY_NAME
from tests.helpers import run_console, video_frames, write_musicxml

SECONDS = 3.0


def _run(out: Path, *extra: str) -> None:
    assert synth_main(["--out", str(out), "--seconds", str(SECONDS), *extra]) == 0


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    _run(out, "--clips", "3", "--sources", "2", "--seed", "7", "--workers", "2")
    return out


def _clips(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if (p / "meta.json").is_file())


def test_clip_folder_layout(corpus):
    clips = _clips(corpus)
    assert [c.name for c in clips] == ["train-00000", "train-00001", "train-00002"]
    for clip in clips:
        meta = json.loads((clip / "meta.json").read_text())
        assert (clip / "mix.wav").is_file() and (clip / "video.mp4").is_file()
        assert len(meta["slots"]) == 2
        for slot in meta["slots"]:
            assert (clip / slot["stem"]).is_file()
            assert slot["class"] in BY_NAME and len(slot["boxes"]) == meta["n_frames"]
    assert not list(corpus.glob(".partial-*"))


def test_stems_sum_to_the_mixture(corpus):
    for clip in _clips(corpus):
        mix, rate = soundfile.read(clip / "mix.wav", dtype="float32")
        stems = [soundfile.read(p, dtype="float32")[0]
                 for p in sorted((clip / "stems").glob("*.wav"))]
        assert rate == 44100 and mix.shape == (int(SECONDS * 44100),)
        noise, _ = soundfile.read(clip / "noise.wav", dtype="float32")
        total = np.sum(stems, axis=0, dtype=np.float32) + noise  # as written: exactly the mix
        assert np.array_equal(total, mix)
        assert 0.05 < np.max(np.abs(mix)) <= 0.9
        meta = json.loads((clip / "meta.json").read_text())
        level = 10 * np.log10(np.mean(noise**2) / np.mean(mix**2))
        assert meta["mix"]["noise_file"] == "noise.wav" and -75 < level < -45


def test_video_length_matches_audio_length(corpus):
    for clip in _clips(corpus):
        meta = json.loads((clip / "meta.json").read_text())
        images = video_frames(clip / "video.mp4")
        assert all(image.shape == (meta["height"], meta["width"], 3) for image in images)
        frames = len(images)
        assert frames == meta["n_frames"] == round(SECONDS * meta["fps"])
        audio_seconds = soundfile.info(str(clip / "mix.wav")).frames / meta["sample_rate"]
        assert abs(frames / meta["fps"] - audio_seconds) < 1.0 / meta["fps"]


def test_boxes_lie_inside_the_frame(corpus):
    for clip in _clips(corpus):
        meta = json.loads((clip / "meta.json").read_text())
        for slot in meta["slots"]:
            boxes = np.array(slot["boxes"])
            assert np.all(boxes[:, 0] >= 0) and np.all(boxes[:, 1] >= 0)
            assert np.all(boxes[:, 2] <= meta["width"]) and np.all(boxes[:, 3] <= meta["height"])
            assert np.all(boxes[:, 2] > boxes[:, 0] + 4) and np.all(boxes[:, 3] > boxes[:, 1] + 4)


@pytest.mark.slow
def test_same_seed_same_bytes_whatever_the_workers(corpus, tmp_path):
    _run(tmp_path, "--clips", "2", "--sources", "2", "--seed", "7", "--workers", "1")
    for name in ("train-00000", "train-00001"):
        for rel in ("mix.wav", "video.mp4", "meta.json"):
            assert (tmp_path / name / rel).read_bytes() == (corpus / name / rel).read_bytes(), rel


def test_different_seed_differs(corpus, tmp_path):
    _run(tmp_path, "--clips", "1", "--seed", "8")
    assert (tmp_path / "train-00000" / "mix.wav").read_bytes() != \
        (corpus / "train-00000" / "mix.wav").read_bytes()


def test_every_stem_sounds_where_its_part_has_notes(tmp_path):
    _run(tmp_path, "--clips", "2", "--sources", "3", "--seed", "3", "--no-reverb",
         "--music", "procedural")
    for clip in _clips(tmp_path):
        meta = json.loads((clip / "meta.json").read_text())
        for slot in meta["slots"]:
            stem, rate = soundfile.read(clip / slot["stem"], dtype="float32")
            ref = np.sqrt(np.mean(stem**2))
            assert ref > 1e-3, f"{slot['class']} stem is silent"
            quiet = 0
            for start, end, _pitch, _vel in slot["notes"]:
                a = int(start * rate)
                b = min(len(stem), a + int(min(0.15, end - start + 0.05) * rate))
                if b - a > rate // 100:
                    quiet += np.sqrt(np.mean(stem[a:b] ** 2)) < ref * 0.02
            assert quiet <= 0.05 * len(slot["notes"]) + 1, f"{slot['class']}: {quiet} silent notes"
            first = slot["notes"][0][0]
            if first > 0.3:  # before its first note the dry stem is silent
                assert np.max(np.abs(stem[: int((first - 0.05) * rate)])) < 1e-3


@pytest.mark.slow
def test_held_out_split_uses_only_held_out_composers(tmp_path):
    _run(tmp_path / "test", "--clips", "2", "--split", "test", "--music", "scores",
         "--classes", "Violin,Cello,Flute,Piano")
    _run(tmp_path / "train", "--clips", "2", "--split", "train", "--music", "scores",
         "--classes", "Violin,Cello,Flute,Piano")
    for split, allowed in (("test", False), ("train", True)):
        for clip in _clips(tmp_path / split):
            music = json.loads((clip / "meta.json").read_text())["music"]
            assert music["kind"] == "score"
            assert (music["composer"] in ("bach", "palestrina")) == allowed, music


def test_user_scores_folder(tmp_path):
    write_musicxml(tmp_path / "mine.musicxml", parts=2)
    _run(tmp_path / "out", "--clips", "1", "--scores", str(tmp_path), "--music", "scores",
         "--classes", "Oboe,Horn")
    meta = json.loads((tmp_path / "out" / "train-00000" / "meta.json").read_text())
    assert meta["music"]["source"] == "mine.musicxml"
    assert {s["class"] for s in meta["slots"]} == {"Oboe", "Horn"}


@pytest.mark.slow
def test_existing_clip_is_not_overwritten_and_resume_completes(corpus, tmp_path):
    result = run_console("crn_live.cli.synth", "--out", str(corpus), "--clips", "1", "--seed",
                         "7", "--seconds", str(SECONDS))
    assert result.returncode == 2 and "already exists" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    _run(tmp_path, "--clips", "1", "--seed", "7")
    _run(tmp_path, "--clips", "2", "--seed", "7", "--resume")
    assert (tmp_path / "train-00001" / "mix.wav").read_bytes() == \
        (corpus / "train-00001" / "mix.wav").read_bytes()


def test_interrupted_clip_leaves_no_partial_folder(tmp_path, monkeypatch):
    from crn_live.config import SynthConfig
    from crn_live.data.soundfonts import resolve

    request = synth.CorpusRequest(out=tmp_path, clips=1, split="train", seed=0,
                                  config=SynthConfig(seconds=1.0, music="procedural"),
                                  soundfonts=resolve(None))

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(synth, "mix_stems", interrupted)
    with pytest.raises(KeyboardInterrupt):
        synth.generate(request)
    assert list(tmp_path.iterdir()) == []


def test_light_soundfont_from_the_pretty_midi_wheel(tmp_path):
    _run(tmp_path, "--clips", "1", "--soundfont", "timgm6mb", "--music", "procedural")
    meta = json.loads((tmp_path / "train-00000" / "meta.json").read_text())
    assert meta["soundfonts"] == [{"key": "timgm6mb", "name": "TimGM6mb.sf2"}]
    for slot in meta["slots"]:
        assert slot["soundfont"]["name"] == "TimGM6mb.sf2"
        stem, _rate = soundfile.read(tmp_path / "train-00000" / slot["stem"], dtype="float32")
        assert np.sqrt(np.mean(stem**2)) > 1e-3


@pytest.mark.slow
def test_parallel_run_after_rendering_in_process_does_not_hang(tmp_path):
    # A process that already used FluidSynth must still start workers that can load it.
    script = (
        "import sys; from crn_live.cli.synth import main as synth_main\n"
        "out = sys.argv[1]\n"
        "assert synth_main(['--out', out + '/a', '--clips', '1', '--seconds', '1']) == 0\n"
        "assert synth_main(['--out', out + '/b', '--clips', '2', '--seconds', '1',"
        " '--workers', '2']) == 0\n")
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True,
                            text=True, timeout=90)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "b" / "train-00001" / "meta.json").is_file()
