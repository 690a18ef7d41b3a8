"""Recording a live run so that nothing is lost on Ctrl+C or a crash.

:class:`IncrementalWav` writes a 32-bit float WAV whose header is rewritten after every block
(and the file flushed), so at any moment the file on disk is a valid WAV holding every block
written so far. :class:`Recorder` keeps one per instrument track (silence before the track was
born, so every file starts at the run's start), the residual, the mixture and what was played,
plus ``objects.json`` (tracks over time) and ``stats.json`` (latency, RTF, degradations, xruns),
both rewritten atomically as they change.
"""

from __future__ import annotations

import dataclasses
import json
import re
import struct
from pathlib import Path

import numpy as np

from crn_live.data.files import write_text_atomic

_HEADER = struct.Struct("<4sI4s4sIHHIIHH4sI")  # RIFF, size, WAVE, fmt, 16, fmt..., data, size


class IncrementalWav:
    """A mono float32 WAV file, valid after every :meth:`write`."""

    def __init__(self, path: Path, rate: int) -> None:
        self.path, self.rate = Path(path), rate
        self.frames = 0
        self._file = open(self.path, "wb")
        self._file.write(self._header())
        self._file.flush()

    def _header(self) -> bytes:
        data = self.frames * 4
        return _HEADER.pack(b"RIFF", 36 + data, b"WAVE", b"fmt ", 16, 3, 1, self.rate,
                            self.rate * 4, 4, 32, b"data", data)

    def write(self, samples: np.ndarray) -> None:
        samples = np.ascontiguousarray(samples, np.float32)
        self._file.seek(0, 2)
        self._file.write(samples.tobytes())
        self.frames += len(samples)
        self._file.seek(0)
        self._file.write(self._header())
        self._file.flush()

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "instrument"


def write_json(path: Path, data) -> None:
    """Atomically (temporary name, then rename)."""
    write_text_atomic(path, json.dumps(data, indent=1) + "\n")


class Recorder:
    """Writes the engine's chunks into ``folder``."""

    def __init__(self, folder: Path, rate: int, skip: int = 0, limit: int | None = None) -> None:
        self.folder = Path(folder)
        self.skip = skip  # leading samples of every stream left out (the synthesis delay)
        self.limit = limit  # samples kept at most (the input's length)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.rate = rate
        self.files = {name: IncrementalWav(self.folder / f"{name}.wav", rate)
                      for name in ("mix", "residual", "played")}
        self.tracks: dict[int, IncrementalWav] = {}
        self.position = 0
        self.objects: list[dict] = []
        self._last_tracks = None

    def write(self, chunk) -> None:
        """One :class:`~crn_live.stream.engine.ChunkOutput`."""
        cut = min(self.skip, len(chunk.mix))
        self.skip -= cut
        end = len(chunk.mix) if self.limit is None else \
            max(cut, min(len(chunk.mix), cut + self.limit - self.position))
        if end <= cut:
            return
        if cut or end < len(chunk.mix):
            chunk = dataclasses.replace(chunk, mix=chunk.mix[cut:end],
                                        residual=chunk.residual[cut:end],
                                        played=chunk.played[cut:end],
                                        sources=chunk.sources[:, cut:end])
        self.files["mix"].write(chunk.mix)
        self.files["residual"].write(chunk.residual)
        self.files["played"].write(chunk.played)
        for slot, (track_id, label) in enumerate(zip(chunk.slots, chunk.labels)):
            if not track_id:
                continue
            wav = self.tracks.get(track_id)
            if wav is None:
                name = f"track-{track_id:03d}-{_safe(label)}"
                wav = self.tracks[track_id] = IncrementalWav(self.folder / f"{name}.wav",
                                                              self.rate)
                if self.position:
                    wav.write(np.zeros(self.position, np.float32))
            if wav.frames < self.position:  # the track left and came back
                wav.write(np.zeros(self.position - wav.frames, np.float32))
            wav.write(chunk.sources[slot])
        self.position += len(chunk.mix)

    def note_tracks(self, time_s: float, tracks, detection_round: int = 0) -> None:
        """Append the visible tracks at ``time_s`` to ``objects.json`` after each detection
        round and whenever the set of tracks changed."""
        state = [(t.track_id, t.class_name, [round(v, 1) for v in t.box], t.manual)
                 for t in tracks]
        key = ([s[0] for s in state], detection_round)
        if key == self._last_tracks:
            return
        self._last_tracks = key
        self.objects.append({"time_s": round(time_s, 3), "tracks": [
            {"id": i, "class": c, "box": b, "manual": m} for i, c, b, m in state]})
        write_json(self.folder / "objects.json", {"sample_rate": self.rate,
                                                  "rounds": self.objects})

    def write_stats(self, stats: dict) -> None:
        write_json(self.folder / "stats.json", stats)

    def close(self) -> None:
        for wav in [*self.files.values(), *self.tracks.values()]:
            # pad every track to the run's length
            if wav.frames < self.position:
                wav.write(np.zeros(self.position - wav.frames, np.float32))
            wav.close()
        if not (self.folder / "objects.json").exists():
            write_json(self.folder / "objects.json", {"sample_rate": self.rate, "rounds": []})
