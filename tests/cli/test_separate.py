"""crn-separate on real inputs: a clip folder, a video with an audio track (muxed by ffmpeg here)
and an objects file, or the instruments the bundled detector finds in it; full-band WAVs at the
input rate; one-line refusals. (``checkpoint``: the tiny separator of tests/conftest.py.)"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from crn_live.data.audio_io import read_audio
from crn_live.cli.separate import main as separate_main
from crn_live.errors import UserError
from crn_live.vision.detector import BUNDLED_DETECTOR

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")


def _first(folder: Path) -> Path:
    return sorted(p for p in folder.iterdir() if p.is_dir())[0]


def test_clip_folder_gives_full_band_sources_that_add_up(clip_sets, checkpoint, tmp_path):
    clip = _first(clip_sets[3])
    out = tmp_path / "out"
    assert separate_main([str(clip), "--out", str(out), "--model", str(checkpoint)]) == 0
    report = json.loads((out / "objects.json").read_text())
    meta = json.loads((clip / "meta.json").read_text())
    assert [o["class"] for o in report["objects"]] == [s["class"] for s in meta["slots"]]
    mix, rate = read_audio(clip / "mix.wav")
    assert report["sample_rate"] == rate == 44100
    total = np.zeros_like(mix, dtype=np.float64)
    for entry in report["objects"] + [report["residual"]]:
        signal, signal_rate = read_audio(out / entry["wav"])
        assert signal_rate == rate and signal.shape == mix.shape
        total += signal
    assert np.max(np.abs(total - mix)) < 1e-5
    assert not list(out.glob(".*partial"))


def test_streaming_mode_and_separate_audio(clip_sets, checkpoint, tmp_path):
    clip = _first(clip_sets[2])
    mono = tmp_path / "other.wav"
    mix, rate = read_audio(clip / "mix.wav")
    import soundfile

    soundfile.write(mono, mix[: rate], rate, subtype="FLOAT")  # the first second only
    out = tmp_path / "out"
    assert separate_main([str(clip), "--out", str(out), "--model", str(checkpoint), "--mode",
                          "streaming", "--audio", str(mono)]) == 0
    report = json.loads((out / "objects.json").read_text())
    assert report["mode"] == "streaming" and report["seconds"] == 1.0  # the live engine
    assert report["objects"] and report["engine"]["degradations"] == 0
    assert read_audio(out / report["objects"][0]["wav"])[0].shape == (rate,)


def _video_with_audio(clip: Path, tmp_path: Path, audio: bool = True) -> Path:
    """The clip's video with its mixture muxed in as AAC (or without: ``audio=False``)."""
    video = tmp_path / ("with_audio.mp4" if audio else "silent.mp4")
    command = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(clip / "video.mp4")]
    if audio:
        command += ["-i", str(clip / "mix.wav"), "-c:a", "aac", "-shortest"]
    subprocess.run(command + ["-c:v", "copy", str(video)], check=True)
    return video


@needs_ffmpeg
def test_video_with_objects_file(clip_sets, checkpoint, tmp_path):
    clip = _first(clip_sets[2])
    meta = json.loads((clip / "meta.json").read_text())
    video = _video_with_audio(clip, tmp_path)
    objects = tmp_path / "objects.json"
    objects.write_text(json.dumps({"objects": [
        {"class": s["class"].lower(), "box": s["boxes"][0]} for s in meta["slots"]]}))
    out = tmp_path / "out"
    assert separate_main([str(video), "--objects", str(objects), "--out", str(out), "--model",
                          str(checkpoint)]) == 0
    report = json.loads((out / "objects.json").read_text())
    assert [o["class"] for o in report["objects"]] == [s["class"] for s in meta["slots"]]
    assert report["sample_rate"] == 44100
    assert abs(report["seconds"] - meta["n_samples"] / meta["sample_rate"]) < 0.1


def _refusal(argv: list[str]) -> str:
    with pytest.raises(UserError) as info:
        separate_main(argv)
    assert "\n" not in str(info.value)
    return str(info.value)


@pytest.mark.slow
@needs_ffmpeg
def test_one_line_refusals(clip_sets, checkpoint, tmp_path):
    clip = _first(clip_sets[2])
    model = ["--model", str(checkpoint), "--out", str(tmp_path / "out")]
    assert "not found" in _refusal([str(tmp_path / "missing.mp4")] + model)
    assert "no readable audio track" in _refusal([str(clip / "video.mp4")] + model)
    assert "not a clip folder" in _refusal([str(tmp_path)] + model)
    (tmp_path / "notes.txt").write_text("hello")
    assert "neither a clip folder nor a video" in _refusal([str(tmp_path / "notes.txt")] + model)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00" * 1000)
    assert "cannot open video" in _refusal([str(broken)] + model)
    objects = tmp_path / "objects.json"
    objects.write_text(json.dumps([{"class": "Kazoo", "box": [0, 0, 10, 10]}]))
    assert "unknown instrument 'Kazoo'" in _refusal(
        [str(clip / "video.mp4"), "--objects", str(objects)] + model)
    objects.write_text(json.dumps([{"class": "Violin", "box": [0, 0, 9999, 10]}]))
    assert "inside the 320x240 frame" in _refusal(
        [str(clip / "video.mp4"), "--objects", str(objects)] + model)
    objects.write_text(json.dumps([{"class": "Violin", "box": [0, 0, 50, 50]}]))
    silent = _video_with_audio(clip, tmp_path, audio=False)
    assert "no readable audio track" in _refusal(
        [str(silent), "--objects", str(objects)] + model)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"nope")
    assert "cannot read" in _refusal([str(clip), "--model", str(garbage), "--out",
                                      str(tmp_path / "o")])


