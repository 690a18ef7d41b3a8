"""Procedural ensemble music: key, metre, tempo, chord progressions and parts with real rhythm.

A :class:`Piece` is a list of parts, each a list of :class:`Note` in seconds. Parts play roles
(melody, counter-melody, bass, chords, arpeggio, drums) in one harmony, so that instruments overlap
in time and pitch as in a real ensemble: the hard case for separation. Dynamics follow phrases
(swell and fade), downbeats are accented, timing is humanised, and phrases end with rests.
Everything is drawn from the ``numpy.random.Generator`` passed in: same generator state, same piece.

Instruments with a ``style`` (:mod:`crn_live.instruments`) get their playing written here too:
``strum`` (Ukulele: short re-entrant chords, strings a few ms apart), ``drone`` (Bagpipes: tonic
and fifth sustained under the chanter, in the same part), ``tremolo`` (Pipa: long notes
re-plucked at 12-16 strokes/s), ``glissando`` (Guzheng: pentatonic grace sweeps into phrase notes)
and ``glide`` (Erhu: portamento and a wide, slow vibrato as a pitch-bend curve on each note,
:attr:`Note.bend`, which the renderer sends as pitch-bend events). ``Congas`` play a tumbao on
their own three keys instead of the kit groove. Classes without a style draw exactly what they
drew before.
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

#: Pitch-bend range (semitones) the renderer sets (RPN 0) for parts with bend curves; glides
#: are clipped to it. An octave, so that a slide can span a melodic leap.
BEND_RANGE = 12
#: Seconds between the points of a bend curve (vibrato and glides are sampled at 100 Hz).
BEND_STEP = 0.01

# Drum kit keys (GM percussion map).
KICK, SNARE, CLOSED_HAT, OPEN_HAT, CRASH, RIDE = 36, 38, 42, 46, 49, 51
TOMS = (50, 47, 45, 43)


@dataclasses.dataclass(frozen=True)
class Note:
    """One note: onset and release in seconds, MIDI pitch, MIDI velocity (1..127).

    ``bend``: an optional pitch-bend curve, ``(time in seconds, offset in semitones)`` points
    from the onset to the release (times absolute, like ``start``); the renderer sends it on the
    part's channel, so it is meant for monophonic lines. Empty for plain notes.

    ``expression`` and ``brightness`` carry a performance (:mod:`crn_live.data.expression`):
    an expression curve, ``(time in seconds, CC 11 value 0..127)`` points over the note, and a
    CC 74 brightness value (0..127) sent at the onset. A part with either on any note is
    rendered one note per MIDI channel, so that each note's bend, expression and brightness are
    its own. Empty / ``None`` for plain notes, which render exactly as before.
    """

    start: float
    end: float
    pitch: int
    velocity: int
    bend: tuple[tuple[float, float], ...] = ()
    expression: tuple[tuple[float, int], ...] = ()
    brightness: int | None = None

    @property
    def performed(self) -> bool:
        """Whether the note carries a per-note performance (expression curve or brightness)."""
        return bool(self.expression) or self.brightness is not None


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


def write_strum(w: PartWriter, inst: Instrument, n_bars: int) -> None:
    """Short strummed chords on re-entrant strings (Ukulele ``G4 C4 E4 A4``).

    Each string takes the lowest chord tone at most 7 frets above it; a down strum sounds the
    strings G C E A a few milliseconds apart, an up strum the other way; chords ring briefly.
    """
    h, rng = w.harmony, w.rng
    strings = (67, 60, 64, 69)
    patterns = [[(0, "d"), (1, "d"), (1.5, "u"), (2.5, "u"), (3, "d"), (3.5, "u")],
                [(0, "d"), (1, "d"), (2, "d"), (3, "d")],
                [(0, "d"), (0.5, "u"), (1.5, "u"), (2, "d"), (2.5, "u"), (3.5, "u")],
                [(0, "d"), (1, "d"), (1.5, "u"), (2, "d"), (3, "d"), (3.5, "u")]]
    pattern = patterns[int(rng.integers(len(patterns)))]
    spread = float(rng.uniform(0.008, 0.016))
    gate = float(rng.uniform(0.25, 0.45))
    for bar in range(n_bars):
        pcs = set(h.chords[bar % len(h.chords)])
        voicing = [next(p for p in range(s, s + 8) if p % 12 in pcs) for s in strings]
        voicing = [int(np.clip(p, inst.low, inst.high)) for p in voicing]
        for beat, direction in pattern:
            if beat >= h.beats_per_bar:
                continue
            order = voicing if direction == "d" else voicing[::-1]
            velocity = w.dynamics.velocity(rng, beat, bar, h.beats_per_bar)
            if direction == "u":
                velocity = max(20, velocity - 10)
            for k, pitch in enumerate(order):
                if k and pitch in order[:k]:
                    continue  # the same pitch on two strings: one note
                w.add(bar, beat + k * spread / h.beat_seconds, 0.5, [pitch], gate=gate,
                      velocity=velocity)


def drone_pitches(inst: Instrument, tonic: int) -> tuple[int, int]:
    """The drone under a chanter: the key's tonic and fifth at the bottom of the register."""
    root = next(p for p in range(inst.low, inst.low + 12) if p % 12 == tonic % 12)
    return (root, root + 7) if root + 7 < inst.low + 12 else (root - 5, root)


