"""Playing like people: per-note expression by instrument family, sent as real MIDI controls.

:func:`perform` takes a written part (:class:`crn_live.data.music.Note` in seconds) and returns
it as one player would play it on its instrument; :func:`render_performed` performs, renders and
adds breath or bow noise to the stem. Everything is drawn from the ``numpy.random.Generator``
passed in (same state, same performance); ``amount`` scales every deviation (1: as below,
0: the part unchanged, bit-identical). The model, by feature (parameters drawn once per part
unless said otherwise):

* **Families** (:func:`family`): ``bowed`` (Violin, Viola, Cello, Double bass, Erhu), ``wind``
  (Flute, Clarinet, Oboe, Bassoon, Saxophone, Harmonica, Bagpipes), ``brass`` (Trumpet,
  Trombone, Horn, Tuba), ``plucked`` (Banjo, Guitar, Harp, Electric bass, Ukulele, Guzheng,
  Pipa), ``keys`` (Piano, Accordion) and ``percussion`` (Drum, Congas, Xylophone). What each
  instrument does is its family's :class:`Traits` with a few per-instrument changes
  (:func:`traits`): no vibrato on Bagpipes, Accordion or the Erhu (whose ``glide`` style already
  bends every note), little on Clarinet, Horn and Tuba; glides on bowed strings, Trombone and
  Saxophone; bellows swells on the Accordion; Bagpipes always legato, without swells.
* **Articulation**, per phrase (notes between rests of 0.4 beat or more, at most 8 beats):
  *legato* (each note held to the next onset, plus 0-20 ms of overlap), *staccato* (notes
  shorter than 1.5 beats cut to 40-60 % of their length, at least 40 ms) or as written, with
  family probabilities, biased by ``role`` (melodies more legato, bass and chords more
  staccato). Percussion keeps its lengths.
* **Timing drift**: a smooth sum of three slow sinusoids (0.03-0.2 Hz), scaled so that its
  largest offset over the part is 6-25 ms, added to every onset and release (the drift at the
  release, so that tied notes stay tied; at least 30 ms are kept per note).
* **Detune**: a static offset of 3-12 cents, either sign, on every note of a pitched part (in
  its bend curve).
* **Glides**: a cosine scoop of 40-120 ms (at most 40 % of the note) from the previous pitch
  into a note that follows another one within 80 ms, a single onset, 1-7 semitones away; with
  the instrument's probability (bowed 25 %, Trombone and Saxophone 30 %). The previous note is
  held to the glide.
* **Vibrato**: on notes of at least ``delay + 0.2 s``, with the instrument's probability:
  peak depth 10-40 cents (family range, varied +-20 % per note), rate 4.5-7 Hz (+-5 % per note),
  starting 0.15-0.4 s after the onset and fading in over 0.2-0.4 s. Bend points every
  :data:`crn_live.data.music.BEND_STEP` (10 ms) where the pitch moves, one point otherwise.
* **Expression swells** (CC 11) on notes of 0.45 s or more of bowed, wind and brass
  instruments (and the Accordion): messa di voce (soft, swelling, fading), crescendo or
  diminuendo, between a ceiling of 115-127 and 20-50 below it; a point every 20 ms where the
  value changes. Shorter notes hold the ceiling.
* **Brightness** (CC 74, every pitched note): ``127 - 0.8 * (127 - velocity)``, so louder notes
  are brighter. FluidSynth's default velocity-to-filter modulator does not change our
  SoundFonts' timbre (measured on FluidR3 and TimGM6mb at 22050 Hz: the same spectral centroid
  at velocities 30 to 127 for violin, flute, piano, cello; only a few FluidR3 presets with
  velocity layers, e.g. trumpet and clarinet, brighten above velocity 90), so the
  renderer maps CC 74 to the filter cutoff (:func:`crn_live.data.render.add_brightness_modulator`,
  up to 7200 cents down at CC 74 = 0; a violin A4 at velocity 115 has a spectral centroid
  1.25 times that of one at velocity 40, the same centroid without CC 74).
* **Drums**: only timing drift and velocity humanisation (normal, sd 3-6, clipped to 1..127).
* **Breath and bow noise** (:func:`breath_noise`): band-passed noise (wind 1.2-5 kHz, brass
  0.6-3 kHz, bowed 2-7 kHz) following each note: an attack burst 18-22 dB below the note
  decaying in 30-60 ms to a sustained level 26-30 dB below it, which follows the expression
  curve. "The note" is the RMS of the rendered stem over the note.

The renderer gives every note of a performed part its own MIDI channel (see
:mod:`crn_live.data.render`); breath noise stays outside :class:`FluidRenderer.render`, added
by :func:`render_performed`, so it belongs to the instrument's stem.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import signal

from crn_live.data.music import BEND_RANGE, BEND_STEP, Note
from crn_live.instruments import INSTRUMENTS, Instrument

FAMILIES: dict[str, str] = {
    "Violin": "bowed", "Viola": "bowed", "Cello": "bowed", "Double bass": "bowed",
    "Erhu": "bowed",
    "Flute": "wind", "Clarinet": "wind", "Oboe": "wind", "Bassoon": "wind", "Saxophone": "wind",
    "Harmonica": "wind", "Bagpipes": "wind",
    "Trumpet": "brass", "Trombone": "brass", "Horn": "brass", "Tuba": "brass",
    "Banjo": "plucked", "Guitar": "plucked", "Harp": "plucked", "Electric bass": "plucked",
    "Ukulele": "plucked", "Guzheng": "plucked", "Pipa": "plucked",
    "Piano": "keys", "Accordion": "keys",
    "Drum": "percussion", "Congas": "percussion", "Xylophone": "percussion",
}
assert set(FAMILIES) == {i.name for i in INSTRUMENTS}


@dataclasses.dataclass(frozen=True)
class Traits:
    """What a player of one instrument does (probabilities per note or per phrase)."""

    vibrato: float = 0.0  # probability that a long enough note gets vibrato
    vibrato_cents: tuple[float, float] = (10.0, 40.0)  # peak depth range
    swell: bool = False  # CC 11 swells on long notes
    glide: float = 0.0  # probability of a scoop from a close previous note
    legato: float = 0.3  # probability of a legato phrase
    staccato: float = 0.2  # probability of a staccato phrase
    noise: bool = False  # breath / bow noise added to the stem


FAMILY_TRAITS: dict[str, Traits] = {
    "bowed": Traits(vibrato=0.9, vibrato_cents=(15.0, 40.0), swell=True, glide=0.25,
                    legato=0.5, staccato=0.2, noise=True),
    "wind": Traits(vibrato=0.7, vibrato_cents=(10.0, 30.0), swell=True, legato=0.5,
                   staccato=0.2, noise=True),
    "brass": Traits(vibrato=0.6, vibrato_cents=(10.0, 25.0), swell=True, legato=0.4,
                    staccato=0.25, noise=True),
    "plucked": Traits(legato=0.3, staccato=0.3),
    "keys": Traits(legato=0.4, staccato=0.25),
    "percussion": Traits(legato=0.0, staccato=0.0),
}

INSTRUMENT_TRAITS: dict[str, dict] = {
    "Erhu": {"vibrato": 0.0, "glide": 0.0},  # its ``glide`` style bends every note already
    "Double bass": {"vibrato": 0.6, "vibrato_cents": (10.0, 25.0), "glide": 0.15},
    "Clarinet": {"vibrato": 0.3, "vibrato_cents": (10.0, 18.0)},
    "Saxophone": {"vibrato": 0.8, "vibrato_cents": (15.0, 40.0), "glide": 0.3},
    "Bagpipes": {"vibrato": 0.0, "swell": False, "legato": 1.0, "staccato": 0.0, "noise": False},
    "Harmonica": {"vibrato": 0.5},
    "Trombone": {"glide": 0.3},
    "Horn": {"vibrato": 0.3, "vibrato_cents": (10.0, 18.0)},
    "Tuba": {"vibrato": 0.3, "vibrato_cents": (10.0, 18.0)},
    "Accordion": {"swell": True},  # the bellows
}

#: Role -> (legato, staccato) probability factors.
ROLE_BIAS: dict[str, tuple[float, float]] = {
    "melody": (1.3, 0.8), "counter": (1.2, 0.8), "bass": (0.8, 1.3), "chords": (0.6, 1.3),
    "arpeggio": (0.5, 1.0),
}

#: Noise band (Hz) by family, for :func:`breath_noise`.
NOISE_BANDS: dict[str, tuple[float, float]] = {
    "wind": (1200.0, 5000.0), "brass": (600.0, 3000.0), "bowed": (2000.0, 7000.0),
}

DRIFT_MAX = 0.025  # seconds, the largest timing drift
SWELL_MIN = 0.45  # seconds, the shortest note with a CC 11 swell
SWELL_STEP = 0.02  # seconds between CC 11 points
GLIDE_GAP = 0.08  # seconds, the longest gap a glide bridges
#: Loudness of a note of velocity 127 (RMS) for :func:`breath_noise` without a reference.
NOMINAL_RMS = 0.07


def family(inst: Instrument) -> str:
    """The family of an instrument class: bowed, wind, brass, plucked, keys or percussion."""
    try:
        return FAMILIES[inst.name]
    except KeyError:
        raise ValueError(f"no family for instrument {inst.name!r}") from None


def traits(inst: Instrument) -> Traits:
    """What a player of ``inst`` does: its family's traits with the instrument's own changes."""
    return dataclasses.replace(FAMILY_TRAITS[family(inst)], **INSTRUMENT_TRAITS.get(inst.name, {}))


# ---------------------------------------------------------------------------------------------
# The performance


def perform(rng: np.random.Generator, part: tuple[Note, ...], inst: Instrument,
            tempo_bpm: float | None = None, amount: float = 1.0,
            role: str | None = None) -> tuple[Note, ...]:
    """``part`` as a player of ``inst`` plays it (see the module docstring for the model).

    ``tempo_bpm`` sets the beat that phrases and staccato are measured in (0.5 s without one);
    ``role`` (melody, counter, bass, chords, arpeggio) biases the articulation. Returns the notes
    sorted by onset and pitch; ``amount <= 0`` returns ``part`` itself.
    """
    if amount <= 0 or not part:
        return part
    beat = 60.0 / tempo_bpm if tempo_bpm else 0.5
    notes = sorted(part, key=lambda n: (n.start, n.pitch))
    drift = timing_drift(rng, max(n.end for n in notes) + 1.0, amount)
    if inst.is_drum:
        spread = float(rng.uniform(3.0, 6.0)) * amount
        out = []
        for n in notes:
            velocity = int(np.clip(round(n.velocity + rng.normal(0.0, spread)), 1, 127))
            out.append(_shift(n, drift, velocity=velocity))
        return tuple(sorted(out, key=lambda n: (n.start, n.pitch)))

    t = traits(inst)
    detune = amount * float(rng.choice([-1.0, 1.0])) * float(rng.uniform(3.0, 12.0)) / 100.0
    notes = articulate(rng, notes, t, beat, amount, role)
    notes = sorted((_shift(n, drift) for n in notes), key=lambda n: (n.start, n.pitch))
    scoops = _glides(rng, notes, t, amount)
    for k, (prev, _) in scoops.items():  # a glide joins the previous note to this one
        if notes[prev].end < notes[k].start:
            notes[prev] = dataclasses.replace(notes[prev], end=notes[k].start)

    vibrato = _VibratoStyle.draw(rng, t, amount)
    swell = _SwellStyle.draw(rng, amount) if t.swell else None
    out = []
    for k, n in enumerate(notes):
        offset = scoops[k][1] if k in scoops else None
        glide_s = 0.0
        if offset is not None:
            glide_s = min(float(rng.uniform(0.04, 0.12)), 0.4 * (n.end - n.start))
        bend = _bend_curve(rng, n, detune, offset, glide_s, vibrato)
        expression = swell.curve(rng, n) if swell is not None else ()
        brightness = int(round(127 - amount * 0.8 * (127 - n.velocity)))
        out.append(dataclasses.replace(n, bend=bend, expression=expression,
                                       brightness=int(np.clip(brightness, 0, 127))))
    return tuple(out)


def timing_drift(rng: np.random.Generator, seconds: float, amount: float = 1.0):
    """A smooth timing offset ``f(t)`` (seconds) over ``[0, seconds]``: three slow sinusoids
    (0.05-0.4 Hz) scaled so that the largest offset is ``amount`` x 6-25 ms (at most 25 ms)."""
    freqs = rng.uniform(0.03, 0.2, 3)
    phases = rng.uniform(0.0, 2 * math.pi, 3)
    weights = rng.uniform(0.3, 1.0, 3)
    peak = min(DRIFT_MAX, amount * float(rng.uniform(0.006, DRIFT_MAX)))
    grid = np.arange(0.0, seconds + 0.05, 0.01)
    curve = (weights[:, None] * np.sin(2 * math.pi * freqs[:, None] * grid + phases[:, None])
             ).sum(axis=0)
    curve *= peak / max(float(np.max(np.abs(curve))), 1e-9)
    return lambda t: float(np.interp(t, grid, curve))


def articulate(rng: np.random.Generator, notes: list[Note], t: Traits, beat: float,
               amount: float = 1.0, role: str | None = None) -> list[Note]:
    """Legato, staccato or as written, drawn per phrase (see the module docstring)."""
    if not notes or (t.legato == 0 and t.staccato == 0):
        return list(notes)
    bias_legato, bias_staccato = ROLE_BIAS.get(role or "", (1.0, 1.0))
    p_legato = min(1.0, t.legato * bias_legato) * amount
    p_staccato = min(1.0 - p_legato, t.staccato * bias_staccato * amount)
    out: list[Note] = []
    for phrase in _phrases(notes, beat):
        draw = float(rng.random())
        factor = float(rng.uniform(0.4, 0.6))
        onsets = sorted({n.start for n in phrase})
        for n in phrase:
            if draw < p_legato:
                later = [s for s in onsets if s > n.start]
                if later:
                    overlap = float(rng.uniform(0.0, 0.02)) * amount
                    n = dataclasses.replace(n, end=round(max(n.end, later[0] + overlap), 5))
            elif draw < p_legato + p_staccato and n.end - n.start < 1.5 * beat:
                keep = 1.0 - amount * (1.0 - factor)
                length = max(0.04, (n.end - n.start) * keep)
                n = dataclasses.replace(n, end=round(n.start + length, 5))
            out.append(n)
    return out


def _phrases(notes: list[Note], beat: float) -> list[list[Note]]:
    """Notes (sorted by onset) split at rests of 0.4 beat or more and every 8 beats."""
    phrases: list[list[Note]] = []
    last_end = -math.inf
    for n in notes:
        if not phrases or n.start > last_end + 0.4 * beat or (
                n.start - phrases[-1][0].start >= 8 * beat and n.start > phrases[-1][-1].start):
            phrases.append([])
            last_end = -math.inf
        phrases[-1].append(n)
        last_end = max(last_end, n.end)
    return phrases


def _shift(n: Note, drift, velocity: int | None = None) -> Note:
    """``n`` moved by the drift at its onset and its release (its curves moved with the onset)."""
    start = max(0.0, n.start + drift(n.start))
    end = max(start + 0.03, n.end + drift(n.end))
    moved = start - n.start
    return dataclasses.replace(
        n, start=round(start, 5), end=round(end, 5),
        velocity=n.velocity if velocity is None else velocity,
        bend=tuple((round(w + moved, 5), v) for w, v in n.bend),
        expression=tuple((round(w + moved, 5), v) for w, v in n.expression))


def _glides(rng: np.random.Generator, notes: list[Note], t: Traits,
            amount: float) -> dict[int, tuple[int, float]]:
    """Note index -> (previous note index, bend offset in semitones) of the notes that glide."""
    out: dict[int, tuple[int, float]] = {}
    if t.glide <= 0:
        return out
    for k in range(1, len(notes)):  # notes are sorted by onset and pitch
        n = notes[k]
        if notes[k - 1].start == n.start or (k + 1 < len(notes) and notes[k + 1].start == n.start):
            continue  # a chord: no glide
        prev = k - 1  # the top note of the previous onset
        interval = notes[prev].pitch - n.pitch
        close = n.start - notes[prev].end < GLIDE_GAP
        if close and 1 <= abs(interval) <= 7 and rng.random() < t.glide * amount:
            out[k] = (prev, float(np.clip(interval, -BEND_RANGE, BEND_RANGE)))
    return out


@dataclasses.dataclass(frozen=True)
class _VibratoStyle:
    """A player's vibrato: probability per note, base depth (semitones) and rate (Hz)."""

    chance: float
    depth: float
    rate: float

    @staticmethod
    def draw(rng: np.random.Generator, t: Traits, amount: float) -> "_VibratoStyle":
        depth = float(rng.uniform(*t.vibrato_cents)) / 100.0 * amount
        return _VibratoStyle(t.vibrato, depth, float(rng.uniform(4.5, 7.0)))


