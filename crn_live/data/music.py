"""Procedural ensemble music: key, metre, tempo, chord progressions and parts with real rhythm.

A :class:`Piece` is a list of parts, each a list of :class:`Note` in seconds. Parts play roles
(melody, counter-melody, bass, chords, arpeggio, drums) in one harmony, so that instruments overlap
in time and pitch as in a real ensemble: the hard case for separation. Dynamics follow phrases
(swell and fade), downbeats are accented, timing is humanised, and phrases end with rests.
Everything is drawn from the ``numpy.random.Generator`` passed in: same generator state, same piece.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from crn_live.instruments import Instrument

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)

# Progressions as scale degrees (0 = tonic), one chord per bar.
PROGRESSIONS = {
    "major": ((0, 4, 5, 3), (0, 3, 4, 0), (0, 5, 3, 4), (5, 3, 0, 4), (1, 4, 0, 0),
              (0, 3, 0, 4), (0, 2, 3, 4), (0, 0, 3, 3, 0, 0, 4, 3)),
    "minor": ((0, 5, 2, 6), (0, 3, 4, 0), (0, 6, 5, 4), (0, 3, 6, 2), (0, 5, 3, 4)),
}

# Drum kit keys (GM percussion map).
KICK, SNARE, CLOSED_HAT, OPEN_HAT, CRASH, RIDE = 36, 38, 42, 46, 49, 51
TOMS = (50, 47, 45, 43)


@dataclasses.dataclass(frozen=True)
class Note:
    """One note: onset and release in seconds, MIDI pitch, MIDI velocity (1..127)."""

    start: float
    end: float
    pitch: int
    velocity: int


@dataclasses.dataclass(frozen=True)
class Piece:
    """A piece of music: one note list per part, with where it came from."""

    parts: tuple[tuple[Note, ...], ...]
    roles: tuple[str, ...]
    tempo_bpm: float
    beats_per_bar: int
    title: str
    source: str  # "procedural" or a score path
    composer: str | None = None
    key: str | None = None


@dataclasses.dataclass(frozen=True)
class Harmony:
    """Key, metre and one chord (as pitch classes, root first) per bar."""

    tonic: int
    scale: tuple[int, ...]
    beats_per_bar: int
    beat_seconds: float
    chords: tuple[tuple[int, ...], ...]

    @property
    def bar_seconds(self) -> float:
        return self.beats_per_bar * self.beat_seconds

    def scale_pitches(self, low: int, high: int) -> np.ndarray:
        """All pitches of the key within ``[low, high]``, ascending."""
        pcs = {(self.tonic + s) % 12 for s in self.scale}
        return np.array([p for p in range(low, high + 1) if p % 12 in pcs])

    def chord_pitches(self, bar: int, low: int, high: int) -> np.ndarray:
        pcs = set(self.chords[bar % len(self.chords)])
        return np.array([p for p in range(low, high + 1) if p % 12 in pcs])


# ---------------------------------------------------------------------------------------------
# Harmony and rhythm


def make_harmony(rng: np.random.Generator, n_bars: int) -> Harmony:
    """Random key, mode, metre, tempo and a repeated chord progression covering ``n_bars``."""
    mode = "major" if rng.random() < 0.6 else "minor"
    scale = MAJOR if mode == "major" else MINOR
    tonic = int(rng.integers(12))
    beats = 3 if rng.random() < 0.25 else 4
    tempo = float(rng.uniform(72, 144))
    templates = PROGRESSIONS[mode]
    progression = templates[int(rng.integers(len(templates)))]
    chords = []
    for bar in range(n_bars):
        degree = progression[bar % len(progression)]
        triad = [scale[(degree + k) % 7] for k in (0, 2, 4)]
        if mode == "minor" and degree == 4:  # harmonic minor: major dominant
            triad[1] = (triad[1] + 1) % 12
        if rng.random() < 0.2:  # add the seventh now and then
            triad.append(scale[(degree + 6) % 7])
        chords.append(tuple((tonic + pc) % 12 for pc in triad))
    return Harmony(tonic, scale, beats, 60.0 / tempo, tuple(chords))


def bar_rhythm(rng: np.random.Generator, beats: int, density: float) -> list[float]:
    """Durations in beats filling one bar; negative durations are rests.

    ``density`` in [0, 1] moves the choice from long notes to running eighths and sixteenths.
    """
    cells = [
        ((1.0,), 0.4), ((0.5, 0.5), 0.6), ((1.5, 0.5), 0.4), ((0.75, 0.25), 0.5),
        ((0.25, 0.25, 0.5), 0.8), ((0.25,) * 4, 1.0), ((2.0,), 0.1), ((-1.0,), 0.3),
        ((0.5, -0.5), 0.5), ((-0.5, 0.5), 0.6), ((1.0 / 3,) * 3, 0.7), ((3.0,), 0.0),
    ]
    out: list[float] = []
    left = float(beats)
    while left > 1e-9:
        fitting = [(c, d) for c, d in cells if sum(abs(x) for x in c) <= left + 1e-9]
        weights = np.array([math.exp(-4.0 * abs(d - density)) for _, d in fitting])
        cell = fitting[int(rng.choice(len(fitting), p=weights / weights.sum()))][0]
        out.extend(cell)
        left -= sum(abs(x) for x in cell)
    return out


# ---------------------------------------------------------------------------------------------
# Dynamics and humanisation


@dataclasses.dataclass(frozen=True)
class Dynamics:
    """Per-part loudness: base velocity, phrase swell, downbeat accent, articulation."""

    base: float
    swell: float
    accent: float
    legato: float
    phrase_bars: int

    @staticmethod
    def draw(rng: np.random.Generator) -> "Dynamics":
        return Dynamics(
            base=float(rng.uniform(50, 100)), swell=float(rng.uniform(0, 22)),
            accent=float(rng.uniform(4, 14)), legato=float(rng.uniform(0.55, 0.98)),
            phrase_bars=int(rng.choice([2, 4, 4, 8])),
        )

    def velocity(self, rng: np.random.Generator, beat_pos: float, bar: int, beats: int) -> int:
        phrase = ((bar % self.phrase_bars) + beat_pos / beats) / self.phrase_bars
        v = self.base + self.swell * math.sin(math.pi * phrase)
        if abs(beat_pos) < 1e-6:
            v += self.accent
        elif abs(beat_pos - round(beat_pos)) > 1e-6:
            v -= self.accent / 2
        return int(np.clip(round(v + rng.normal(0, 4)), 20, 127))


class PartWriter:
    """Collects notes in beats and converts them to humanised :class:`Note` in seconds."""

    def __init__(self, harmony: Harmony, rng: np.random.Generator, dynamics: Dynamics):
        self.harmony = harmony
        self.rng = rng
        self.dynamics = dynamics
        self.notes: list[Note] = []

    def add(self, bar: int, beat: float, beats_long: float, pitches: list[int] | np.ndarray,
            gate: float | None = None, velocity: int | None = None) -> None:
        """Add one note or chord at ``bar``, ``beat`` lasting ``beats_long`` beats."""
        h = self.harmony
        t0 = (bar * h.beats_per_bar + beat) * h.beat_seconds
        jitter = float(self.rng.normal(0, 0.008))
        start = max(0.0, t0 + jitter)
        length = beats_long * h.beat_seconds * (self.dynamics.legato if gate is None else gate)
        vel = velocity or self.dynamics.velocity(self.rng, beat, bar, h.beats_per_bar)
        for p in pitches:
            self.notes.append(Note(round(start, 5), round(start + max(length, 0.04), 5), int(p), vel))

    def finish(self, seconds: float) -> tuple[Note, ...]:
        kept = [n for n in self.notes if n.start < seconds - 0.05]
        kept = [dataclasses.replace(n, end=min(n.end, seconds)) for n in kept]
        return tuple(sorted(kept, key=lambda n: (n.start, n.pitch)))


# ---------------------------------------------------------------------------------------------
# Roles


def _nearest(candidates: np.ndarray, target: float) -> int:
    return int(candidates[np.argmin(np.abs(candidates - target))])


def write_melody(w: PartWriter, inst: Instrument, n_bars: int, density: float) -> None:
    """A phrase-structured line: chord tones on strong beats, steps between, rests at phrase ends."""
    h, rng = w.harmony, w.rng
    low, high = inst.low + 3, inst.high - 5
    scale = h.scale_pitches(low, high)
    pitch = float(rng.uniform(low + (high - low) * 0.3, low + (high - low) * 0.7))
    for bar in range(n_bars):
        last_of_phrase = bar % w.dynamics.phrase_bars == w.dynamics.phrase_bars - 1
        rhythm = [float(h.beats_per_bar) / 2, -float(h.beats_per_bar) / 2] if (
            last_of_phrase and rng.random() < 0.6) else bar_rhythm(rng, h.beats_per_bar, density)
        beat = 0.0
        for dur in rhythm:
            if dur > 0:
                strong = abs(beat - round(beat)) < 1e-6
                if strong:
                    target = pitch + rng.normal(0, 3)
                    pitch = _nearest(h.chord_pitches(bar, low, high), target)
                else:
                    idx = int(np.argmin(np.abs(scale - pitch)))
                    idx = int(np.clip(idx + rng.choice([-2, -1, -1, 1, 1, 2]), 0, len(scale) - 1))
                    pitch = int(scale[idx])
                w.add(bar, beat, dur, [int(pitch)])
            beat += abs(dur)


def write_counter(w: PartWriter, inst: Instrument, n_bars: int) -> None:
    """Slower chord-tone line (halves and quarters), moving by the smallest step."""
    h, rng = w.harmony, w.rng
    low, high = inst.low + 2, int(inst.centre + (inst.high - inst.centre) * 0.6)
    pitch = float(rng.uniform(low, high))
    for bar in range(n_bars):
        rhythm = bar_rhythm(rng, h.beats_per_bar, density=0.15)
        beat = 0.0
        for dur in rhythm:
            if dur > 0:
                pitch = _nearest(h.chord_pitches(bar, low, high), pitch + rng.normal(0, 2))
                w.add(bar, beat, dur, [int(pitch)])
            beat += abs(dur)


def write_bass(w: PartWriter, inst: Instrument, n_bars: int) -> None:
    """Root-based bass: whole notes, root-fifth, pumping eighths or a walking line."""
    h, rng = w.harmony, w.rng
    style = rng.choice(["whole", "root_fifth", "pump", "walk"])
    low, high = inst.low, min(inst.high, inst.low + 19)
    for bar in range(n_bars):
        chord = h.chords[bar % len(h.chords)]
        roots = np.array([p for p in range(low, high + 1) if p % 12 == chord[0]])
        root = int(roots[0]) if len(roots) else low
        fifth = root + 7 if root + 7 <= high else root - 5
        beats = h.beats_per_bar
        if style == "whole":
            w.add(bar, 0, beats, [root])
        elif style == "root_fifth":
            w.add(bar, 0, beats / 2 if beats == 4 else 2, [root])
            w.add(bar, beats / 2 if beats == 4 else 2, beats / 2 if beats == 4 else 1, [fifth])
        elif style == "pump":
            for k in range(beats * 2):
                w.add(bar, k / 2, 0.5, [root if k % 4 != 3 else fifth], gate=0.7)
        else:
            line = h.chord_pitches(bar, low, high)
            for k in range(beats):
                w.add(bar, k, 1, [root if k == 0 else int(rng.choice(line))])


def write_chords(w: PartWriter, inst: Instrument, n_bars: int) -> None:
    """Block-chord comping in a rhythm pattern, voiced in the middle of the register."""
    h, rng = w.harmony, w.rng
    centre = inst.centre + rng.uniform(-4, 4)
    patterns = [[(0, 4)], [(0, 2), (2, 2)], [(0, 1.5), (1.5, 2.5)], [(1, 1), (3, 1)],
                [(0, 1), (1, 1), (2, 1), (3, 1)], [(0, 0.5), (1.5, 0.5), (2.5, 1.5)]]
    pattern = patterns[int(rng.integers(len(patterns)))]
    for bar in range(n_bars):
        pool = h.chord_pitches(bar, int(centre - 8), int(centre + 8))
        voicing = sorted({_nearest(pool, centre + d) for d in (-5, 0, 5, 9)})
        for beat, dur in pattern:
            if beat < h.beats_per_bar:
                w.add(bar, beat, min(dur, h.beats_per_bar - beat), voicing)


def write_arpeggio(w: PartWriter, inst: Instrument, n_bars: int) -> None:
    """Broken chords in eighths or sixteenths, up, down or up-down."""
    h, rng = w.harmony, w.rng
    step = float(rng.choice([0.5, 0.5, 0.25]))
    shape = rng.choice(["up", "down", "updown"])
    low = int(inst.centre - 9)
    for bar in range(n_bars):
        tones = list(h.chord_pitches(bar, low, low + 16))
        if shape == "down":
            tones = tones[::-1]
        elif shape == "updown":
            tones = tones + tones[-2:0:-1]
        n = int(round(h.beats_per_bar / step))
        for k in range(n):
            w.add(bar, k * step, step * 1.8, [tones[k % len(tones)]], gate=1.0)


def write_drums(w: PartWriter, n_bars: int) -> None:
    """A kit groove: kick and snare backbeat, hats or ride, crash on phrase starts, fills."""
    h, rng = w.harmony, w.rng
    beats = h.beats_per_bar
    hat = RIDE if rng.random() < 0.3 else CLOSED_HAT
    hat_step = float(rng.choice([0.5, 0.5, 0.25, 1.0]))
    if beats == 4:
        kicks, snares = ([0.0, 2.5] if rng.random() < 0.5 else [0.0, 2.0]), [1.0, 3.0]
    elif beats == 3:
        kicks, snares = [0.0], [1.0, 2.0]
    else:  # 2/4, 6/x: backbeat on the second half of the bar
        kicks, snares = [0.0], [beats / 2]
    for bar in range(n_bars):
        phrase_end = bar % w.dynamics.phrase_bars == w.dynamics.phrase_bars - 1
        if bar % w.dynamics.phrase_bars == 0:
            w.add(bar, 0, 2, [CRASH], gate=1.0)
        for k in range(int(beats / hat_step)):
            if phrase_end and k * hat_step >= beats - 1:
                break
            w.add(bar, k * hat_step, hat_step, [hat if k % 8 != 7 else OPEN_HAT], gate=1.0)
        for b in kicks:
            w.add(bar, b, 0.5, [KICK], gate=1.0)
        for b in snares:
            w.add(bar, b, 0.5, [SNARE], gate=1.0)
        if phrase_end:  # a fill over the last beat
            for k, tom in enumerate(TOMS):
                w.add(bar, beats - 1 + k * 0.25, 0.25, [tom], gate=1.0)


# ---------------------------------------------------------------------------------------------
# Ensembles


def assign_roles(rng: np.random.Generator, instruments: list[Instrument]) -> list[str]:
    """One role per instrument: one pitched instrument leads, the others accompany.

    Accompanying roles are drawn among what each instrument can play, avoiding duplicates while
    possible. Drums always play drums.
    """
    roles: list[str | None] = [("drums" if i.is_drum else None) for i in instruments]
    pitched = [k for k, i in enumerate(instruments) if not i.is_drum]
    if pitched:
        leaders = [k for k in pitched if "melody" in instruments[k].roles] or pitched
        lead = int(rng.choice(leaders))
        roles[lead] = "melody"
    taken = {r for r in roles if r}
    for k in pitched:
        if roles[k] is None:
            options = [r for r in instruments[k].roles if r != "melody" and r not in taken]
            options = options or [r for r in instruments[k].roles if r != "melody"] or ["melody"]
            roles[k] = str(rng.choice(options))
            taken.add(roles[k])
    return [str(r) for r in roles]


def compose(rng: np.random.Generator, instruments: list[Instrument], seconds: float) -> Piece:
    """A procedural ensemble piece for ``instruments`` lasting ``seconds``."""
    # Tempo is drawn inside make_harmony; draw enough bars for the slowest tempo and 3/4.
    n_bars = int(math.ceil(seconds / (3 * 60.0 / 144))) + 1
    harmony = make_harmony(rng, n_bars)
    n_bars = int(math.ceil(seconds / harmony.bar_seconds)) + 1
    roles = assign_roles(rng, instruments)
    density = float(rng.uniform(0.3, 0.85))
    parts = []
    for inst, role in zip(instruments, roles):
        writer = PartWriter(harmony, rng, Dynamics.draw(rng))
        if role == "melody":
            write_melody(writer, inst, n_bars, density)
        elif role == "counter":
            write_counter(writer, inst, n_bars)
        elif role == "bass":
            write_bass(writer, inst, n_bars)
        elif role == "chords":
            write_chords(writer, inst, n_bars)
        elif role == "arpeggio":
            write_arpeggio(writer, inst, n_bars)
        else:
            write_drums(writer, n_bars)
        parts.append(writer.finish(seconds))
    names = "C C# D Eb E F F# G Ab A Bb B".split()
    mode = "major" if harmony.scale == MAJOR else "minor"
    return Piece(
        parts=tuple(parts), roles=tuple(roles), tempo_bpm=round(60.0 / harmony.beat_seconds, 2),
        beats_per_bar=harmony.beats_per_bar, title=f"procedural in {names[harmony.tonic]} {mode}",
        source="procedural", key=f"{names[harmony.tonic]} {mode}",
    )


def drum_part(rng: np.random.Generator, tempo_bpm: float, beats_per_bar: int,
              seconds: float) -> tuple[Note, ...]:
    """A drum groove at a given tempo and metre (accompanies score pieces)."""
    n_bars = int(math.ceil(seconds * tempo_bpm / 60.0 / beats_per_bar)) + 1
    harmony = Harmony(0, MAJOR, beats_per_bar, 60.0 / tempo_bpm, ((0, 4, 7),))
    writer = PartWriter(harmony, rng, Dynamics.draw(rng))
    write_drums(writer, n_bars)
    return writer.finish(seconds)