def write_drone(w: PartWriter, inst: Instrument, seconds: float) -> None:
    """Tonic and fifth sustained for the whole piece, softer than the chanter."""
    velocity = int(np.clip(w.dynamics.base - 12, 30, 100))
    for pitch in drone_pitches(inst, w.harmony.tonic):
        w.notes.append(Note(0.0, round(seconds, 5), pitch, velocity))


def write_congas(w: PartWriter, inst: Instrument, n_bars: int) -> None:
    """A tumbao on the congas' own keys (mute, open, low: ``inst.drum_notes``).

    Heel-toe touches (soft mutes) on the beats and off-beats, a slap (loud mute) on beat 2, two
    open tones on the last beat, the low conga answering; a run of open tones ends each phrase.
    """
    h, rng = w.harmony, w.rng
    mute, open_, low = inst.drum_notes
    beats = h.beats_per_bar
    two_drum = rng.random() < 0.6
    extra_low = rng.random() < 0.4
    pattern: list[tuple[float, int, float]] = []
    for k in range(beats * 2):
        beat = k / 2
        if beat >= beats - 1:
            key = open_ if (beat == beats - 1 or not two_drum) else low
            pattern.append((beat, key, 0.9))
        elif beat == 1.0:
            pattern.append((beat, mute, 1.0))  # the slap
        elif extra_low and beats >= 4 and beat == beats - 1.5:
            pattern.append((beat, low, 0.8))
        else:
            pattern.append((beat, mute, 0.4 if k % 2 == 0 else 0.3))
    for bar in range(n_bars):
        phrase_end = bar % w.dynamics.phrase_bars == w.dynamics.phrase_bars - 1
        for beat, key, scale in pattern:
            if phrase_end and beat >= beats - 1:
                continue
            v = w.dynamics.velocity(rng, beat, bar, beats)
            w.add(bar, beat, 0.5, [key], gate=0.9, velocity=int(np.clip(v * scale + 20, 20, 127)))
        if phrase_end:  # a fill: open, open, low, low in sixteenths
            for k, key in enumerate((open_, open_, low, low)):
                w.add(bar, beats - 1 + k * 0.25, 0.25, [key], gate=0.9)


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
        write_part(writer, inst, role, n_bars, density, seconds)
        part = writer.finish(seconds)
        if inst.style in ("glide", "glissando", "tremolo"):
            part = stylise(rng, inst, part, harmony.tonic, harmony.scale, seconds)
        parts.append(part)
    names = "C C# D Eb E F F# G Ab A Bb B".split()
    mode = "major" if harmony.scale == MAJOR else "minor"
    return Piece(
        parts=tuple(parts), roles=tuple(roles), tempo_bpm=round(60.0 / harmony.beat_seconds, 2),
        beats_per_bar=harmony.beats_per_bar, title=f"procedural in {names[harmony.tonic]} {mode}",
        source="procedural", key=f"{names[harmony.tonic]} {mode}",
    )