def _bend_curve(rng: np.random.Generator, n: Note, detune: float, glide: float | None,
                glide_s: float, vibrato: _VibratoStyle) -> tuple[tuple[float, float], ...]:
    """The note's bend: its own curve (if any) plus detune, glide and vibrato."""
    duration = n.end - n.start
    delay = float(rng.uniform(0.15, 0.4))
    fade = float(rng.uniform(0.2, 0.4))
    depth = vibrato.depth * float(rng.uniform(0.8, 1.2))
    rate = float(np.clip(vibrato.rate * rng.uniform(0.95, 1.05), 4.5, 7.0))
    phase = float(rng.uniform(0, 2 * math.pi))
    vibrates = (vibrato.chance > 0 and depth > 0 and duration >= delay + 0.2
                and rng.random() < vibrato.chance)
    if n.bend:  # a written curve (the Erhu's glide style): detune it only
        return tuple((w, round(v + detune, 4)) for w, v in n.bend)
    times = [0.0]
    if glide is not None and glide_s > 0:
        times += list(np.arange(BEND_STEP, glide_s, BEND_STEP)) + [glide_s]
    if vibrates:
        times += list(np.arange(delay, duration, BEND_STEP))
    points = []
    for dt in times:
        value = detune
        if glide is not None and dt < glide_s:
            value += glide * 0.5 * (1 + math.cos(math.pi * dt / glide_s))
        if vibrates and dt >= delay:
            swell = min(1.0, (dt - delay) / fade)
            value += swell * depth * math.sin(2 * math.pi * rate * (dt - delay) + phase)
        points.append((round(n.start + float(dt), 5), round(float(value), 4)))
    return tuple(points)


