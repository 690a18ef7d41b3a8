"""LiveSession on real parts: the bundled models on onnxruntime, an excerpt of the demo scene
as file sources, and the PulseAudio null sink as microphone and loudspeaker."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf

from crn_live.cli.live import console
from crn_live.dsp.levels import FLOOR_DB
from crn_live.errors import UserError
from crn_live.stream.mixer import RESIDUAL
from crn_live.stream.session import DEMO_DIR, LiveSession, SessionOptions, Status, UiFrame
from tests.stream.sources.unplug import LoseableDevice

SECONDS = 1.5


@pytest.fixture(scope="module")
def excerpt(tmp_path_factory) -> Path:
    """The demo mixture's first 1.5 s."""
    mix, rate = sf.read(DEMO_DIR / "mix.wav", dtype="float32")
    path = tmp_path_factory.mktemp("excerpt") / "mix.wav"
    sf.write(path, mix[:int(SECONDS * rate)], rate, subtype="FLOAT")
    return path


@pytest.fixture(autouse=True)
def cache(tmp_path_factory, monkeypatch):
    """Exported graphs shared by this run's sessions."""
    monkeypatch.setenv("CRN_LIVE_CACHE", str(tmp_path_factory.getbasetemp() / "live-cache"))


def _options(excerpt: Path, **changes) -> SessionOptions:
    return SessionOptions(**{"camera": str(DEMO_DIR / "video.mp4"), "mic": str(excerpt),
                             "output": None, "backend": "onnxruntime", **changes})


def _check_frames(frames: list[UiFrame], chunk_frames: int) -> None:
    indices = [f.index for f in frames]
    assert indices == list(range(indices[0], indices[0] + len(frames)))
    for frame in frames:
        strips = frame.strips
        assert strips[0].key == "mix" and strips[-1].key == RESIDUAL
        for strip in strips:
            assert strip.spectrum.dtype == np.float32 and strip.spectrum.shape[1] == chunk_frames
            assert np.isfinite(strip.level_db) and strip.level_db >= FLOOR_DB


@pytest.mark.slow
def test_a_file_session_runs_to_the_end_and_records_the_input(excerpt, tmp_path) -> None:
    record = tmp_path / "take"
    with LiveSession(_options(excerpt, paced=False, record=record, trim_delay=True)) as session:
        assert not session.running and not session.finished
        assert "Trumpet" in session.classes
        session.start()
        assert session.wait(120), "the session did not finish the excerpt in 2 minutes"
        assert session.finished and session.error is None and not session.running
        frames = session.poll_frames()
        assert frames and session.poll_frames() == []  # drained
        _check_frames(frames, session.engine.chunk)
        status = session.status()
        assert isinstance(status, Status) and status.backend == "onnxruntime"
        assert status.recording == record and status.chunks == frames[-1].index + 1
        assert session.xruns() == {"input": 0}  # unpaced: nothing is lost, nothing played
        stats = session.stats()
        assert stats["dropped_input_frames"] == 0 and stats["sample_rate"] == 44100
        assert session.stop_recording() == record and session.stop_recording() is None
    mix = sf.read(excerpt, dtype="float32")[0]
    recorded = sf.read(record / "mix.wav", dtype="float32")[0]
    assert len(recorded) == len(mix)  # trimmed to the input: as long, and aligned with it
    assert np.abs(recorded - mix).max() <= 1e-5
    tracks = sorted(record.glob("track-*.wav"))
    assert tracks and all(len(sf.read(t)[0]) == len(mix) for t in tracks)


