"""All 28 classes end to end: each renders audibly in its register, Congas play a tumbao on their
own keys, and each playing style (glide, glissando, tremolo, strum, drone) is in the written
notes and, where it can be measured, in the rendered audio."""

from __future__ import annotations

import numpy as np
import pytest

from crn_live.data import music, scores
from crn_live.data.music import Note
from crn_live.data.render import BEND, FluidRenderer, note_events
from crn_live.data.soundfonts import named
from crn_live.instruments import BY_NAME, INSTRUMENTS
from tests.helpers import write_musicxml

RATE = 22050


@pytest.fixture(scope="module")
def renderer() -> FluidRenderer:
    return FluidRenderer(named("timgm6mb").path, RATE)


def _hz(midi: float) -> float:
    return 440.0 * 2 ** ((midi - 69) / 12)


def _f0(frame: np.ndarray, low_hz: float, high_hz: float) -> float:
    """Autocorrelation pitch of one frame, searched in ``[low_hz, high_hz]``."""
    x = frame - frame.mean()
    ac = np.correlate(x, x, "full")[len(x) - 1:]
    a, b = int(RATE / high_hz), int(RATE / low_hz) + 1
    lag = a + int(np.argmax(ac[a:b]))
    y0, y1, y2 = ac[lag - 1], ac[lag], ac[lag + 1]
    return RATE / (lag + 0.5 * (y0 - y2) / (y0 - 2 * y1 + y2))


def _role_part(inst, role: str, seed: int = 0, seconds: float = 4.0) -> tuple[Note, ...]:
    rng = np.random.default_rng(seed)
    harmony = music.make_harmony(rng, 8)
    writer = music.PartWriter(harmony, rng, music.Dynamics.draw(rng))
    n_bars = int(np.ceil(seconds / harmony.bar_seconds)) + 1
    music.write_part(writer, inst, role, n_bars, 0.5, seconds)
    part = writer.finish(seconds)
    return music.stylise(rng, inst, part, harmony.tonic, harmony.scale, seconds)


@pytest.mark.parametrize("inst", INSTRUMENTS, ids=lambda i: i.name)
def test_every_class_renders_audibly_in_its_register(renderer, inst):
    piece = music.compose(np.random.default_rng(5), [inst], seconds=2.0)
    part = piece.parts[0]
    assert len(part) >= 3
    audio = renderer.render(part, inst.programs[0], inst.is_drum, 2 * RATE)
    assert float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))) > 1e-3, inst.name
    if inst.is_drum:
        return
    assert all(inst.low <= n.pitch <= inst.high for n in part)
    spectrum = np.abs(np.fft.rfft(audio))
    peak = np.fft.rfftfreq(len(audio), 1 / RATE)[np.argmax(spectrum)]
    # the strongest partial is a low harmonic of a note in the register
    assert _hz(inst.low) * 0.95 <= peak <= _hz(inst.high) * 4.2, (inst.name, peak)


def test_congas_play_a_tumbao_on_their_three_keys():
    congas = BY_NAME["Congas"]
    piece = music.compose(np.random.default_rng(1), [BY_NAME["Drum"], congas, BY_NAME["Piano"]],
                          seconds=6.0)
    assert piece.roles[:2] == ("drums", "drums")
    kit, conga = piece.parts[0], piece.parts[1]
    assert {n.pitch for n in conga} <= {62, 63, 64} and {62, 63} <= {n.pitch for n in conga}
    assert {music.KICK, music.SNARE} <= {n.pitch for n in kit}
    for seed in range(4):  # also as the drum part of a score piece, in 3/4
        part = music.drum_part(np.random.default_rng(seed), 100.0, 3, 5.0, congas)
        assert part and {n.pitch for n in part} <= {62, 63, 64}
    # the kit is unchanged by the new argument
    assert music.drum_part(np.random.default_rng(0), 120.0, 4, 6.0) == music.drum_part(
        np.random.default_rng(0), 120.0, 4, 6.0, BY_NAME["Drum"])


