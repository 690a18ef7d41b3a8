"""Audio files: float WAVs written byte-reproducibly (no time-stamped PEAK chunk) and read back
exactly; mono mixdown; unreadable files refused in one line; whole-or-nothing writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from crn_live.data.audio_io import read_audio, read_mono, write_wav, write_wav_atomic
from crn_live.errors import UserError


def _signal(frames: int, channels: int = 1, seed: int = 0) -> np.ndarray:
    shape = (frames,) if channels == 1 else (frames, channels)
    return (0.5 * np.random.default_rng(seed).standard_normal(shape)).astype(np.float32)


def test_float_wav_round_trip_is_exact(tmp_path: Path) -> None:
    mono, stereo = _signal(4410), _signal(4410, channels=2, seed=1)
    write_wav(tmp_path / "mono.wav", mono, 44100)
    write_wav(tmp_path / "stereo.wav", stereo, 22050)
    samples, rate = read_audio(tmp_path / "mono.wav")
    assert rate == 44100 and samples.dtype == np.float32 and np.array_equal(samples, mono)
    samples, rate = read_audio(tmp_path / "stereo.wav")
    assert rate == 22050 and samples.shape == (4410, 2) and np.array_equal(samples, stereo)
    assert soundfile.info(str(tmp_path / "mono.wav")).subtype == "FLOAT"


def test_same_samples_same_bytes(tmp_path: Path) -> None:
    write_wav(tmp_path / "a.wav", _signal(1000), 11025)
    write_wav(tmp_path / "b.wav", _signal(1000), 11025)
    data = (tmp_path / "a.wav").read_bytes()
    assert data == (tmp_path / "b.wav").read_bytes()
    assert b"PEAK" not in data


def test_other_subtypes_and_dtypes(tmp_path: Path) -> None:
    write_wav(tmp_path / "pcm.wav", np.array([0.0, 0.5, -0.5], np.float32), 8000,
              subtype="PCM_16")
    samples, _ = read_audio(tmp_path / "pcm.wav", dtype="float64")
    assert samples.dtype == np.float64 and np.allclose(samples, [0.0, 0.5, -0.5], atol=1e-4)


def test_read_mono_averages_the_channels(tmp_path: Path) -> None:
    stereo = np.stack([np.full(100, 0.5), np.full(100, -0.25)], axis=1).astype(np.float32)
    write_wav(tmp_path / "stereo.wav", stereo, 16000)
    mono, rate = read_mono(tmp_path / "stereo.wav")
    assert rate == 16000 and mono.shape == (100,) and mono.dtype == np.float32
    assert np.allclose(mono, 0.125) and mono.flags.c_contiguous
    write_wav(tmp_path / "mono.wav", _signal(50), 16000)
    assert np.array_equal(read_mono(tmp_path / "mono.wav")[0], _signal(50))


def test_missing_and_unreadable_files_are_one_line_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="audio file .*absent.wav not found"):
        read_audio(tmp_path / "absent.wav")
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"RIFF but not really" * 10)
    with pytest.raises(UserError, match="cannot read audio .*garbage.wav") as info:
        read_mono(garbage)
    assert "use WAV, FLAC or OGG" in str(info.value) and "\n" not in str(info.value)


def test_atomic_write_leaves_only_the_finished_file(tmp_path: Path) -> None:
    target = tmp_path / "stem.wav"
    write_wav_atomic(target, _signal(300).astype(np.float64), 11025)
    assert [p.name for p in tmp_path.iterdir()] == ["stem.wav"]
    samples, rate = read_audio(target)
    assert rate == 11025 and samples.dtype == np.float32
    assert np.array_equal(samples, _signal(300))
