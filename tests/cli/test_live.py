"""crn-live's options -> SessionOptions: what each flag becomes, and the one-line refusals of
values it cannot use (before any device or model is opened). (Live runs: tests/stream/.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from crn_live.cli.live import options_from, parser
from crn_live.errors import UserError
from crn_live.stream.protocol import NAMED_ID_BASE
from crn_live.stream.session import SessionOptions


def _options(*args: str) -> SessionOptions:
    return options_from(parser().parse_args(list(args)))


def test_defaults_are_the_first_camera_and_the_default_devices() -> None:
    options = _options()
    assert (options.camera, options.mic, options.output) == (0, "default", "default")
    assert (options.max_objects, options.detect_fps, options.device_latency) == (4, 5.0, 0.03)
    assert options.adaptive and not options.loop and options.objects == ()
    assert options.chunk_frames is None and options.engines == Path("engines")


def test_flags_become_session_options(tmp_path: Path) -> None:
    objects = tmp_path / "objects.json"
    objects.write_text(json.dumps([{"class": "violin", "box": [10, 20, 110, 220]}]))
    options = _options("--camera", "gig.mp4", "--mic", "3", "--output", "none", "--objects",
                       str(objects), "--solo", "Violin", "--mute", "residual", "--mute", "Drum",
                       "--fixed-quality", "--loop", "--chunk-frames", "1", "--device-latency",
                       "low", "--max-objects", "16", "--duration", "2.5")
    assert (options.camera, options.mic, options.output) == ("gig.mp4", 3, None)
    assert options.objects == (("Violin", (10.0, 20.0, 110.0, 220.0)),)
    assert options.solo == ("Violin",) and options.mute == ("residual", "Drum")
    assert not options.adaptive and options.loop and options.chunk_frames == 1
    assert options.device_latency == "low" and options.max_objects == 16
    assert options.duration == 2.5
    assert _options("--camera", "none").camera is None


def test_demo_plays_the_bundled_scene_in_a_loop() -> None:
    options = _options("--demo", "--output", "none")
    assert options.camera.endswith("video.mp4") and options.mic.endswith("mix.wav")
    assert Path(options.camera).is_file() and Path(options.mic).is_file()
    assert options.loop and options.output is None


@pytest.mark.parametrize("args, message", [
    (["--max-objects", "0"], "--max-objects must be in 1..16, got 0"),
    (["--max-objects", "17"], "--max-objects must be in 1..16, got 17"),
    (["--detect-fps", "0"], "--detect-fps and --duration must be positive"),
    (["--duration", "-1"], "--detect-fps and --duration must be positive"),
    (["--device-latency", "0"], "--device-latency must be low, high or seconds in (0, 1]"),
    (["--device-latency", "2"], "--device-latency must be low, high or seconds in (0, 1]"),
    (["--device-latency", "soon"], "got soon"),
])
def test_values_it_cannot_use_are_refused_in_one_line(args: list[str], message: str) -> None:
    with pytest.raises(UserError) as info:
        _options(*args)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_bad_objects_file_is_refused(tmp_path: Path) -> None:
    objects = tmp_path / "objects.json"
    objects.write_text(json.dumps([{"class": "Kazoo", "box": [0, 0, 10, 10]}]))
    with pytest.raises(UserError, match="unknown instrument 'Kazoo'"):
        _options("--objects", str(objects))
    with pytest.raises(UserError, match="not found"):
        _options("--objects", str(tmp_path / "absent.json"))


def test_choices_are_checked_by_the_parser(capsys) -> None:
    for args in (["--backend", "cuda"], ["--chunk-frames", "3"]):
        with pytest.raises(SystemExit) as info:
            parser().parse_args(args)
        assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.slow
def test_a_headless_run_logs_plain_status_lines(tmp_path: Path) -> None:
    """Off a terminal (a pipe, a log file) the status is a plain line now and then, never the
    carriage-return updates a terminal gets each second."""
    done = subprocess.run([sys.executable, "-m", "crn_live.cli", "live", "--demo", "--no-gui",
                           "--output", "none", "--duration", "12"], capture_output=True,
                          text=True, timeout=180, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "\r" not in done.stderr
    status = [line for line in done.stderr.splitlines() if " s  " in line and "RTF" in line]
    assert 1 <= len(status) <= 3, done.stderr  # one every 10 s of a 12 s run, not twelve
    assert all(" ms" in line.split("delay ")[1] for line in status)  # the playback delay
    assert "12.0 s processed" in done.stdout


# --- separate by name: --instruments ------------------------------------------------------------

def test_instruments_are_named_by_class_or_synonym() -> None:
    options = _options("--camera", "none", "--instruments", "violin, Contrabass,VIOLIN")
    assert options.instruments == ("Violin", "Double bass") and options.camera is None
    assert _options().instruments == ()
    assert _options("--demo", "--instruments", "flute").instruments == ("Flute",)


def test_solo_and_mute_take_any_spelling_of_a_class_or_the_residual() -> None:
    options = _options("--solo", "violin", "--solo", "contrabass", "--mute", "Residual")
    assert options.solo == ("Violin", "Double bass") and options.mute == ("residual",)
    with pytest.raises(UserError, match="--solo: unknown instrument 'violn': did you mean"):
        _options("--solo", "violn")


@pytest.mark.parametrize("args, message", [
    (["--instruments", "violn"],
     "--instruments: unknown instrument 'violn': did you mean Violin or Viola?"),
    (["--instruments", "cello,kazoo"], "--instruments: unknown instrument 'kazoo'"),
    (["--instruments", ","], "--instruments takes class names separated by commas"),
    (["--instruments", "violin,viola,cello,flute,harp"],
     "--instruments names 5 instruments but --max-objects is 4"),
    (["--instruments", "violin,viola", "--max-objects", "1"],
     "--instruments names 2 instruments but --max-objects is 1"),
])
def test_bad_instrument_names_are_refused_in_one_line(args: list[str], message: str) -> None:
    with pytest.raises(UserError) as info:
        _options(*args)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_help_documents_instruments(capsys) -> None:
    with pytest.raises(SystemExit):
        parser().parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--instruments NAMES" in text and "--instruments violin,cello" in text


@pytest.mark.slow
def test_the_console_script_refuses_unknown_names_with_status_2(tmp_path: Path) -> None:
    from tests.helpers import run_console

    done = run_console("crn_live.cli.live", "--no-gui", "--camera", "none", "--instruments",
                       "celo")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "crn-live: error: --instruments: unknown instrument 'celo': did you mean Cello?"]


@pytest.mark.slow
def test_a_headless_run_separates_named_instruments_from_the_microphone_alone(
        checkpoint, tmp_path: Path) -> None:
    """``--camera none``, a file as the microphone, two instruments named: one WAV each."""
    import soundfile

    from crn_live.models.checkpoint import save_checkpoint
    from tests.helpers import TINY_DETECTOR, tiny_detector

    detector = tmp_path / "det.pt"  # the bundled one may be retraining: the tiny one here
    save_checkpoint(detector, tiny_detector(), TINY_DETECTOR)
    rate = 44100
    t = np.arange(2 * rate) / rate
    mic = tmp_path / "mic.wav"
    soundfile.write(mic, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate,
                    subtype="FLOAT")
    record = tmp_path / "take"
    done = subprocess.run(
        [sys.executable, "-m", "crn_live.cli", "live", "--no-gui", "--camera", "none", "--mic",
         str(mic), "--output", "none", "--instruments", "violin,cello", "--duration", "1",
         "--model", str(checkpoint), "--detector", str(detector), "--backend", "torch",
         "--threads", "1", "--record", str(record), "--json", str(tmp_path / "stats.json")],
        capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    tracks = sorted(p.name for p in record.glob("track-*.wav"))
    assert sorted(name.split("-", 2)[2] for name in tracks) == ["Cello.wav", "Violin.wav"]
    assert all(int(name.split("-")[1]) >= NAMED_ID_BASE for name in tracks)
    for name in tracks + ["residual.wav", "mix.wav"]:
        samples = soundfile.read(record / name)[0]
        assert len(samples) > 0.5 * rate and np.all(np.isfinite(samples))
    assert json.loads((tmp_path / "stats.json").read_text())["seconds"] >= 1.0