def test_congas_sound_on_the_percussion_channel(renderer):
    part = music.drum_part(np.random.default_rng(0), 110.0, 4, 2.0, BY_NAME["Congas"])
    audio = renderer.render(part, 0, True, 2 * RATE)
    assert float(np.sqrt(np.mean(audio.astype(np.float64) ** 2))) > 2e-3


def test_glide_writes_bends_between_notes_and_the_pitch_moves_continuously(renderer):
    line = (Note(0.0, 0.5, 69, 100), Note(0.52, 1.2, 76, 100))
    glided = music.glide(np.random.default_rng(1), line)
    first, second = glided
    assert first.end == second.start  # legato into the slide
    assert second.bend[0] == (second.start, -7.0)  # starts at the previous pitch ...
    values = [v for _, v in second.bend]
    assert abs(values[int(0.25 / music.BEND_STEP)]) < 0.6  # ... and arrives (vibrato left)
    events = note_events(glided, RATE)
    onsets = [t for t, kind, _, _ in events if kind == 2]
    bends = [t for t, kind, _, _ in events if kind == BEND]
    assert sum(onsets[0] < t < onsets[1] for t in bends) > 10  # vibrato on the first note
    assert sum(onsets[1] < t < onsets[1] + 0.1 * RATE for t in bends) >= 9  # the slide
    audio = renderer.render(glided, 40, False, int(1.3 * RATE))
    track = [_f0(audio[int(t * RATE):int(t * RATE) + 441], 300, 900)
             for t in np.arange(0.53, 0.65, 0.01)]
    between = [f for f in track if _hz(69.8) < f < _hz(75.2)]
    assert len(between) >= 3, track  # passing through the pitches between A4 and E5
    assert _hz(75) < np.median([_f0(audio[int(t * RATE):int(t * RATE) + 660], 300, 900)
                               for t in np.arange(0.85, 1.1, 0.03)]) < _hz(77)


def test_erhu_vibrato_is_wide_and_slow(renderer):
    held = music.glide(np.random.default_rng(3), (Note(0.0, 1.5, 69, 100),))[0]
    t = np.array([p[0] for p in held.bend])
    v = np.array([p[1] for p in held.bend])
    late = v[t > 0.5]
    assert 0.25 < late.max() <= 0.55 and -0.55 <= late.min() < -0.25
    crossings = np.sum(np.diff(np.sign(late)) != 0) / 2 / (t[t > 0.5][-1] - 0.5)
    assert 3.5 < crossings < 6.5  # 4-6 Hz
    audio = renderer.render((held,), 40, False, int(1.5 * RATE))
    track = np.array([_f0(audio[int(s * RATE):int(s * RATE) + 441], 300, 700)
                      for s in np.arange(0.6, 1.4, 0.01)])
    cents = 1200 * np.log2(track / 440.0)
    assert cents.max() - cents.min() > 40  # a real vibrato, not a steady A