@pytest.mark.slow
@needs_ffmpeg
def test_detects_the_instruments_of_a_plain_video(clip_sets, tmp_path) -> None:
    # a scene whose players are all mostly in view (half behind a music stand, the bundled
    # detector misses some: tests/vision/test_detector.py)
    clips = sorted(p for p in clip_sets[3].iterdir() if p.is_dir())
    in_view = [c for c in clips if min(min(s["visible"]) for s in json.loads(
        (c / "meta.json").read_text())["slots"]) >= 0.8]
    assert in_view, "no 3-player clip with every player in view"
    clip = in_view[0]
    meta = json.loads((clip / "meta.json").read_text())
    out = tmp_path / "out"
    assert separate_main([str(_video_with_audio(clip, tmp_path)), "--out", str(out)]) == 0
    report = json.loads((out / "objects.json").read_text())
    assert sorted(o["class"] for o in report["objects"]) == sorted(
        s["class"] for s in meta["slots"])
    assert all(o["source"] == "detected" and o["frames_seen"] >= 40 for o in report["objects"])
    assert len(list(out.glob("*.wav"))) == len(report["objects"]) + 1
    # a user's region beside the detected ones: kept for the whole video, marked manual
    objects = tmp_path / "objects.json"
    objects.write_text(json.dumps([{"class": "Harp", "box": [0, 0, 60, 60]}]))
    assert separate_main([str(_video_with_audio(clip, tmp_path)), "--objects", str(objects),
                          "--detect", "--out", str(tmp_path / "both")]) == 0
    sources = [o["source"] for o in json.loads((tmp_path / "both" / "objects.json")
                                               .read_text())["objects"]]
    assert sources.count("manual") == 1 and sources.count("detected") == len(meta["slots"])


@needs_ffmpeg
def test_no_instrument_found_is_one_clear_line(clip_sets, tmp_path) -> None:
    clip = _first(clip_sets[2])
    blank = tmp_path / "blank.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "color=c=gray:s=320x240:d=2:r=25", "-i", str(clip / "mix.wav"), "-c:a",
                    "aac", "-shortest", str(blank)], check=True)
    assert "no instrument found" in _refusal([str(blank), "--out", str(tmp_path / "out")])


@pytest.mark.slow
@needs_ffmpeg
def test_a_silent_video_with_audio_given_is_detected_and_separated(clip_sets, tmp_path) -> None:
    """A video without an audio track, the sound given as --audio, instruments detected: the
    video's (missing) track is never read (it used to stop with 'no readable audio track')."""
    clip = _first(clip_sets[2])
    silent = _video_with_audio(clip, tmp_path, audio=False)
    with pytest.raises(UserError, match="no readable audio track"):
        separate_main([str(silent), "--out", str(tmp_path / "none")])  # no sound at all
    out = tmp_path / "out"
    assert separate_main([str(silent), "--audio", str(clip / "mix.wav"), "--detector",
                          str(BUNDLED_DETECTOR), "--out", str(out)]) == 0
    report = json.loads((out / "objects.json").read_text())
    mix, rate = read_audio(clip / "mix.wav")
    assert report["objects"] and all(o["source"] == "detected" for o in report["objects"])
    assert report["sample_rate"] == rate and report["seconds"] == round(len(mix) / rate, 3)


# --- separate by name: an audio file and --instruments ------------------------------------------

def _tone_wav(path: Path, seconds: float = 1.0, rate: int = 22050) -> Path:
    """A short two-tone WAV written here (no corpus needed)."""
    import soundfile

    t = np.arange(int(seconds * rate)) / rate
    mix = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 110 * t)
    soundfile.write(path, mix.astype(np.float32), rate, subtype="FLOAT")
    return path


