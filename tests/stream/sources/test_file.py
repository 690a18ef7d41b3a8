"""FileAudioSource on real audio files: paced and unpaced, stopped and resumed, looped,
resampled, and the one-line errors."""

from __future__ import annotations

import time

import numpy as np
import pytest
import soundfile

from crn_live.errors import UserError
from crn_live.stream.sources.file import FileAudioSource
from tests.stream.sources.media import one_line_error, write_noise_wav


def _read_all(source: FileAudioSource, timeout: float) -> tuple[np.ndarray, float]:
    """Everything ``source`` delivers until it is finished and drained; and how long it took."""
    chunks, block = [], np.zeros((4096, 1), np.float32)
    began = time.monotonic()
    source.start()
    while not (source.finished and source.available == 0):
        assert time.monotonic() - began < timeout, "file source did not finish"
        n = source.read_into(block)
        if n:
            chunks.append(block[:n, 0].copy())
        else:
            time.sleep(0.005)
    elapsed = time.monotonic() - began
    source.stop()
    source.stop()  # twice is fine
    return np.concatenate(chunks), elapsed


def _read(source: FileAudioSource, frames: int, timeout: float = 5.0) -> np.ndarray:
    """The next ``frames`` samples ``(frames,)`` of a started source."""
    out = np.zeros(frames, np.float32)
    done = 0
    deadline = time.monotonic() + timeout
    while done < frames:
        assert time.monotonic() < deadline, "file source stalled"
        done += source.read_into(out[done:])
        time.sleep(0.001)
    return out


def test_file_audio_source_paced_and_unpaced(tmp_path) -> None:
    rate = 16000
    path = tmp_path / "noise.wav"
    samples = write_noise_wav(path, 1.0, rate)

    paced = FileAudioSource(path)
    assert paced.rate == rate and paced.duration == pytest.approx(1.0)
    got, elapsed = _read_all(paced, timeout=5.0)
    assert 0.8 < elapsed < 2.5
    assert np.array_equal(got, samples)  # bit-identical
    assert paced.xruns == 0
    t0 = paced.time_of(0)
    assert paced.time_of(rate) - t0 == pytest.approx(1.0, abs=1e-6)

    unpaced = FileAudioSource(path, paced=False, ring_seconds=0.1)  # ring << file: waits
    got, elapsed = _read_all(unpaced, timeout=5.0)
    assert elapsed < 0.5
    assert np.array_equal(got, samples)
    assert unpaced.dropped_frames == 0


def test_file_audio_source_errors(tmp_path) -> None:
    text = tmp_path / "notes.wav"
    text.write_text("not audio\nat all\n")
    with pytest.raises(UserError) as excinfo:
        FileAudioSource(text)
    assert "notes.wav" in one_line_error(excinfo)
    with pytest.raises(UserError) as excinfo:
        FileAudioSource(tmp_path / "missing.wav")
    assert "not found" in one_line_error(excinfo)
    empty = tmp_path / "empty.wav"
    soundfile.write(str(empty), np.zeros(0, np.float32), 16000)
    with pytest.raises(UserError) as excinfo:
        FileAudioSource(empty)
    assert one_line_error(excinfo) == f"audio file {empty} has no samples"


def test_stop_halts_the_flow_and_a_resume_keeps_the_timeline(tmp_path) -> None:
    rate = 16000
    path = tmp_path / "noise.wav"
    samples = write_noise_wav(path, 1.0, rate)
    source = FileAudioSource(path)
    began = time.monotonic()
    source.start(at=began)
    assert source.running
    first = _read(source, rate // 4)
    source.stop()
    assert not source.running and not source.finished
    written = source.position + source.available
    time.sleep(0.1)
    assert source.position + source.available == written  # stopped: nothing more arrives
    resumed = time.monotonic()
    source.start(at=resumed)
    rest = _read(source, len(samples) - len(first))
    assert np.array_equal(np.concatenate([first, rest]), samples)  # nothing lost or repeated
    assert source.time_of(written - 1) == pytest.approx(began + (written - 1) / rate, abs=1e-6)
    assert source.time_of(written) == pytest.approx(resumed, abs=1e-6)  # time spent stopped
    assert source.xruns == 0 and source.dropped_frames == 0
    source.close()


def test_loop_resample_and_mix_down(tmp_path) -> None:
    rate = 16000
    path = tmp_path / "noise.wav"
    samples = write_noise_wav(path, 0.25, rate)
    looped = FileAudioSource(path, paced=False, loop=True)
    assert looped.total_frames == len(samples)
    with looped:
        got = _read(looped, 2 * len(samples) + 100)
        assert not looped.finished
    assert np.array_equal(got, np.tile(samples, 3)[:len(got)])

    half = FileAudioSource(path, rate=8000)
    assert half.rate == 8000 and half.duration == pytest.approx(0.25, abs=1e-3)
    assert half.total_frames == pytest.approx(len(samples) / 2, abs=2)

    stereo = tmp_path / "stereo.wav"
    left = samples
    soundfile.write(str(stereo), np.stack([left, -0.5 * left], axis=1), rate, subtype="FLOAT")
    mono = FileAudioSource(stereo, paced=False)
    got, _ = _read_all(mono, timeout=5.0)
    assert np.allclose(got, 0.25 * left, atol=1e-6)  # the mean of the two channels
    mono.close()


def test_closed_file_source_does_not_start_again(tmp_path) -> None:
    path = tmp_path / "noise.wav"
    write_noise_wav(path, 0.1, 16000)
    with FileAudioSource(path, paced=False) as source:
        assert source.running or source.finished
    assert source.closed and not source.running
    source.close()  # twice is fine
    with pytest.raises(RuntimeError, match="FileAudioSource is closed"):
        source.start()