@pytest.mark.slow
def test_a_paced_session_starts_stops_twice_and_resumes(excerpt) -> None:
    session = LiveSession(_options(excerpt, loop=True))
    try:
        session.start()
        session.start()
        assert session.running
        deadline = time.monotonic() + 10.0
        while session.engine.chunks < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert session.engine.chunks >= 5, "no audio flowed through the engine in 10 s"
        session.stop()
        session.stop()
        assert not session.running
        chunks = session.engine.chunks
        time.sleep(0.3)
        assert session.engine.chunks == chunks  # stopped: nothing more is processed
        frames = session.poll_frames()
        assert len(frames) == chunks
        session.start()
        deadline = time.monotonic() + 10.0
        while session.engine.chunks < chunks + 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert session.engine.chunks >= chunks + 5, "nothing flowed after a restart"
        assert session.running and not session.finished
        assert session.poll_frames()[0].index == chunks
    finally:
        session.close()
        session.close()
    assert not session.running


@pytest.mark.slow
def test_regions_tracks_and_recording_while_running(excerpt, tmp_path) -> None:
    session = LiveSession(_options(excerpt, paced=False, objects=(("Violin", (10, 10, 90, 90)),)))
    with session:
        track_id = session.add_region((100, 20, 180, 120), "Cello")
        session.start_recording(tmp_path / "take")
        session.start()
        assert session.wait(120) and session.error is None
        names = {t.class_name: t.track_id for t in session.vision.snapshot.tracks}
        assert {"Violin", "Cello"} <= set(names) and names["Cello"] == track_id
        assert session.remove_track(track_id) and not session.remove_track(10_000)
        folder = session.stop_recording()
    assert folder == tmp_path / "take"
    recorded = {p.stem.split("-", 2)[2] for p in folder.glob("track-*.wav")}
    assert {"Violin", "Cello"} <= recorded
    assert (folder / "stats.json").is_file() and (folder / "objects.json").is_file()


@pytest.mark.slow
def test_a_device_session_on_the_null_sink(private_sink) -> None:
    options = SessionOptions(camera=None, mic="default", output="default",
                             backend="onnxruntime", duration=1.0, device_latency=0.1)
    with LiveSession(options) as session:
        assert session.audio.rate == session.rate == session.output.rate
        session.start()
        assert session.wait(30) and session.error is None
        assert session.engine.chunks * session.engine.chunk_samples >= session.rate
        assert set(session.xruns()) == {"input", "output"}
        assert session.output.played_frames > 0
        assert all(np.isfinite(s.level_db) for f in session.poll_frames() for s in f.strips)


def test_missing_inputs_fail_in_one_line(tmp_path) -> None:
    with pytest.raises(UserError, match="^no audio input: give --mic"):
        LiveSession(SessionOptions(mic=None, output=None))
    with pytest.raises(UserError) as caught:
        LiveSession(SessionOptions(mic=str(tmp_path / "absent.wav"), output=None))
    assert "absent.wav not found" in str(caught.value) and "\n" not in str(caught.value)


def _played_position_s(session: LiveSession) -> float:
    """Audio time (seconds of input) of the sample leaving the loudspeaker now, from the
    output's own count of played samples: less the prefill's silence (one start), the
    synthesis delay, and what the device still holds (its reported latency)."""
    output = session.output
    prefill = int(session.rate * session.options.output_prefill_ms / 1000.0)
    heard = (output.played_frames + output.dropped_frames - prefill
             - session.engine.stft_config.latency_samples - round(output.latency * session.rate))
    return heard / session.rate


def _sample_sync(session: LiveSession, seconds: float, position) -> np.ndarray:
    """``(samples, 3)``: played position minus the shown frame's time, the reported delay, and
    the newest input's time minus the shown frame's time (seconds), every ~20 ms."""
    rows = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.02)
        frame = session.latest_video()
        played = position(session)
        newest = (session.audio.position + session.audio.available) / session.rate
        rows.append((played - frame.time_s, session.playback_delay_s, newest - frame.time_s))
    return np.asarray(rows)