def write_part(w: PartWriter, inst: Instrument, role: str, n_bars: int, density: float,
               seconds: float) -> None:
    """The notes of one part playing ``role`` (the instrument's style where it shapes them)."""
    if role == "melody":
        if inst.style == "drone":  # the chanter above its drone
            chanter = dataclasses.replace(inst, low=max(drone_pitches(inst, w.harmony.tonic)) - 2)
            write_melody(w, chanter, n_bars, density)
            write_drone(w, inst, seconds)
        else:
            write_melody(w, inst, n_bars, density)
    elif role == "counter":
        write_counter(w, inst, n_bars)
    elif role == "bass":
        write_bass(w, inst, n_bars)
    elif role == "chords":
        if inst.style == "strum":
            write_strum(w, inst, n_bars)
        else:
            write_chords(w, inst, n_bars)
    elif role == "arpeggio":
        write_arpeggio(w, inst, n_bars)
    elif inst.drum_notes:
        write_congas(w, inst, n_bars)
    else:
        write_drums(w, n_bars)


def drum_part(rng: np.random.Generator, tempo_bpm: float, beats_per_bar: int,
              seconds: float, inst: Instrument | None = None) -> tuple[Note, ...]:
    """A drum part at a given tempo and metre (accompanies score pieces): the kit groove, or
    the pattern of ``inst`` when it is a drum class with its own keys (Congas)."""
    n_bars = int(math.ceil(seconds * tempo_bpm / 60.0 / beats_per_bar)) + 1
    harmony = Harmony(0, MAJOR, beats_per_bar, 60.0 / tempo_bpm, ((0, 4, 7),))
    writer = PartWriter(harmony, rng, Dynamics.draw(rng))
    if inst is not None and inst.drum_notes:
        write_congas(writer, inst, n_bars)
    else:
        write_drums(writer, n_bars)
    return writer.finish(seconds)


# ---------------------------------------------------------------------------------------------
# Styles applied to a written part (procedural or from a score)


def stylise(rng: np.random.Generator, inst: Instrument, part: tuple[Note, ...], tonic: int,
            scale: tuple[int, ...], seconds: float) -> tuple[Note, ...]:
    """``part`` played in ``inst``'s style: glide, glissando or tremolo (others unchanged)."""
    if inst.style == "glide":
        out = glide(rng, part)
    elif inst.style == "glissando":
        out = glissando(rng, inst, part, tonic, scale)
    elif inst.style == "tremolo":
        out = tremolo(rng, part)
    else:
        return part
    kept = [dataclasses.replace(n, end=min(n.end, seconds)) for n in out if n.start < seconds - 0.02]
    return tuple(sorted(kept, key=lambda n: (n.start, n.pitch)))


def monophonic(part: tuple[Note, ...]) -> list[Note]:
    """The top line of a part: the highest note of each onset, each cut at the next onset."""
    by_start: dict[float, Note] = {}
    for n in part:
        if n.start not in by_start or n.pitch > by_start[n.start].pitch:
            by_start[n.start] = n
    line = [by_start[t] for t in sorted(by_start)]
    out = []
    for k, n in enumerate(line):
        end = min(n.end, line[k + 1].start) if k + 1 < len(line) else n.end
        if end - n.start >= 0.03:
            out.append(dataclasses.replace(n, end=end))
    return out


