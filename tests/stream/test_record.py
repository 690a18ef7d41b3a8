"""Recording a live run: WAVs valid after every block, one file per track aligned with the
run, the synthesis delay trimmed and the length capped, objects.json and stats.json."""

from __future__ import annotations

import json

import numpy as np
import soundfile as sf

from crn_live.stream.engine import ChunkOutput
from crn_live.stream.record import IncrementalWav, Recorder, write_json
from crn_live.stream.vision import TrackInfo

RATE = 8000
N = 100  # samples per chunk
SLOTS = 2


def _chunk(index: int, slots: tuple[int, ...], labels: tuple[str, ...]) -> ChunkOutput:
    """Chunk ``index``: source ``k`` is ``index + k / 10``, the residual 0.5, the mix their sum."""
    sources = np.stack([np.full(N, index + k / 10, np.float32) if track else np.zeros(N)
                        for k, track in enumerate(slots)]).astype(np.float32)
    residual = np.full(N, 0.5, np.float32)
    mix = sources.sum(axis=0) + residual
    spectra = np.zeros((SLOTS + 2, 4, 2), np.float32)
    return ChunkOutput(index, sources, residual, mix, mix.copy(), slots, labels, spectra,
                       "full", 0.0, 0.0, False)


def test_incremental_wav_is_valid_after_every_write(tmp_path) -> None:
    path = tmp_path / "take.wav"
    wav = IncrementalWav(path, RATE)
    assert sf.info(str(path)).frames == 0  # a valid, empty WAV from the start
    written = []
    for k in range(3):
        block = np.full(50 + k, k / 4, np.float32)
        wav.write(block)
        written.append(block)
        data, rate = sf.read(path, dtype="float32")  # read while still open
        assert rate == RATE and np.array_equal(data, np.concatenate(written))
    assert wav.frames == 50 + 51 + 52
    wav.close()
    wav.close()  # twice is fine
    assert sf.info(str(path)).subtype == "FLOAT"


def test_tracks_are_aligned_with_the_run_and_padded(tmp_path) -> None:
    recorder = Recorder(tmp_path / "run", RATE)
    recorder.write(_chunk(0, (1, 0), ("Violin", "")))
    recorder.write(_chunk(1, (1, 2), ("Violin", "Alto sax/2")))  # track 2 is born
    recorder.write(_chunk(2, (0, 2), ("", "Alto sax/2")))  # track 1 leaves
    recorder.write(_chunk(3, (1, 2), ("Violin", "Alto sax/2")))  # and comes back
    recorder.close()
    folder = tmp_path / "run"
    names = sorted(p.name for p in folder.glob("*.wav"))
    assert names == ["mix.wav", "played.wav", "residual.wav", "track-001-Violin.wav",
                     "track-002-Alto-sax-2.wav"]
    one = sf.read(folder / "track-001-Violin.wav", dtype="float32")[0]
    two = sf.read(folder / "track-002-Alto-sax-2.wav", dtype="float32")[0]
    assert len(one) == len(two) == 4 * N  # every file has the run's length
    assert np.array_equal(one, np.repeat(np.float32([0, 1, 0, 3]), N))
    assert np.array_equal(two, np.repeat(np.float32([0, 1.1, 2.1, 3.1]), N))
    mix = sf.read(folder / "mix.wav", dtype="float32")[0]
    residual = sf.read(folder / "residual.wav", dtype="float32")[0]
    assert np.allclose(one + two + residual, mix)
    assert json.loads((folder / "objects.json").read_text()) == {"sample_rate": RATE,
                                                                 "rounds": []}


def test_skip_and_limit_trim_every_stream_alike(tmp_path) -> None:
    recorder = Recorder(tmp_path / "run", RATE, skip=150, limit=220)
    for index in range(6):
        recorder.write(_chunk(index, (1, 0), ("Drum", "")))
    recorder.close()
    folder = tmp_path / "run"
    track = sf.read(folder / "track-001-Drum.wav", dtype="float32")[0]
    mix = sf.read(folder / "mix.wav", dtype="float32")[0]
    assert len(track) == len(mix) == 220 and recorder.position == 220
    assert np.array_equal(track, np.repeat(np.float32([1, 2, 3, 4]), N)[50:270])


def test_objects_and_stats_json(tmp_path) -> None:
    recorder = Recorder(tmp_path / "run", RATE)
    a = TrackInfo(1, "Violin", (1.04, 2.0, 30.0, 40.0), False, 0.9)
    b = TrackInfo(2, "Drum", (5.0, 6.0, 7.0, 8.0), True, 1.0)
    recorder.note_tracks(0.1, [a], detection_round=1)
    recorder.note_tracks(0.2, [a], detection_round=1)  # nothing changed: not noted
    recorder.note_tracks(0.3, [a, b], detection_round=1)
    recorder.note_tracks(0.4, [a, b], detection_round=2)  # a new round is noted
    objects = json.loads((tmp_path / "run" / "objects.json").read_text())
    assert objects["sample_rate"] == RATE
    assert [r["time_s"] for r in objects["rounds"]] == [0.1, 0.3, 0.4]
    assert objects["rounds"][1]["tracks"][1] == {"id": 2, "class": "Drum",
                                                 "box": [5.0, 6.0, 7.0, 8.0], "manual": True}
    assert objects["rounds"][0]["tracks"][0]["box"] == [1.0, 2.0, 30.0, 40.0]
    recorder.write_stats({"rtf": 0.25, "xruns": 0})
    assert json.loads((tmp_path / "run" / "stats.json").read_text()) == {"rtf": 0.25,
                                                                         "xruns": 0}
    recorder.close()
    assert len(json.loads((tmp_path / "run" / "objects.json").read_text())["rounds"]) == 3
    write_json(tmp_path / "plain.json", [1, 2])
    assert json.loads((tmp_path / "plain.json").read_text()) == [1, 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain.json", "run"]  # no leftovers


def test_a_run_cut_short_leaves_valid_files_without_close(tmp_path) -> None:
    """What a lost device or a killed process leaves behind before close(): every WAV reads
    back whole up to the last chunk written (a track born late starts with the run)."""
    recorder = Recorder(tmp_path / "run", RATE)
    recorder.write(_chunk(0, (1, 0), ("Violin", "")))
    recorder.write(_chunk(1, (1, 2), ("Violin", "Drum")))
    recorder.write(_chunk(2, (1, 2), ("Violin", "Drum")))
    recorder.write_stats({"chunks": 3})
    folder = tmp_path / "run"
    wavs = {p.stem: sf.read(p, dtype="float32")[0] for p in folder.glob("*.wav")}
    assert set(wavs) == {"mix", "residual", "played", "track-001-Violin", "track-002-Drum"}
    assert all(len(w) == 3 * N for w in wavs.values())
    assert np.array_equal(wavs["track-002-Drum"], np.repeat(np.float32([0, 1.1, 2.1]), N))
    assert json.loads((folder / "stats.json").read_text()) == {"chunks": 3}
    recorder.close()