@pytest.mark.slow
def test_the_picture_shown_is_the_one_of_the_sound_played(private_sink) -> None:
    """The demo scene played into a null sink: the frame latest_video() returns belongs to the
    audio leaving the loudspeaker (by the output's count of played samples), within the period
    of the frames (one per chunk, keyed by the chunk's start), and trails the newest input by
    the delay the status reports."""
    with LiveSession(SessionOptions.demo(output="default", backend="onnxruntime")) as session:
        nominal = session.playback_delay_s
        period = session.engine.chunk_ms / 1000.0
        session.start()
        deadline = time.monotonic() + 20.0
        while _played_position_s(session) < 1.0 and time.monotonic() < deadline:
            time.sleep(0.02)  # the played audio's first second: the delay has settled
        assert _played_position_s(session) >= 1.0, "nothing was played in 20 s"
        rows = _sample_sync(session, 2.0, _played_position_s)
        around = [1000 * session.playback_delay_s]
        status = session.status()
        around.append(1000 * session.playback_delay_s)
        assert session.error is None
    played_minus_frame, delay, newest_minus_frame = rows.T
    tolerance = 0.012  # the device callback's blocks and the smoothing of the delay
    within = (played_minus_frame >= -tolerance) & (played_minus_frame <= period + tolerance)
    assert within.mean() >= 0.9, np.round(1000 * played_minus_frame, 1)
    assert 0.0 <= np.median(played_minus_frame) <= period
    # the reported delay is smoothed: it may trail a sudden change (a gap in the output)
    trailing = newest_minus_frame - delay
    assert np.mean(np.abs(trailing - period / 2) <= period / 2 + 0.02) >= 0.9, trailing
    assert -0.02 <= np.median(trailing) <= period + 0.02
    # never less than the synthesis delay and the device's buffer; the nominal sum
    # (algorithmic latency, prefill, device latency) before anything is heard
    floor = session.engine.stft_config.latency_samples / session.rate + session.output.latency
    assert floor < delay.min() and nominal == pytest.approx(
        (session.engine.algorithmic_latency_ms + session.options.output_prefill_ms) / 1000.0
        + session.output.latency)
    # the worker updates the smoothed delay each chunk: the status shows the value of its moment
    assert min(around) - 0.1 <= status.playback_delay_ms <= max(around) + 0.1


@pytest.mark.slow
def test_the_strips_scroll_in_step_with_the_sound_played(private_sink) -> None:
    """Strip frames are held until their audio is heard: when the window receives one, the
    input has moved on by the chunk plus the playback delay less the algorithmic latency (the
    audio of a strip frame is ready that latency after capture), not just by the chunk."""
    with LiveSession(SessionOptions.demo(output="default", backend="onnxruntime")) as session:
        period = session.engine.chunk_ms / 1000.0
        algorithmic = session.engine.algorithmic_latency_ms / 1000.0
        session.start()
        deadline = time.monotonic() + 20.0
        while _played_position_s(session) < 1.0 and time.monotonic() < deadline:
            time.sleep(0.02)
        session.poll_frames()  # what was due before the delay settled
        # A frame handed over by a poll became due somewhere since the poll before it (each
        # poll takes everything due), so at its release the input had moved on by between
        # ``since`` and ``now`` past it: the test's own poll lateness (a loaded machine sleeps
        # long) widens that span instead of counting as a sync error.
        before = (session.audio.position + session.audio.available) / session.rate
        ahead, expected = [], []
        stop = time.monotonic() + 2.0
        while time.monotonic() < stop:
            time.sleep(0.01)
            newest = (session.audio.position + session.audio.available) / session.rate
            for frame in session.poll_frames():
                ahead.append((before - frame.time_s, newest - frame.time_s))
                expected.append(period + session.playback_delay_s - algorithmic)
            before = newest
        assert session.error is None
    spans, expected = np.asarray(ahead), np.asarray(expected)
    assert len(spans) >= 40, "too few strip frames in 2 s"
    assert expected.min() > 2 * period  # the delay is worth having: several chunks
    # how far the expected offset lies outside the span in which the frame was released
    miss = np.maximum(spans[:, 0] - expected, 0.0) + np.maximum(expected - spans[:, 1], 0.0)
    assert np.median(miss) <= period + 0.015, np.round(1000 * (spans - expected[:, None]))


