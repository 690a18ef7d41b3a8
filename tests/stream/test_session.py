"""LiveSession on real parts: the bundled models on onnxruntime, an excerpt of the demo scene
as file sources, and the PulseAudio null sink as microphone and loudspeaker."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from crn_live.dsp.levels import FLOOR_DB
from crn_live.errors import UserError
from crn_live.stream.mixer import RESIDUAL
from crn_live.stream.session import DEMO_DIR, LiveSession, SessionOptions, Status, UiFrame

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