def test_an_audio_file_is_separated_by_name(checkpoint, tmp_path):
    wav = _tone_wav(tmp_path / "duet.wav")
    out = tmp_path / "out"
    assert separate_main([str(wav), "--instruments", "violin, CONTRABASS", "--out", str(out),
                          "--model", str(checkpoint)]) == 0
    report = json.loads((out / "objects.json").read_text())
    assert [o["class"] for o in report["objects"]] == ["Violin", "Double bass"]
    for entry in report["objects"]:
        assert entry["source"] == "named" and entry["picture_used"] is False
        assert entry["picture_left_out"] == "no picture"
    assert [o["wav"] for o in report["objects"]] == ["0_violin.wav", "1_double_bass.wav"]
    mix, rate = read_audio(wav)
    assert report["sample_rate"] == rate == 22050 and report["seconds"] == 1.0
    total = sum(read_audio(out / e["wav"])[0].astype(np.float64)
                for e in report["objects"] + [report["residual"]])
    assert np.max(np.abs(total - mix)) < 1e-5  # the sources and the residual add up


@pytest.mark.parametrize("args, message", [
    ([], "is an audio file: name the instruments with --instruments, e.g. --instruments "
         "violin,flute"),
    (["--instruments", "violn"], "--instruments: unknown instrument 'violn': did you mean "
                                 "Violin"),
    (["--instruments", "Kazoo"], "unknown instrument 'Kazoo'; known: Banjo, Cello"),
    (["--instruments", " , "], "--instruments takes class names separated by commas"),
])
def test_bad_names_and_a_nameless_audio_file_are_one_line(tmp_path, args, message):
    wav = _tone_wav(tmp_path / "a.wav", seconds=0.1)
    assert message in _refusal([str(wav), "--out", str(tmp_path / "out"), *args])
    assert not (tmp_path / "out").exists()


def test_an_unreadable_audio_file_is_one_line(checkpoint, tmp_path):
    model = ["--model", str(checkpoint), "--out", str(tmp_path / "out")]
    broken = tmp_path / "broken.flac"
    broken.write_bytes(b"not a flac file at all")
    assert f"cannot read audio {broken}" in _refusal([str(broken), "--instruments", "flute"]
                                                     + model)
    notes = tmp_path / "notes.txt"  # an unknown suffix, named: read as audio
    notes.write_text("hello")
    assert f"cannot read audio {notes}" in _refusal([str(notes), "--instruments", "flute"]
                                                    + model)
    assert "not found" in _refusal([str(tmp_path / "absent.wav"), "--instruments", "flute"]
                                   + model)
    wav = _tone_wav(tmp_path / "a.wav", seconds=0.1)
    objects = tmp_path / "objects.json"
    objects.write_text(json.dumps([{"class": "Violin", "box": [0, 0, 10, 10]}]))
    assert "--objects is for video files" in _refusal(
        [str(wav), "--instruments", "flute", "--objects", str(objects)] + model)


@pytest.mark.slow
def test_the_console_script_ends_in_one_line_and_status_2(tmp_path):
    from tests.helpers import run_console

    wav = _tone_wav(tmp_path / "a.wav", seconds=0.1)
    done = run_console("crn_live.cli.separate", str(wav), "--instruments", "violn,cello",
                       "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "crn-separate: error: --instruments: unknown instrument 'violn': did you mean Violin or "
        "Viola?"]


@pytest.mark.slow
def test_named_instruments_join_a_clip_folders_own(clip_sets, checkpoint, tmp_path):
    clip = _first(clip_sets[2])
    out = tmp_path / "out"
    assert separate_main([str(clip), "--instruments", "harp", "--out", str(out), "--model",
                          str(checkpoint)]) == 0
    report = json.loads((out / "objects.json").read_text())
    meta = json.loads((clip / "meta.json").read_text())
    assert [o["class"] for o in report["objects"]] == [s["class"] for s in meta["slots"]] \
        + ["Harp"]
    assert report["objects"][-1]["source"] == "named"
    assert all("source" not in o for o in report["objects"][:-1])


def test_help_documents_instruments(capsys):
    with pytest.raises(SystemExit):
        separate_main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--instruments NAMES" in text and "--instruments violin,viola,cello" in text


@pytest.mark.slow
def test_streaming_mode_separates_an_audio_file_by_name(checkpoint, tmp_path):
    from crn_live.models.checkpoint import save_checkpoint
    from tests.helpers import TINY_DETECTOR, tiny_detector

    detector = tmp_path / "det.pt"  # the bundled one may be retraining: the tiny one here
    save_checkpoint(detector, tiny_detector(), TINY_DETECTOR)
    wav = _tone_wav(tmp_path / "duet.wav", rate=44100)
    out = tmp_path / "out"
    assert separate_main([str(wav), "--instruments", "flute,cello", "--mode", "streaming",
                          "--backend", "torch", "--model", str(checkpoint), "--detector",
                          str(detector), "--out", str(out)]) == 0
    report = json.loads((out / "objects.json").read_text())
    assert report["mode"] == "streaming" and report["video"] is None
    assert sorted(o["class"] for o in report["objects"]) == ["Cello", "Flute"]
    assert all(o["source"] == "named" for o in report["objects"])
    assert report["seconds"] == 1.0