@pytest.mark.slow
def test_without_an_output_the_picture_waits_for_the_algorithmic_latency() -> None:
    with LiveSession(SessionOptions.demo(output=None, backend="onnxruntime")) as session:
        delay = session.engine.algorithmic_latency_ms / 1000.0
        period = session.engine.chunk_ms / 1000.0
        assert session.playback_delay_s == delay
        assert session.latest_video() is None  # before the first frame
        session.start()
        deadline = time.monotonic() + 20.0
        while session.engine.chunks < 20 and time.monotonic() < deadline:
            time.sleep(0.02)
        rows = _sample_sync(session, 1.0, lambda s: 0.0)
        status = session.status()
    newest_minus_frame = rows[:, 2]
    assert np.all(rows[:, 1] == delay) and status.playback_delay_ms == round(1000 * delay, 1)
    # the newest input arrives in blocks (256 samples) and frames come once per chunk
    block = 256 / session.rate
    assert np.all(newest_minus_frame >= delay - block - 0.005), np.round(1000 * rows[:, 2], 1)
    assert np.all(newest_minus_frame <= delay + period + block + 0.005)


@pytest.mark.slow
def test_a_paced_session_warms_every_graph_up_before_its_clock(excerpt) -> None:
    """Opening a real-time session runs the detector, the visual encoder and every step level
    (timed in the stats); it changes nothing the session shows: no round, no track, no chunk.
    Unpaced (crn-separate) has no clock to protect and skips it."""
    with LiveSession(_options(excerpt)) as session:
        stats = session.stats()
        assert stats["warmup_ms"] == round(session.warmup_ms, 1) > 0
        assert set(session.engine.step_costs) == set(session.engine.steps)
        assert session.vision.rounds == 0 and not session.vision.snapshot.tracks
        assert stats["chunks"] == 0 and stats["level"] == "full"
        # what the vision side runs: the detector on a frame of the given size, the visual
        # encoder at every batch size
        vision, seen = session.vision, []
        detect, visual = vision.detector.detect, vision.visual
        vision.detector.detect = lambda bgr: seen.append(("detector", bgr.shape)) or detect(bgr)
        vision.visual = SimpleNamespace(
            run=lambda feeds: seen.append(("visual", len(feeds["crops"]))) or visual.run(feeds))
        vision.warm_up((240, 320), repeats=2)
        batches = [*range(1, vision.max_objects), vision.max_objects, vision.max_objects]
        assert seen == [("detector", (240, 320, 3))] * 2 + [("visual", b) for b in batches]
        assert vision.rounds == 0 and not vision.snapshot.tracks
    with LiveSession(_options(excerpt, paced=False)) as session:
        assert session.stats()["warmup_ms"] == 0.0 and not session.engine.step_costs