def glide(rng: np.random.Generator, part: tuple[Note, ...]) -> list[Note]:
    """Erhu playing: a monophonic line whose close notes are joined by portamento slides (the
    next note starts at the previous pitch and slides to its own), with a wide, slow vibrato
    (4-6 Hz, +-0.3-0.5 semitone; slides of 0.1-0.2 s) swelling in on held notes. All as :attr:`Note.bend` curves."""
    line = monophonic(part)
    rate = float(rng.uniform(4.0, 6.0))
    depth = float(rng.uniform(0.3, 0.5))
    slide = float(rng.uniform(0.1, 0.2))
    out: list[Note] = []
    for k, n in enumerate(line):
        prev = out[-1] if out else None
        offset = 0.0
        if prev is not None and n.start - prev.end < 0.15 and prev.pitch != n.pitch and (
                rng.random() < 0.8):
            offset = float(np.clip(prev.pitch - n.pitch, -BEND_RANGE, BEND_RANGE))
            out[-1] = dataclasses.replace(prev, end=n.start)  # legato into the slide
        duration = n.end - n.start
        length = min(slide, 0.45 * duration)
        phase = float(rng.uniform(0, 2 * math.pi))
        points = []
        for t in np.arange(0.0, duration, BEND_STEP):
            value = offset * 0.5 * (1 + math.cos(math.pi * t / length)) if (
                offset and t < length) else 0.0
            swell = float(np.clip((t - 0.15) / 0.25, 0.0, 1.0))
            value += swell * depth * math.sin(2 * math.pi * rate * t + phase)
            points.append((round(n.start + float(t), 5), round(value, 4)))
        out.append(dataclasses.replace(n, bend=tuple(points)))
    return out


def pentatonic(tonic: int, scale: tuple[int, ...]) -> tuple[int, ...]:
    """The key's pentatonic pitch classes (major: 1 2 3 5 6; minor: 1 b3 4 5 b7)."""
    degrees = (0, 2, 4, 7, 9) if tuple(scale) == MAJOR else (0, 3, 5, 7, 10)
    return tuple((tonic + d) % 12 for d in degrees)


def glissando(rng: np.random.Generator, inst: Instrument, part: tuple[Note, ...], tonic: int,
              scale: tuple[int, ...]) -> list[Note]:
    """Guzheng playing: a quick pentatonic sweep (3-5 grace notes, 25-45 ms each, up or down)
    into some phrase notes: those after a rest or on a long note, about half of them."""
    notes = sorted(part, key=lambda n: (n.start, n.pitch))
    pcs = set(pentatonic(tonic, scale))
    starts = sorted({n.start for n in notes})
    out = list(notes)
    last_sweep_end = -1.0
    for k, t in enumerate(starts):
        chord = [n for n in notes if n.start == t]
        target = max(chord, key=lambda n: n.pitch)
        previous_end = max((n.end for n in notes if n.start < t), default=-1.0)
        phrase_note = previous_end < t - 0.05 or target.end - target.start > 0.4
        if not phrase_note or rng.random() > 0.5:
            continue
        count = int(rng.integers(3, 6))
        step = float(rng.uniform(0.025, 0.045))
        begin = t - count * step
        if begin < max(0.0, last_sweep_end) or (k and starts[k - 1] > begin - 0.03):
            continue
        upward = rng.random() < 0.75
        pool = [p for p in range(inst.low, inst.high + 1) if p % 12 in pcs]
        grace = ([p for p in pool if p < target.pitch][-count:] if upward
                 else [p for p in pool if p > target.pitch][:count][::-1])
        if len(grace) < 3:
            continue
        begin = t - len(grace) * step
        out = [dataclasses.replace(n, end=max(n.start + 0.03, min(n.end, begin)))
               if n.start < begin < n.end else n for n in out]
        for j, p in enumerate(grace):
            velocity = int(np.clip(target.velocity * (0.55 + 0.1 * j), 20, 127))
            out.append(Note(round(begin + j * step, 5), round(begin + (j + 1) * step, 5), p,
                            velocity))
        last_sweep_end = t
    return out


def tremolo(rng: np.random.Generator, part: tuple[Note, ...]) -> list[Note]:
    """Pipa playing (lunzhi): notes of 0.3 s or more re-plucked at 12-16 strokes per second,
    each stroke stopped just before the next, the first one accented."""
    rate = float(rng.uniform(12.0, 16.0))
    out: list[Note] = []
    for n in part:
        if n.end - n.start < 0.3:
            out.append(n)
            continue
        period = 1.0 / rate
        count = max(1, int((n.end - n.start) / period))
        for k in range(count):
            start = n.start + k * period
            end = n.end if k == count - 1 else start + 0.92 * period
            velocity = n.velocity if k == 0 else int(np.clip(
                0.82 * n.velocity + rng.normal(0, 3), 20, 127))
            out.append(Note(round(start, 5), round(end, 5), n.pitch, velocity))
    return out
