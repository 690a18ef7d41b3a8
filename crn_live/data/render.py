"""Rendering note lists to audio with a General MIDI SoundFont through FluidSynth.

Each part is rendered on its own (its stem) by a synthesizer whose own reverb and chorus are off,
so stems are dry and sum exactly to the mixture; the room is added afterwards
(:mod:`crn_live.data.mixing`). Samples are pulled as 32-bit float straight from FluidSynth.

Notes with a pitch-bend curve (:attr:`crn_live.data.music.Note.bend`, used by the ``glide``
style) are sent as pitch-bend events, after setting the channel's pitch-bend range (RPN 0) to
:data:`crn_live.data.music.BEND_RANGE` semitones; a part without curves gets exactly the
note-on / note-off events it always got.

A *performed* part (any note with an expression curve or a brightness,
:attr:`crn_live.data.music.Note.performed`, written by :mod:`crn_live.data.expression`) is
rendered one note per MIDI channel: notes are dealt over the 15 melodic channels (the percussion
channel is skipped), always to the channel idle the longest (round-robin while notes do not
overlap), and every channel gets the part's program and the bend range. Each note then sends its
own bend curve, expression (CC 11) curve and brightness (CC 74) on its channel. FluidSynth's
default velocity-to-filter modulator leaves our SoundFonts' timbre unchanged with velocity (the
presets' filters are open above the Nyquist frequency), so for parts with brightness the synth
gets one more default modulator, CC 74 to the filter cutoff (:func:`add_brightness_modulator`).
Breath and bow noise are not rendered here: :func:`crn_live.data.expression.render_performed`
adds them to the stem.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np

from crn_live.data.music import BEND_RANGE, Note
from crn_live.data.soundfonts import SoundFontError

PERCUSSION_CHANNEL = 9
BLOCK = 4096
# Event kinds. At the same sample they are sent releases, bends, controls, onsets (so that a note
# starts at the bend and controls its curves begin with); :func:`note_events` sorts by kind.
NOTE_OFF, BEND, NOTE_ON, CONTROL = 0, 1, 2, 3
_SEND_ORDER = {NOTE_OFF: 0, BEND: 1, CONTROL: 2, NOTE_ON: 3}
#: Channels a performed part's notes are dealt over: all but the percussion channel.
MELODIC_CHANNELS = tuple(c for c in range(16) if c != PERCUSSION_CHANNEL)
EXPRESSION_CC, BRIGHTNESS_CC = 11, 74
#: Filter-cutoff shift (cents) of CC 74 = 0 under :func:`add_brightness_modulator`; CC 74 = 127
#: leaves the preset's own cutoff, values between move it linearly (in cents).
BRIGHTNESS_RANGE_CENTS = 7200.0


def bend_value(semitones: float, bend_range: int = BEND_RANGE) -> int:
    """A bend in semitones as pyfluidsynth's ``pitch_bend`` value: an offset from the centre,
    -8192..8191 (pyfluidsynth 1.4 adds 8192 itself and clamps to FluidSynth's 0..16383)."""
    return int(np.clip(round(semitones / bend_range * 8192), -8192, 8191))


def set_bend_range(synth, channel: int, semitones: int) -> None:
    """Pitch-bend sensitivity through RPN 0 (data entry MSB = semitones), then RPN null."""
    for control, value in ((101, 0), (100, 0), (6, semitones), (38, 0), (101, 127), (100, 127)):
        synth.cc(channel, control, value)


def curve_samples(curve, start: int, rate: int):
    """``(sample, value)`` of a note's curve points: the first at the note's onset sample
    ``start`` (whatever its time), the others at their own times."""
    for k, (when, value) in enumerate(curve):
        yield (start if k == 0 else int(round(when * rate))), value


def note_events(notes: tuple[Note, ...], rate: int) -> list[tuple[int, int, int, int]]:
    """Sorted ``(sample, kind, key, value)`` events of a part: note-on / note-off with pitch and
    velocity, and, when any note has a bend curve, bends (key: a sequence number, value: the
    pyfluidsynth bend); a note without a curve in such a part starts unbent."""
    events = []
    bent = any(n.bend for n in notes)
    order = 0
    for n in notes:
        start, end = int(round(n.start * rate)), int(round(n.end * rate))
        events.append((start, NOTE_ON, n.pitch, n.velocity))
        events.append((end, NOTE_OFF, n.pitch, 0))
        if bent:
            for sample, semitones in curve_samples(n.bend or ((n.start, 0.0),), start, rate):
                events.append((sample, BEND, order, bend_value(semitones)))
                order += 1
    events.sort()
    return events


def channel_events(notes: tuple[Note, ...], rate: int
                   ) -> tuple[list[tuple[int, int, int, int, int, int]], list[int]]:
    """Events of a performed part, one note per channel, and the channels used (ascending).

    Events are ``(sample, kind, sequence, channel, key, value)`` in sending order (by sample,
    then releases, bends, controls, onsets, then ``sequence``): ``key`` is the pitch
    (note-on / note-off), the controller number (CONTROL) or 0 (BEND, ``value`` as for
    pyfluidsynth's ``pitch_bend``); ``sequence`` keeps a note's curve points in order. Each note
    goes to the channel that fell idle first (a steal of the earliest-ending note when all 15
    sound). At its onset a note sends its first bend (0 without a curve), its first expression
    value (127 without a curve) and, when any note of the part has one, its brightness (127,
    the preset's own cutoff, without one); curve points after the release are dropped.
    """
    events: list[tuple[int, int, int, int, int, int]] = []
    free_at = {c: -1 for c in MELODIC_CHANNELS}
    bright = any(n.brightness is not None for n in notes)
    seq = 0

    def add(sample: int, kind: int, channel: int, key: int, value: int) -> None:
        nonlocal seq
        events.append((sample, kind, seq, channel, key, value))
        seq += 1

    for n in sorted(notes, key=lambda n: (n.start, n.pitch, n.end)):
        start, end = int(round(n.start * rate)), int(round(n.end * rate))
        channel = min(MELODIC_CHANNELS, key=lambda c: (free_at[c], MELODIC_CHANNELS.index(c)))
        free_at[channel] = end
        for sample, semitones in curve_samples(n.bend or ((n.start, 0.0),), start, rate):
            if sample <= end:
                add(max(sample, start), BEND, channel, 0, bend_value(semitones))
        for sample, value in curve_samples(n.expression or ((n.start, 127),), start, rate):
            if sample <= end:
                add(max(sample, start), CONTROL, channel, EXPRESSION_CC,
                    int(np.clip(value, 0, 127)))
        if bright:
            value = 127 if n.brightness is None else int(np.clip(n.brightness, 0, 127))
            add(start, CONTROL, channel, BRIGHTNESS_CC, value)
        add(start, NOTE_ON, channel, n.pitch, n.velocity)
        add(end, NOTE_OFF, channel, n.pitch, 0)
    events.sort(key=lambda e: (e[0], _SEND_ORDER[e[1]], e[2]))
    return events, sorted({e[3] for e in events})


def add_brightness_modulator(fluidsynth, synth) -> None:
    """Add a default modulator CC 74 -> filter cutoff to ``synth`` (a pyfluidsynth ``Synth``):
    unipolar, negative, linear, :data:`BRIGHTNESS_RANGE_CENTS` at CC 74 = 0, none at 127. It
    applies to the voices started afterwards."""
    lib = fluidsynth._fl
    ptr, num = ctypes.c_void_p, ctypes.c_int
    lib.new_fluid_mod.restype, lib.new_fluid_mod.argtypes = ptr, []
    lib.fluid_mod_set_source1.argtypes = lib.fluid_mod_set_source2.argtypes = [ptr, num, num]
    lib.fluid_mod_set_dest.argtypes = [ptr, num]
    lib.fluid_mod_set_amount.argtypes = [ptr, ctypes.c_double]
    lib.fluid_synth_add_default_mod.argtypes = [ptr, ptr, num]
    lib.fluid_synth_add_default_mod.restype = num
    lib.delete_fluid_mod.argtypes = [ptr]
    mod_cc, mod_negative, mod_none, gen_filter_fc, add_mode = 16, 1, 0, 8, 1
    mod = lib.new_fluid_mod()
    try:
        lib.fluid_mod_set_source1(mod, BRIGHTNESS_CC, mod_cc | mod_negative)
        lib.fluid_mod_set_source2(mod, mod_none, 0)
        lib.fluid_mod_set_dest(mod, gen_filter_fc)
        lib.fluid_mod_set_amount(mod, -BRIGHTNESS_RANGE_CENTS)
        if lib.fluid_synth_add_default_mod(synth.synth, mod, add_mode) != 0:
            raise SoundFontError("FluidSynth refused the CC 74 brightness modulator")
    finally:
        lib.delete_fluid_mod(mod)  # FluidSynth keeps its own copy


def _fluidsynth():
    try:
        import fluidsynth
    except (ImportError, OSError) as exc:
        raise SoundFontError(f"FluidSynth is not available ({exc}); "
                             "apt-get install libfluidsynth3 and pip install pyfluidsynth") from None
    return fluidsynth


class FluidRenderer:
    """Renders one part at a time with a SoundFont (one instance per process).

    A FluidSynth instance carries state from one render to the next (the same notes rendered
    twice by one synth differ), so every part gets a fresh synth; the SoundFont's samples stay in
    FluidSynth's sample cache, held by a keeper synth, so a fresh synth costs milliseconds.
    """

    def __init__(self, soundfont: Path, sample_rate: int, drum_bank: int = 128):
        self._fluidsynth = _fluidsynth()
        self.soundfont = soundfont
        self.sample_rate = sample_rate
        self.drum_bank = drum_bank  # GM kits are bank 128; a kit-only font's kit is bank 0
        self._keeper, self._keeper_sfid = self._new_synth()
        write_float = self._fluidsynth._fl.fluid_synth_write_float
        write_float.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int,
                                ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
        self._write_float = write_float
        self._left = np.zeros(BLOCK, np.float32)
        self._right = np.zeros(BLOCK, np.float32)

    def _new_synth(self):
        synth = self._fluidsynth.Synth(gain=0.5, samplerate=float(self.sample_rate))
        for key, value in (("synth.reverb.active", 0), ("synth.chorus.active", 0),
                           ("synth.cpu-cores", 1), ("synth.polyphony", 256)):
            synth.setting(key, value)
        sfid = synth.sfload(str(self.soundfont))
        if sfid < 0:
            synth.delete()
            raise SoundFontError(f"FluidSynth cannot load soundfont {self.soundfont}")
        return synth, sfid

    def render(self, notes: tuple[Note, ...], program: int, is_drum: bool,
               n_samples: int) -> np.ndarray:
        """Mono float32 audio ``(n_samples,)`` of ``notes`` on GM ``program`` (or the drum kit).

        A performed part (see the module docstring) is rendered one note per channel."""
        if not is_drum and any(n.performed for n in notes):
            return self._render_performed(notes, program, n_samples)
        synth, sfid = self._new_synth()
        try:
            channel = PERCUSSION_CHANNEL if is_drum else 0
            synth.program_select(channel, sfid, self.drum_bank if is_drum else 0,
                                 0 if is_drum else program)
            events = note_events(notes, self.sample_rate)
            if any(kind == BEND for _, kind, _, _ in events):
                set_bend_range(synth, channel, BEND_RANGE)
            out = np.zeros(n_samples, np.float32)
            cursor = 0
            for when, kind, key, value in events:
                cursor = self._pull(synth, out, cursor, min(when, n_samples))
                if kind == NOTE_ON:
                    synth.noteon(channel, key, value)
                elif kind == NOTE_OFF:
                    synth.noteoff(channel, key)
                else:
                    synth.pitch_bend(channel, value)
            self._pull(synth, out, cursor, n_samples)
        finally:
            synth.delete()
        return out

    def _render_performed(self, notes: tuple[Note, ...], program: int,
                          n_samples: int) -> np.ndarray:
        synth, sfid = self._new_synth()
        try:
            events, channels = channel_events(notes, self.sample_rate)
            if any(n.brightness is not None for n in notes):
                add_brightness_modulator(self._fluidsynth, synth)
            for channel in channels:
                synth.program_select(channel, sfid, 0, program)
                set_bend_range(synth, channel, BEND_RANGE)
            out = np.zeros(n_samples, np.float32)
            cursor = 0
            for when, kind, _, channel, key, value in events:
                cursor = self._pull(synth, out, cursor, min(when, n_samples))
                if kind == NOTE_ON:
                    synth.noteon(channel, key, value)
                elif kind == NOTE_OFF:
                    synth.noteoff(channel, key)
                elif kind == BEND:
                    synth.pitch_bend(channel, value)
                else:
                    synth.cc(channel, key, value)
            self._pull(synth, out, cursor, n_samples)
        finally:
            synth.delete()
        return out

    def _pull(self, synth, out: np.ndarray, start: int, stop: int) -> int:
        """Render samples ``[start, stop)`` into ``out`` (mono: mean of left and right)."""
        while start < stop:
            n = min(BLOCK, stop - start)
            self._write_float(synth.synth, n, self._left.ctypes.data, 0, 1,
                              self._right.ctypes.data, 0, 1)
            out[start:start + n] = 0.5 * (self._left[:n] + self._right[:n])
            start += n
        return start