def test_a_part_without_bends_renders_as_before(renderer):
    notes = (Note(0.0, 0.3, 60, 90), Note(0.2, 0.5, 64, 90))
    assert all(kind != BEND for _, kind, _, _ in note_events(notes, RATE))
    flat = (Note(0.0, 0.3, 60, 90, bend=((0.0, 0.0),)),) + notes[1:]
    assert np.allclose(renderer.render(notes, 0, False, RATE // 2),
                       renderer.render(flat, 0, False, RATE // 2), atol=1e-6)


def test_pipa_tremolo_restrikes_long_notes_at_12_to_16_per_second(renderer):
    strokes = music.tremolo(np.random.default_rng(0), (Note(0.1, 1.1, 69, 100),
                                                       Note(1.2, 1.4, 72, 90)))
    a4 = [n for n in strokes if n.pitch == 69]
    rate = 1 / np.median(np.diff([n.start for n in a4]))
    assert 12 <= rate <= 16 and len(a4) >= 12
    assert all(b.start >= a.end for a, b in zip(a4, a4[1:]))
    assert [n for n in strokes if n.pitch == 72] == [Note(1.2, 1.4, 72, 90)]  # short: one pluck
    audio = renderer.render(tuple(a4), 106, False, int(1.2 * RATE))
    hop = RATE // 200
    frames = audio[int(0.2 * RATE):int(1.05 * RATE)]
    envelope = np.sqrt(np.convolve(frames.astype(np.float64) ** 2, np.ones(hop) / hop, "valid")[::hop])
    envelope -= envelope.mean()
    spectrum = np.abs(np.fft.rfft(envelope * np.hanning(len(envelope)), 4096))
    freqs = np.fft.rfftfreq(4096, 1 / 200)
    band = (freqs > 4) & (freqs < 40)
    assert 11.5 <= freqs[band][np.argmax(spectrum[band])] <= 16.5


def test_guzheng_sweeps_pentatonic_grace_notes_into_phrase_notes():
    guzheng = BY_NAME["Guzheng"]
    part = _role_part(guzheng, "melody", seed=2, seconds=8.0)
    rng = np.random.default_rng(2)
    harmony = music.make_harmony(rng, 8)
    penta = set(music.pentatonic(harmony.tonic, harmony.scale))
    grace = [n for n in part if n.end - n.start <= 0.046]
    assert len(grace) >= 3
    targets = 0
    for n in grace:
        follower = [m for m in part if abs(m.start - n.end) < 1e-4]
        assert follower, "a grace note leads into the next note"
        assert n.pitch % 12 in penta
        targets += any(m.end - m.start > 0.046 for m in follower)  # the sweep's phrase note
    assert targets >= 1
    assert all(guzheng.low <= n.pitch <= guzheng.high for n in part)


def test_ukulele_strums_short_reentrant_chords():
    uke = BY_NAME["Ukulele"]
    part = _role_part(uke, "chords", seed=4)
    onsets = np.array([n.start for n in part])
    chords = np.split(np.arange(len(part)), np.where(np.diff(onsets) > 0.05)[0] + 1)
    assert len(chords) >= 6
    for chord in chords:
        notes = [part[k] for k in chord]
        assert len(notes) >= 3
        span = max(n.start for n in notes) - min(n.start for n in notes)
        assert 0.01 <= span <= 0.06  # strummed, not struck at once
        assert all(n.end - n.start < 0.45 for n in notes)  # short chords
        assert all(60 <= n.pitch <= 76 for n in notes)  # re-entrant: all near the C4 string


def test_bagpipes_drone_under_the_chanter():
    pipes = BY_NAME["Bagpipes"]
    for seed in range(4):
        piece = music.compose(np.random.default_rng(seed), [pipes, BY_NAME["Cello"]], 6.0)
        part = piece.parts[0]
        drone = [n for n in part if n.start == 0.0 and n.end == 6.0]
        assert len(drone) == 2
        low, high = sorted(n.pitch for n in drone)
        assert high - low in (5, 7)  # tonic and fifth
        chanter = [n for n in part if n not in drone]
        assert chanter and min(n.pitch for n in chanter) > high
        assert all(pipes.low <= n.pitch <= pipes.high for n in part)


def test_score_pieces_play_the_new_classes_in_style(tmp_path):
    write_musicxml(tmp_path / "quartet.musicxml", parts=4)
    parsed = scores.parse_score(scores.folder_pool(tmp_path)[0])
    insts = [BY_NAME[n] for n in ("Erhu", "Pipa", "Bagpipes", "Guzheng", "Congas")]
    piece = scores.score_segment(np.random.default_rng(0), parsed, insts, seconds=6.0)
    assert piece.roles == ("score",) * 4 + ("drums",)
    erhu, pipa, pipes, zheng, congas = piece.parts
    for inst, part in zip(insts[:4], piece.parts[:4]):
        assert part and all(inst.low <= n.pitch <= inst.high for n in part), inst.name
        assert all(0 <= n.start < n.end <= 6.0 for n in part)
    assert any(n.bend for n in erhu)
    assert len(pipa) > len(parsed.parts[0])  # tremolo strokes
    assert sum(n.start == 0.0 and n.end == 6.0 for n in pipes) == 2
    assert {n.pitch for n in congas} <= {62, 63, 64}