@pytest.mark.slow
def test_a_cold_demo_run_warms_up_and_accounts_every_chunk(tmp_path) -> None:
    """``crn-live --demo --no-gui --duration 20`` in a fresh process (no graph warm): the
    warm-up ran before the clock and every chunk is counted at its level. How many run at full
    quality depends on the machine's load (on a quiet 2-core machine 100 %; the issue's >= 95 %
    target), so that share is a benchmark figure, not asserted here."""
    out = tmp_path / "stats.json"
    done = subprocess.run([sys.executable, "-m", "crn_live.cli", "live", "--demo", "--no-gui",
                           "--duration", "20", "--output", "none", "--backend", "onnxruntime",
                           "--json", str(out)], capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    stats = json.loads(out.read_text())
    levels = stats["chunks_per_level"]
    assert stats["chunks"] == sum(levels.values()) >= 400 and stats["warmup_ms"] > 0
    assert set(levels) == {"full", "fewer_cycles", "no_cycles", "detect_less", "dry"}
    assert stats["recoveries"] <= stats["degradations"] <= stats["recoveries"] + len(levels) - 1


def _wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


def _check_kept(record: Path, chunks: int, chunk_samples: int) -> None:
    """The recording of a run that lost a device: every WAV as long as what was processed,
    stats.json and objects.json written."""
    wavs = {p.stem: sf.read(p, dtype="float32")[0] for p in record.glob("*.wav")}
    assert {"mix", "residual", "played"} <= set(wavs)
    assert all(len(w) == chunks * chunk_samples for w in wavs.values())
    stats = json.loads((record / "stats.json").read_text())
    assert stats["chunks"] == chunks
    assert json.loads((record / "objects.json").read_text())["rounds"] is not None


@pytest.mark.slow
@pytest.mark.parametrize("side", ["microphone", "audio output"])
def test_a_device_that_goes_away_ends_the_session_in_one_line(private_sink, monkeypatch,
                                                                tmp_path, side) -> None:
    """Unplug the microphone's (or the output's) PulseAudio device mid-run: the worker ends
    within 2 s with one line naming the device, when, and the recording, which is whole up to
    the last chunk; closing does not hang."""
    device = LoseableDevice(monkeypatch, ("input",) if side == "microphone" else ("output",))
    record = tmp_path / "take"
    try:
        options = SessionOptions(camera=None, mic="default", output="default",
                                 backend="onnxruntime", device_latency=0.1, record=record)
        with LiveSession(options) as session:
            session.start()
            _wait_for(lambda: session.engine.chunks >= 10, 20, "10 chunks")
            gone = device.unplug()
            assert session.wait(2.0), f"the session did not end 2 s after its {side} went away"
            print(f"{side}: the session ended {time.monotonic() - gone:.2f} s after the unplug")
            assert not session.running and isinstance(session.error, UserError)
            line = str(session.error)
            node = f"source '{device.monitor}'" if side == "microphone" \
                else f"sink '{device.name}'"
            assert re.fullmatch(rf"the {side} 'default' went away at \d+\.\d s \(PulseAudio "
                                rf"{re.escape(node)} was removed\); recording kept in "
                                rf"{re.escape(str(record))}", line), line
            assert session.status().recording is None  # finished by the worker
            chunks, chunk_samples = session.engine.chunks, session.engine.chunk_samples
            closing = time.monotonic()
        assert time.monotonic() - closing < 2.0
    finally:
        device.close()
    _check_kept(record, chunks, chunk_samples)


@pytest.mark.slow
def test_headless_run_ends_in_one_line_and_status_2_when_the_microphone_goes(
        private_sink, monkeypatch, tmp_path, capsys) -> None:
    """``crn-live --no-gui`` with a suspended microphone (its callbacks stop): the last line
    is the reason, the exit status 2, the recording whole."""
    device = LoseableDevice(monkeypatch, ("input",))
    record = tmp_path / "take"
    monkeypatch.setattr(sys, "argv", [
        "crn-live", "--no-gui", "--camera", "none", "--mic", "default", "--output", "none",
        "--backend", "onnxruntime", "--device-latency", "0.1", "--record", str(record)])

    def suspend_once_recording() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # 0.5 s of float32 mono at 44.1 kHz
            if (record / "mix.wav").is_file() and (record / "mix.wav").stat().st_size > 88200:
                device.suspend()
                return
            time.sleep(0.02)

    pulling = threading.Thread(target=suspend_once_recording, daemon=True)
    pulling.start()
    try:
        with pytest.raises(SystemExit) as ended:
            console()
        pulling.join()
    finally:
        device.suspend(False)
        device.close()
    assert ended.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert re.fullmatch(r"crn-live: error: the microphone 'default' went away at \d+\.\d s "
                        r"\(no audio from it for 1\.\d s: suspended or unplugged\); "
                        rf"recording kept in {re.escape(str(record))}", last), last
    stats = json.loads((record / "stats.json").read_text())
    _check_kept(record, stats["chunks"], round(stats["chunk_ms"] * stats["sample_rate"] / 1000))
