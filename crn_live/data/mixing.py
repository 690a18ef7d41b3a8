"""Mixing stems into a clip: level variation between sources, an optional room, the sum.

The room is applied to every stem (each source at its own position in one room), before the
sum, so that ``mix == sum(stems)`` holds exactly for what is written to disk.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import signal


@dataclasses.dataclass(frozen=True)
class Room:
    """A synthetic room: reverberation time, wet/dry ratio and pre-delay."""

    rt60: float
    wet: float
    predelay: float

    @staticmethod
    def draw(rng: np.random.Generator) -> "Room":
        return Room(rt60=float(rng.uniform(0.25, 1.2)), wet=float(rng.uniform(0.1, 0.45)),
                    predelay=float(rng.uniform(0.005, 0.03)))


def room_impulse_response(room: Room, rng: np.random.Generator, sample_rate: int) -> np.ndarray:
    """A source's impulse response ``(taps,)``: direct path, early reflections, a decaying tail.

    The tail is noise with an exponential decay reaching -60 dB at ``rt60``; high frequencies
    decay faster (the noise is low-passed progressively), as in real rooms.
    """
    taps = int(room.rt60 * 1.1 * sample_rate)
    t = np.arange(taps) / sample_rate
    tail = rng.standard_normal(taps) * np.exp(-6.9 * t / room.rt60)
    dull = signal.lfilter([0.25], [1.0, -0.75], tail)  # one-pole low-pass of the tail
    mix = np.clip(t / room.rt60, 0.0, 1.0)
    tail = (1.0 - mix) * tail + mix * dull * 2.0
    start = int(room.predelay * sample_rate)
    tail[:start] = 0.0
    for _ in range(6):  # early reflections
        k = start + int(rng.uniform(0.002, 0.04) * sample_rate)
        if k < taps:
            tail[k] += rng.uniform(-0.5, 0.5) * np.sqrt(taps / sample_rate)
    tail *= room.wet / max(np.sqrt(np.sum(tail**2)), 1e-9)
    ir = tail
    ir[0] += 1.0 - room.wet
    return ir


def active_rms(x: np.ndarray, sample_rate: int) -> float:
    """RMS over the 50 ms blocks that are not near-silent (a level for sparse parts); 0 for
    digital silence (a part with no note in the clip)."""
    block = max(1, sample_rate // 20)
    n = len(x) // block
    if n == 0:
        return float(np.sqrt(np.mean(x**2) + 1e-20))
    energy = np.mean(x[: n * block].reshape(n, block) ** 2, axis=1)
    loud = energy[energy > energy.max() * 1e-3]
    return float(np.sqrt(np.mean(loud) + 1e-20)) if loud.size else 0.0


def mix_stems(stems: list[np.ndarray], rng: np.random.Generator, sample_rate: int,
              reverb_probability: float, level_spread_db: float,
              peak: float = 0.89) -> tuple[np.ndarray, np.ndarray, dict]:
    """Level, room and sum: ``(sources, samples)`` stems and the ``(samples,)`` mixture.

    Each stem is brought to -20 dBFS active RMS, then offset by a random gain in
    ``[-level_spread_db, +level_spread_db]``; all are scaled together so the mixture peaks at
    ``peak`` at most. Returns float32 stems, their float32 sum, and what was drawn.
    """
    gains_db = rng.uniform(-level_spread_db, level_spread_db, size=len(stems))
    room = Room.draw(rng) if rng.random() < reverb_probability else None
    n = len(stems[0])
    out = np.zeros((len(stems), n), np.float64)
    for k, stem in enumerate(stems):
        rms = active_rms(stem, sample_rate)
        level = 0.1 / rms if rms > 0 else 0.0  # a silent stem stays silent (not 0/0 = NaN)
        x = stem.astype(np.float64) * level * 10 ** (gains_db[k] / 20)
        if room is not None:
            x = signal.oaconvolve(x, room_impulse_response(room, rng, sample_rate))[:n]
        out[k] = x
    mix = out.sum(axis=0)
    scale = min(1.0, peak / max(np.abs(mix).max(), 1e-9))
    stems32 = (out * scale).astype(np.float32)
    mix32 = stems32.sum(axis=0, dtype=np.float32)
    info = {"gains_db": [round(float(g), 3) for g in gains_db], "scale": round(scale, 6),
            "room": dataclasses.asdict(room) if room else None}
    return stems32, mix32, info