@dataclasses.dataclass(frozen=True)
class _SwellStyle:
    """A player's swells: ceiling (CC 11) and the depth range under it."""

    ceiling: float
    depth: float

    @staticmethod
    def draw(rng: np.random.Generator, amount: float) -> "_SwellStyle":
        ceiling = 127.0 - amount * float(rng.uniform(0.0, 12.0))
        return _SwellStyle(ceiling, amount * float(rng.uniform(20.0, 50.0)))

    def curve(self, rng: np.random.Generator, n: Note) -> tuple[tuple[float, int], ...]:
        """CC 11 points of one note: a swell on long notes, the ceiling on short ones."""
        shape = rng.choice(["messa", "messa", "crescendo", "diminuendo"])
        depth = self.depth * float(rng.uniform(0.7, 1.0))
        duration = n.end - n.start
        if duration < SWELL_MIN:
            return ((n.start, int(round(self.ceiling))),)
        points: list[tuple[float, int]] = []
        for dt in np.arange(0.0, duration, SWELL_STEP):
            u = float(dt) / duration
            if shape == "messa":
                level = math.sin(math.pi * u) ** 1.5
            elif shape == "crescendo":
                level = u * u * (3 - 2 * u)
            else:
                level = 1.0 - u * u * (3 - 2 * u)
            value = int(round(self.ceiling - depth * (1.0 - level)))
            if not points or value != points[-1][1]:
                points.append((round(n.start + float(dt), 5), value))
        return tuple(points)


