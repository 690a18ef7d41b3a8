"""Playing like people (:mod:`crn_live.data.expression`): every feature of a performance is in the
notes and MIDI events (vibrato, swells, glides, articulation, detune, drift, brightness) and,
where it can be measured, in FluidSynth's audio (FluidR3 at 22050 Hz); drums only drift and vary
their velocities; the same seed gives the same notes and samples, ``amount = 0`` the part itself."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from crn_live.data import expression as ex
from crn_live.data import music
from crn_live.data.music import Note
from crn_live.data.render import (BEND, BRIGHTNESS_CC, CONTROL, EXPRESSION_CC, MELODIC_CHANNELS,
                                  NOTE_ON, PERCUSSION_CHANNEL, FluidRenderer, bend_value,
                                  channel_events)
from crn_live.instruments import BY_NAME, INSTRUMENTS

RATE = 22050
FLUIDR3 = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")


@pytest.fixture(scope="module")
def renderer() -> FluidRenderer:
    if not FLUIDR3.is_file():
        pytest.skip("FluidR3_GM.sf2 is not installed")
    return FluidRenderer(FLUIDR3, RATE)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def _f0(frame: np.ndarray, hz: float) -> float:
    """Autocorrelation pitch of a frame within a fifth of ``hz``, with parabolic refinement."""
    x = frame - frame.mean()
    ac = np.correlate(x, x, "full")[len(x) - 1:]
    a, b = int(RATE / (hz * 1.3)), int(RATE / (hz / 1.3)) + 1
    lag = a + int(np.argmax(ac[a:b]))
    y0, y1, y2 = ac[lag - 1], ac[lag], ac[lag + 1]
    return RATE / (lag + 0.5 * (y0 - y2) / (y0 - 2 * y1 + y2))


def _cents_track(audio: np.ndarray, times: np.ndarray, hz: float) -> np.ndarray:
    """Pitch in cents re ``hz`` of 1024-sample frames centred on ``times``."""
    return np.array([1200 * np.log2(_f0(audio[int(t * RATE) - 512:int(t * RATE) + 512], hz) / hz)
                     for t in times])


def _centroid(x: np.ndarray) -> float:
    power = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    return float((power * np.fft.rfftfreq(len(x), 1 / RATE)).sum() / power.sum())


def _line(pitches, start=0.1, step=0.5, gate=0.9, velocity=90) -> tuple[Note, ...]:
    return tuple(Note(round(start + k * step, 5), round(start + k * step + gate * step, 5), p,
                      velocity) for k, p in enumerate(pitches))


def _curve(points) -> tuple[np.ndarray, np.ndarray]:
    return np.array([t for t, _ in points]), np.array([v for _, v in points], float)


# ---------------------------------------------------------------------------------------------
# Families, identity, determinism


def test_every_class_has_a_family() -> None:
    assert {i.name for i in INSTRUMENTS} <= set(ex.FAMILIES)
    families = {ex.family(i) for i in INSTRUMENTS}
    assert families == {"bowed", "wind", "brass", "plucked", "keys", "percussion"}
    assert [ex.family(BY_NAME[n]) for n in ("Violin", "Erhu", "Oboe", "Tuba", "Pipa", "Piano",
                                            "Congas")] == [
        "bowed", "bowed", "wind", "brass", "plucked", "keys", "percussion"]
    assert ex.traits(BY_NAME["Violin"]).vibrato > 0 and ex.traits(BY_NAME["Guitar"]).vibrato == 0
    assert ex.traits(BY_NAME["Erhu"]).glide == 0  # its glide style already slides
    with pytest.raises(ValueError, match="no family"):
        ex.family(dataclasses.replace(BY_NAME["Violin"], name="Theremin"))


def test_amount_zero_returns_the_part_and_its_exact_render(renderer) -> None:
    part = _line([60, 62, 64, 65], gate=0.8)
    assert ex.perform(np.random.default_rng(0), part, BY_NAME["Violin"], amount=0.0) is part
    notes, audio = ex.render_performed(renderer, np.random.default_rng(0), part,
                                       BY_NAME["Violin"], 40, RATE * 2, amount=0.0)
    assert notes is part
    assert np.array_equal(audio, renderer.render(part, 40, False, RATE * 2))


def test_same_seed_same_performance_and_audio(renderer) -> None:
    inst = BY_NAME["Flute"]
    piece = music.compose(np.random.default_rng(3), [inst], seconds=3.0)
    run = [ex.render_performed(renderer, np.random.default_rng(seed), piece.parts[0], inst, 73,
                               3 * RATE, piece.tempo_bpm, role=piece.roles[0])
           for seed in (7, 7, 8)]
    assert run[0][0] == run[1][0] and np.array_equal(run[0][1], run[1][1])
    assert run[0][0] != run[2][0] and not np.array_equal(run[0][1], run[2][1])
    assert all(n.performed for n in run[0][0]) and len(run[0][0]) == len(piece.parts[0])


# ---------------------------------------------------------------------------------------------
# Vibrato


def test_vibrato_is_a_delayed_bend_at_the_drawn_rate_and_sounds(renderer) -> None:
    note = (Note(0.1, 2.1, 69, 90),)
    n = ex.perform(np.random.default_rng(0), note, BY_NAME["Violin"])[0]
    times, values = _curve(n.bend)
    detune = values[0]  # the first point: the part's detune alone
    dev = values - detune
    assert len(n.bend) > 100 and np.all(np.diff(times)[1:] <= 0.0101)  # 10 ms points
    moving = times[np.abs(dev) > 0.002]
    assert 0.15 <= moving[0] - n.start <= 0.45  # delayed onset
    early, late = np.abs(dev[times < moving[0] + 0.1]), dev[times > n.start + 0.8]
    assert 0.10 <= np.abs(late).max() <= 0.48  # 10-40 cents (+-20 % per note)
    assert early.max() < 0.6 * np.abs(late).max()  # fading in
    crossings = np.sum(np.diff(np.sign(late)) != 0)
    rate = crossings / 2 / (times[-1] - (n.start + 0.8))
    assert 4.3 <= rate <= 7.2

    # In the audio: the performed note's pitch minus the same note with a flat bend (the
    # sample's own vibrato cancels) follows the bend curve, flat before the delay.
    flat = (dataclasses.replace(n, bend=((n.start, detune),)),)
    audio = renderer.render((n,), 40, False, int(2.3 * RATE))
    plain = renderer.render(flat, 40, False, int(2.3 * RATE))
    frames = np.arange(n.start + 0.06, n.end - 0.05, 0.01)
    diff = _cents_track(audio, frames, 440) - _cents_track(plain, frames, 440)
    expected = 100 * np.interp(frames, times, dev)
    assert np.abs(diff[frames < n.start + 0.14]).max() < 3.0
    late_frames = frames > n.start + 0.8
    assert np.corrcoef(diff[late_frames], expected[late_frames])[0, 1] > 0.9
    assert 0.7 < np.ptp(diff[late_frames]) / np.ptp(expected[late_frames]) < 1.3
    spectrum = np.abs(np.fft.rfft(diff[late_frames] * np.hanning(late_frames.sum()), 4096))
    assert abs(np.fft.rfftfreq(4096, 0.01)[np.argmax(spectrum)] - rate) < 0.4

    short = ex.perform(np.random.default_rng(0), (Note(0.1, 0.3, 69, 90),), BY_NAME["Violin"])
    assert len(short[0].bend) == 1  # too short for vibrato: the detune only
    piano = ex.perform(np.random.default_rng(0), note, BY_NAME["Piano"])
    assert len(piano[0].bend) == 1 and not piano[0].expression  # keys: no vibrato, no swell


# ---------------------------------------------------------------------------------------------
# Expression swells


def test_expression_swells_in_long_notes_and_the_rms_follows(renderer) -> None:
    part = (Note(0.1, 2.6, 72, 100), Note(2.7, 2.9, 74, 100))
    out = ex.perform(np.random.default_rng(4), part, BY_NAME["Flute"])
    long, short = out
    times, values = _curve(long.expression)
    assert len(values) > 10 and np.ptp(values) >= 14 and values.min() >= 0 and values.max() <= 127
    assert long.start <= times.min() and times.max() <= long.end
    assert len(short.expression) == 1  # a short note holds the ceiling
    events, _ = channel_events(out, RATE)
    cc11 = [e for e in events if e[1] == CONTROL and e[4] == EXPRESSION_CC]
    assert len(cc11) == len(values) + 1

    # The RMS envelope of the swelling note against the same note without its swell.
    flat = (dataclasses.replace(long, expression=((long.start, int(values.max())),)),)
    audio = renderer.render((long,), 73, False, int(2.8 * RATE))
    plain = renderer.render(flat, 73, False, int(2.8 * RATE))
    frames = np.arange(long.start + 0.1, long.end - 0.1, 0.05)
    ratio_db = np.array([20 * np.log10(_rms(audio[int(t * RATE):int((t + 0.05) * RATE)])
                                       / _rms(plain[int(t * RATE):int((t + 0.05) * RATE)]))
                         for t in frames])
    level = np.interp(frames + 0.025, times, values)
    assert np.corrcoef(ratio_db, level)[0, 1] > 0.9
    assert np.ptp(ratio_db) > 3.0  # an audible swell


# ---------------------------------------------------------------------------------------------
# Glides


def test_glides_scoop_from_the_previous_pitch_on_strings_not_on_flute() -> None:
    pitches = [62, 64, 66, 67, 69, 67, 66, 64, 62, 64, 66, 69, 71, 69, 67, 66]
    part = _line(pitches, step=0.3, gate=0.95)
    out = ex.perform(np.random.default_rng(2), part, BY_NAME["Cello"], tempo_bpm=100)
    detune = out[0].bend[0][1]  # the first note cannot glide: its first point is the detune
    glides = 0
    for prev, n in zip(out, out[1:]):
        times, values = _curve(n.bend)
        offset = values[0] - detune
        if abs(offset) > 0.5:  # a scoop: it starts at the previous pitch
            assert abs(offset - (prev.pitch - n.pitch)) < 1e-3
            half = times[np.abs(values - detune) < 0.5 * abs(offset)][0] - n.start
            assert 0.0 < half <= 0.07  # half-way within 70 ms: a short scoop
            assert abs(values[(times - n.start) < 0.13][-1] - detune) < 0.05  # arrived
            assert prev.end >= n.start  # joined
            glides += 1
    assert glides >= 2

    flute = ex.perform(np.random.default_rng(2), part, BY_NAME["Flute"], tempo_bpm=100)
    assert all(abs(v - n.bend[0][1]) < 0.41 for n in flute for _, v in n.bend)  # vibrato only

    erhu = BY_NAME["Erhu"]
    glided = tuple(music.glide(np.random.default_rng(1), part))
    performed = ex.perform(np.random.default_rng(2), glided, erhu)
    for before, after in zip(glided, performed):  # its own slides, detuned, nothing added
        shift = after.bend[0][1] - before.bend[0][1]
        assert 0.03 <= abs(shift) <= 0.12
        assert np.allclose(np.array([v for _, v in after.bend]) - shift,
                           [v for _, v in before.bend], atol=2e-4)


# ---------------------------------------------------------------------------------------------
# Articulation


def test_phrases_are_legato_or_staccato() -> None:
    bar = [60, 62, 64, 65, 67, 65, 64, 62]
    part = []
    for phrase in range(6):  # phrases of 8 eighths (0.25 s, gate 0.8) and a one-beat rest
        part += _line(bar, start=0.1 + phrase * 2.5, step=0.25, gate=0.8)
    kinds = set()
    for seed in range(4):
        out = ex.perform(np.random.default_rng(seed), tuple(part), BY_NAME["Flute"],
                         tempo_bpm=120, role="melody")
        for phrase in range(6):
            notes = out[phrase * 8:(phrase + 1) * 8]
            lengths = np.array([n.end - n.start for n in notes[:-1]])
            gaps = np.array([b.start - a.end for a, b in zip(notes, notes[1:])])
            if np.all(gaps <= 0.0):  # legato: held to the next onset, up to 20 ms over
                assert np.all(gaps >= -0.021)
                kinds.add("legato")
            elif np.all(lengths < 0.2 * 0.62):  # staccato: 40-60 % of 0.2 s
                assert np.all(lengths > 0.2 * 0.38)
                kinds.add("staccato")
            else:  # as written, give or take the drift
                assert np.allclose(lengths, 0.2, atol=0.01)
                kinds.add("written")
    assert kinds == {"legato", "staccato", "written"}


# ---------------------------------------------------------------------------------------------
# Detune and drift


def test_detune_and_drift_are_bounded_smooth_and_differ_between_players(renderer) -> None:
    part = _line([60, 64, 67, 72] * 6, step=0.4, gate=0.5)
    players = [ex.perform(np.random.default_rng(seed), part, BY_NAME["Piano"]) for seed in (1, 2)]
    detunes, drifts = [], []
    for out in players:
        detune = {n.bend[0][1] for n in out}
        assert len(detune) == 1 and 0.03 <= abs(next(iter(detune))) <= 0.12  # static, 3-12 cents
        detunes.append(next(iter(detune)))
        offsets = np.array([a.start - b.start for a, b in zip(out, part)])
        assert np.abs(offsets).max() <= 0.025 and np.ptp(offsets) > 0.003
        assert np.abs(np.diff(offsets)).max() < 0.015  # slow: smooth from note to note
        drifts.append(offsets)
    assert detunes[0] != detunes[1] and not np.allclose(drifts[0], drifts[1], atol=1e-3)

    # The detune is heard: a long piano note's fundamental moves by it.
    note = (Note(0.05, 1.5, 57, 100),)
    out = ex.perform(np.random.default_rng(1), note, BY_NAME["Piano"])
    untuned = (dataclasses.replace(out[0], bend=((out[0].start, 0.0),)),)
    frames = np.arange(0.3, 1.2, 0.05)
    heard = (_cents_track(renderer.render(out, 0, False, int(1.6 * RATE)), frames, 220)
             - _cents_track(renderer.render(untuned, 0, False, int(1.6 * RATE)), frames, 220))
    assert abs(heard.mean() - 100 * out[0].bend[0][1]) < 0.75 and 3 < abs(heard.mean()) < 12.5


def test_drums_only_drift_and_vary_velocity(renderer) -> None:
    part = music.drum_part(np.random.default_rng(0), 110, 4, 3.0)
    out = ex.perform(np.random.default_rng(5), part, BY_NAME["Drum"], tempo_bpm=110)
    assert len(out) == len(part)
    by_key = sorted(part, key=lambda n: (n.start, n.pitch))
    assert [n.pitch for n in out] == [n.pitch for n in by_key]
    assert not any(n.bend or n.performed for n in out)
    shifts = np.array([a.start - b.start for a, b in zip(out, by_key)])
    assert np.abs(shifts).max() <= 0.025 and np.abs(shifts).max() > 0.002
    lengths = np.array([(a.end - a.start) - (b.end - b.start) for a, b in zip(out, by_key)])
    durations = np.array([b.end - b.start for b in by_key])
    assert np.all(np.abs(lengths) <= 0.04 * durations + 1e-4)  # no articulation, only drift
    dv = np.array([a.velocity - b.velocity for a, b in zip(out, by_key)])
    assert np.any(dv != 0) and np.abs(dv).max() <= 25
    notes, audio = ex.render_performed(renderer, np.random.default_rng(5), part, BY_NAME["Drum"],
                                       0, 3 * RATE, 110)
    assert notes == out and np.array_equal(audio, renderer.render(out, 0, True, 3 * RATE))


# ---------------------------------------------------------------------------------------------
# Brightness


def test_louder_notes_are_brighter_through_cc74(renderer) -> None:
    soft, loud = Note(0.05, 0.8, 69, 40), Note(0.05, 0.8, 69, 115)

    def centroid(notes) -> float:
        audio = renderer.render(notes, 40, False, RATE)
        return _centroid(audio[int(0.15 * RATE):int(0.75 * RATE)])

    # FluidSynth's own velocity modulators leave this violin's timbre as it is ...
    assert abs(centroid((loud,)) / centroid((soft,)) - 1) < 0.02
    # ... the performance sends CC 74 by velocity, which the renderer maps to the filter cutoff.
    rng = np.random.default_rng(0)
    played = [ex.perform(rng, (n,), BY_NAME["Violin"], amount=1.0) for n in (soft, loud)]
    assert played[0][0].brightness < played[1][0].brightness <= 127
    flat = [tuple(dataclasses.replace(n, bend=(), expression=((n.start, 127),)) for n in p)
            for p in played]  # no vibrato or swell: brightness alone
    assert centroid(flat[1]) / centroid(flat[0]) > 1.15
    events, _ = channel_events(flat[0], RATE)
    assert [e[5] for e in events if e[1] == CONTROL and e[4] == BRIGHTNESS_CC] == [
        played[0][0].brightness]


# ---------------------------------------------------------------------------------------------
# Breath and bow noise


def test_breath_noise_fills_between_the_harmonics(renderer) -> None:
    part = (Note(0.1, 1.4, 67, 100),)  # G4, 392 Hz
    inst = BY_NAME["Flute"]
    notes, audio = ex.render_performed(renderer, np.random.default_rng(3), part, inst, 73,
                                       int(1.6 * RATE))
    dry = renderer.render(notes, 73, False, int(1.6 * RATE))
    noise = audio - dry
    n = notes[0]
    s, e = int(n.start * RATE), int(n.end * RATE)
    assert np.all(noise[:s] == 0) and np.all(noise[e + 1:] == 0)
    level_db = 20 * np.log10(_rms(noise[s:e]) / _rms(dry[s:e]))
    assert -32 < level_db < -18
    burst, held = _rms(noise[s:s + int(0.03 * RATE)]), _rms(noise[s + int(0.3 * RATE):e])
    assert burst > 1.5 * held  # the attack burst

    segment = slice(s + int(0.3 * RATE), s + int(0.3 * RATE) + 16384)
    freqs = np.fft.rfftfreq(16384, 1 / RATE)
    f0 = 392.0 * 2 ** (100 * n.bend[0][1] / 1200)
    between = (np.abs(freqs / f0 - np.round(freqs / f0)) > 0.3) & (freqs > 1000) & (freqs < 5000)

    def inter_harmonic(x: np.ndarray) -> float:
        return float(np.sum(np.abs(np.fft.rfft(x[segment] * np.hanning(16384)))[between] ** 2))

    assert inter_harmonic(audio) > 3 * inter_harmonic(dry)

    none = ex.breath_noise(np.random.default_rng(0), part, "plucked", RATE, RATE)
    assert none.dtype == np.float32 and not none.any()
    bowed = ex.breath_noise(np.random.default_rng(0), part, "bowed", RATE, int(1.6 * RATE))
    assert bowed.dtype == np.float32 and _rms(bowed) > 0


# ---------------------------------------------------------------------------------------------
# Rendering: one channel per note


def test_performed_chords_get_a_channel_per_note_with_the_same_program(renderer) -> None:
    chord = tuple(Note(0.1 + 0.3 * k, 2.0, p, 80) for k, p in enumerate(range(48, 68)))
    out = ex.perform(np.random.default_rng(0), chord, BY_NAME["Accordion"], amount=1.0)
    events, channels = channel_events(out, RATE)
    ons = [e for e in events if e[1] == NOTE_ON]
    assert PERCUSSION_CHANNEL not in channels and channels == sorted(MELODIC_CHANNELS)
    assert [e[3] for e in ons[:15]] == list(MELODIC_CHANNELS)  # dealt round-robin
    bends = {e[3]: e[5] for e in events if e[1] == BEND and e[0] == ons[0][0]}
    assert bends[ons[0][3]] == bend_value(out[0].bend[0][1])

    triad = (Note(0.1, 1.0, 60, 90), Note(0.1, 1.0, 64, 90), Note(0.1, 1.0, 67, 90))
    played = tuple(dataclasses.replace(n, expression=((n.start, 127),)) for n in triad)
    assert len(channel_events(played, RATE)[1]) == 3
    a = renderer.render(played, 40, False, RATE)  # every channel plays the violin
    b = renderer.render(triad, 40, False, RATE)
    spectra = [np.abs(np.fft.rfft(x[int(0.2 * RATE):int(0.9 * RATE)])) for x in (a, b)]
    assert np.corrcoef(*spectra)[0, 1] > 0.95
    assert abs(20 * np.log10(_rms(a) / _rms(b))) < 1.0
