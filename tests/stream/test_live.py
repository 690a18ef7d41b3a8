"""``crn-live`` end to end on real files and real PortAudio devices (a PulseAudio null sink):
headless runs with recordings that survive Ctrl+C and a kill, crn-separate giving the very
samples of live processing, a live round trip through the sound server scored against the
clip's stems, and the one-line answers when a device is missing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from crn_live.cli.separate import main as separate_main
from crn_live.data.clips import open_clip
from crn_live.cli.live import main as live_main

LIVE = [sys.executable, "-c", "from crn_live.cli.live import console; console()"]


@pytest.fixture(scope="module")
def clip(clip_sets) -> Path:
    return sorted(p for p in clip_sets[3].iterdir() if p.is_dir())[0]


@pytest.fixture(autouse=True)
def cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("CRN_LIVE_CACHE", str(tmp_path_factory.getbasetemp() / "live-cache"))


def _tracks(folder: Path) -> dict[str, np.ndarray]:
    """Recorded track WAVs by class (tracks of one class, e.g. one lost and found again, are
    summed: all files of a run have the run's length)."""
    found: dict[str, np.ndarray] = {}
    for path in sorted(folder.glob("track-*.wav")):
        name = path.stem.split("-", 2)[2]
        samples = sf.read(path, dtype="float32")[0]
        found[name] = found[name] + samples if name in found else samples
    return found


@pytest.mark.slow
def test_demo_headless_records_everything(tmp_path, capsys) -> None:
    record = tmp_path / "take"
    assert live_main(["--demo", "--no-gui", "--duration", "3", "--output", "none",
                      "--record", str(record), "--json", str(tmp_path / "stats.json")]) == 0
    stats = json.loads((record / "stats.json").read_text())
    assert stats == json.loads((tmp_path / "stats.json").read_text())
    for key in ("rtf", "degradations", "xruns", "algorithmic_latency_ms", "hop_ms_p99"):
        assert key in stats
    assert stats["seconds"] >= 3.0 and stats["algorithmic_latency_ms"] == pytest.approx(115.9, 0.01)
    mix, rate = sf.read(record / "mix.wav", dtype="float32")
    played = sf.read(record / "played.wav", dtype="float32")[0]
    residual = sf.read(record / "residual.wav", dtype="float32")[0]
    tracks = _tracks(record)
    assert rate == 44100 and len(mix) == len(played) == len(residual) >= 3 * 44100
    assert set(tracks) <= {"Drum", "Trombone", "Trumpet"} and len(tracks) >= 2
    total = residual + sum(tracks.values())
    assert np.abs(total - mix).max() <= 1e-5  # the stems and the residual sum to the mixture
    objects = json.loads((record / "objects.json").read_text())
    assert objects["rounds"] and objects["rounds"][-1]["tracks"]
    assert "recorded in" in capsys.readouterr().out


@pytest.mark.slow
def test_crn_separate_gives_the_samples_of_live_processing(clip, tmp_path) -> None:
    """The same clip through crn-separate (file sources, unpaced) and through crn-live paced in
    real time: identical samples (<= 1e-4), the live recording being delayed by the synthesis
    latency it reports."""
    offline = tmp_path / "separate"
    assert separate_main([str(clip), "--out", str(offline), "--mode", "streaming",
                          "--backend", "onnxruntime"]) == 0
    live = tmp_path / "live"
    assert live_main(["--camera", str(clip / "video.mp4"), "--mic", str(clip / "mix.wav"),
                      "--output", "none", "--no-gui", "--fixed-quality", "--backend",
                      "onnxruntime", "--record", str(live)]) == 0
    a, b = _tracks(offline), _tracks(live)
    assert a.keys() == b.keys() and len(a) >= 2
    stats = json.loads((live / "stats.json").read_text())
    delay = round(stats["sample_rate"] * 4450 / 48000) if stats["sample_rate"] == 48000 \
        else 4088 - 1024  # n_fft - hop at 44.1 kHz
    for name in a:
        n = len(a[name])
        assert np.abs(b[name][delay:delay + n] - a[name]).max() <= 1e-4, name
    mix = sf.read(clip / "mix.wav", dtype="float32")[0]
    assert np.abs(sf.read(offline / "mix.wav", dtype="float32")[0] - mix).max() <= 1e-5


@pytest.mark.slow
def test_live_round_trip_through_the_sound_server(clip, pulse, tmp_path) -> None:
    """The clip's mixture is played into the null sink; crn-live records the sink's monitor as
    its microphone (a real PortAudio input) and separates it live. Its stems, aligned by
    cross-correlation, score within 1 dB of crn-separate's on the same clip."""
    from crn_live.training.metrics import bss_eval
    from crn_live.stream.session import LiveSession, SessionOptions
    from crn_live.stream.sources.output import OutputSink

    info = open_clip(clip)
    stems = info.stems(44100)
    classes = [s.class_name for s in info.slots]
    mix = sf.read(clip / "mix.wav", dtype="float32")[0]
    offline = tmp_path / "separate"
    assert separate_main([str(clip), "--out", str(offline), "--mode", "streaming"]) == 0
    live = tmp_path / "live"
    # a generous device latency: the player and the microphone are Python callbacks sharing
    # two cores with the engine, and a gap in the round trip would shift the timeline
    session = LiveSession(SessionOptions(camera=str(clip / "video.mp4"), mic="default",
                                         output=None, record=live, adaptive=False,
                                         device_latency=0.1))
    player = OutputSink(None, 44100, latency=0.1)
    try:
        session.start()
        player.start()
        player.write(np.concatenate([mix, np.zeros(44100 // 2, np.float32)]), wait=True)
        player.drain(timeout=10)
        time.sleep(0.3)
    finally:
        session.close()
        player.close()
    recorded = sf.read(live / "mix.wav", dtype="float32")[0]
    lag = int(np.argmax(np.correlate(recorded[:len(mix) + 44100], mix[:44100], "valid")))
    assert lag < 44100  # the sound server and the engine add well under a second

    found = {"offline": _tracks(offline), "live": _tracks(live)}
    common = [k for k, name in enumerate(classes)
              if all(name in tracks for tracks in found.values())]
    assert len(common) >= 2, (classes, {k: list(v) for k, v in found.items()})

    def score(tracks: dict, shift: int) -> float:
        estimates = np.zeros((len(common), stems.shape[1]), np.float32)
        for row, k in enumerate(common):
            x = tracks[classes[k]][shift:shift + stems.shape[1]]
            estimates[row, :len(x)] = x
        return float(bss_eval(stems[common], estimates)["sdr"].mean())

    live_tracks = {k: (len(v), int(np.argmax(np.abs(v) > 1e-3)), float(np.abs(v).max()))
                   for k, v in found["live"].items()}
    assert all(np.abs(found["live"][classes[k]][lag:lag + stems.shape[1]]).max() > 1e-3
               for k in common), (lag, len(recorded), live_tracks)
    assert abs(score(found["live"], lag) - score(found["offline"], 0)) <= 1.0


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL])
def test_recording_survives_ctrl_c_and_a_kill(tmp_path, how) -> None:
    record = tmp_path / "take"
    process = subprocess.Popen(LIVE + ["--demo", "--no-gui", "--output", "none", "--record",
                                       str(record)], stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until a second of audio is on disk
        if (record / "mix.wav").is_file() and (record / "mix.wav").stat().st_size > 200_000:
            break
        time.sleep(0.2)
    process.send_signal(how)
    _, err = process.communicate(timeout=30)
    assert process.returncode == (130 if how == signal.SIGINT else -signal.SIGKILL)
    mix, rate = sf.read(record / "mix.wav", dtype="float32")
    assert rate == 44100 and len(mix) >= 44100
    for wav in record.glob("*.wav"):
        data = sf.read(wav, dtype="float32")[0]  # a valid WAV up to its last block
        assert len(data) > 0 and np.isfinite(data).all()
    if how == signal.SIGINT:
        assert "interrupted" in err and "Traceback" not in err
        stats = json.loads((record / "stats.json").read_text())
        assert stats["seconds"] * 44100 == pytest.approx(len(mix), abs=5000)


@pytest.mark.slow
def test_missing_devices_say_so_and_offer_the_demo(capsys) -> None:
    done = subprocess.run(LIVE + ["--camera", "7", "--no-gui", "--mic", "default"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    err = done.stderr.strip()
    assert "\n" not in err and "no camera 7" in err and "--demo" in err
    with pytest.raises(SystemExit):
        live_main(["--help"])
    assert "--camera" in capsys.readouterr().out


def test_list_devices(pulse, capsys) -> None:
    assert live_main(["--list-devices"]) == 0
    out = capsys.readouterr().out
    assert "Audio devices" in out and "Cameras" in out


@pytest.mark.slow
def test_bad_files_fail_in_one_line(tmp_path) -> None:
    from crn_live.errors import UserError

    bad = tmp_path / "noise.wav"
    bad.write_bytes(b"not audio at all")
    with pytest.raises(UserError) as caught:
        live_main(["--camera", "none", "--mic", str(bad), "--no-gui", "--output", "none"])
    assert "\n" not in str(caught.value)
    good = tmp_path / "tone.wav"
    sf.write(good, np.zeros(44100, np.float32), 44100)
    with pytest.raises(UserError, match="absent.mp4 not found"):
        live_main(["--camera", str(tmp_path / "absent.mp4"), "--mic", str(good), "--no-gui",
                   "--output", "none"])