# ---------------------------------------------------------------------------------------------
# Breath and bow noise, rendering


def breath_noise(rng: np.random.Generator, notes: tuple[Note, ...], family: str,
                 sample_rate: int, n_samples: int,
                 reference: np.ndarray | None = None) -> np.ndarray:
    """Breath (wind, brass) or bow (bowed) noise for ``notes``: float32 ``(n_samples,)``.

    Band-passed noise (:data:`NOISE_BANDS`) under an envelope per note: an attack burst 18-22
    dB below the note decaying in 30-60 ms to 26-30 dB below it, the sustained part scaled by
    the note's expression curve (CC 11 / 127, squared), faded in over 5 ms and out over 20 ms.
    "The note" is the RMS of ``reference`` (the rendered stem) over the note, or
    :data:`NOMINAL_RMS` x velocity / 127 without one. Overlapping notes take the louder
    envelope. Zeros for other families.
    """
    out = np.zeros(n_samples, np.float32)
    if family not in NOISE_BANDS or not notes or n_samples == 0:
        return out
    low, high = NOISE_BANDS[family]
    high = min(high, 0.45 * sample_rate)
    sustain = 10 ** (float(rng.uniform(-30.0, -26.0)) / 20)
    burst = 10 ** (float(rng.uniform(-22.0, -18.0)) / 20)
    tau = float(rng.uniform(0.03, 0.06))
    sos = signal.butter(2, (low, high), "bandpass", fs=sample_rate, output="sos")
    noise = signal.sosfilt(sos, rng.standard_normal(n_samples))
    noise /= max(float(np.sqrt(np.mean(noise ** 2))), 1e-12)
    envelope = np.zeros(n_samples)
    for n in notes:
        s, e = int(round(n.start * sample_rate)), min(int(round(n.end * sample_rate)), n_samples)
        if e <= s:
            continue
        if reference is not None:
            level = float(np.sqrt(np.mean(np.square(reference[s:e], dtype=np.float64))))
        else:
            level = NOMINAL_RMS * n.velocity / 127
        t = np.arange(e - s) / sample_rate
        held = np.full(len(t), sustain)
        if n.expression:  # the sustained noise swells with the note, the attack does not
            times = np.array([w for w, _ in n.expression]) - n.start
            values = np.array([v for _, v in n.expression], float) / 127
            held *= np.interp(t, times, values) ** 2
        env = held + (burst - sustain) * np.exp(-t / tau)
        env *= np.clip(t / 0.005, 0, 1) * np.clip((t[-1] - t) / 0.02, 0, 1)
        envelope[s:e] = np.maximum(envelope[s:e], level * env)
    return (noise * envelope).astype(np.float32)


def render_performed(renderer, rng: np.random.Generator, part: tuple[Note, ...],
                     inst: Instrument, program: int, n_samples: int,
                     tempo_bpm: float | None = None, amount: float = 1.0,
                     role: str | None = None) -> tuple[tuple[Note, ...], np.ndarray]:
    """Perform ``part`` on ``inst``, render it with ``renderer`` (a
    :class:`crn_live.data.render.FluidRenderer`) and add its breath / bow noise: the performed
    notes and the stem. ``amount = 0``: the part and exactly ``renderer.render`` of it."""
    notes = perform(rng, part, inst, tempo_bpm, amount, role)
    audio = renderer.render(notes, program, inst.is_drum, n_samples)
    if amount > 0 and traits(inst).noise and not inst.is_drum:
        audio = audio + amount * breath_noise(rng, notes, family(inst), renderer.sample_rate,
                                              n_samples, reference=audio)
    return notes, audio.astype(np.float32)
