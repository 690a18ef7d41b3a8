"""Rendering note lists to audio with a General MIDI SoundFont through FluidSynth.

Each part is rendered on its own (its stem) by a synthesizer whose own reverb and chorus are off,
so stems are dry and sum exactly to the mixture; the room is added afterwards
(:mod:`crn_live.data.mixing`). Samples are pulled as 32-bit float straight from FluidSynth.

Notes with a pitch-bend curve (:attr:`crn_live.data.music.Note.bend`, used by the ``glide``
style) are sent as pitch-bend events, after setting the channel's pitch-bend range (RPN 0) to
:data:`crn_live.data.music.BEND_RANGE` semitones; a part without curves gets exactly the
note-on / note-off events it always got.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

import numpy as np

from crn_live.data.music import BEND_RANGE, Note
from crn_live.errors import UserError

FLUIDR3_PATHS = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/sounds/sf3/FluidR3_GM.sf3",
)
PERCUSSION_CHANNEL = 9
BLOCK = 4096
# Event kinds, in the order they are sent at the same sample: releases, bends, onsets (so that
# a note starts at the bend its curve begins with).
NOTE_OFF, BEND, NOTE_ON = 0, 1, 2


def bend_value(semitones: float, bend_range: int = BEND_RANGE) -> int:
    """A bend in semitones as pyfluidsynth's ``pitch_bend`` value: an offset from the centre,
    -8192..8191 (pyfluidsynth 1.4 adds 8192 itself and clamps to FluidSynth's 0..16383)."""
    return int(np.clip(round(semitones / bend_range * 8192), -8192, 8191))


def set_bend_range(synth, channel: int, semitones: int) -> None:
    """Pitch-bend sensitivity through RPN 0 (data entry MSB = semitones), then RPN null."""
    for control, value in ((101, 0), (100, 0), (6, semitones), (38, 0), (101, 127), (100, 127)):
        synth.cc(channel, control, value)


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
            curve = n.bend or ((n.start, 0.0),)
            for k, (when, semitones) in enumerate(curve):
                sample = start if k == 0 else int(round(when * rate))
                events.append((sample, BEND, order, bend_value(semitones)))
                order += 1
    events.sort()
    return events


class SoundFontError(UserError):
    """No usable SoundFont or FluidSynth library."""


def bundled_timgm6mb() -> Path | None:
    """The TimGM6mb SoundFont that ships inside the ``pretty_midi`` wheel, if installed."""
    try:
        import pretty_midi
    except ImportError:
        return None
    path = Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"
    return path if path.is_file() else None


def resolve_soundfont(requested: str | None) -> Path:
    """The SoundFont to use: ``requested`` (a path, or ``timgm6mb``), else FluidR3, else TimGM6mb."""
    if requested:
        if requested.lower() == "timgm6mb":
            found = bundled_timgm6mb()
            if found is None:
                raise SoundFontError("TimGM6mb needs the pretty_midi package: pip install pretty_midi")
            return found
        path = Path(requested).expanduser()
        if not path.is_file():
            raise SoundFontError(f"soundfont {path} not found; pass an existing .sf2/.sf3 file")
        if path.suffix.lower() not in (".sf2", ".sf3"):
            raise SoundFontError(f"{path} is not a SoundFont (.sf2/.sf3)")
        return path
    for candidate in FLUIDR3_PATHS:
        if os.path.isfile(candidate):
            return Path(candidate)
    found = bundled_timgm6mb()
    if found is None:
        raise SoundFontError("no SoundFont found: apt-get install fluid-soundfont-gm, "
                             "or pass --soundfont FILE.sf2")
    return found


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

    def __init__(self, soundfont: Path, sample_rate: int):
        self._fluidsynth = _fluidsynth()
        self.soundfont = soundfont
        self.sample_rate = sample_rate
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
        """Mono float32 audio ``(n_samples,)`` of ``notes`` on GM ``program`` (or the drum kit)."""
        synth, sfid = self._new_synth()
        try:
            channel = PERCUSSION_CHANNEL if is_drum else 0
            synth.program_select(channel, sfid, 128 if is_drum else 0, 0 if is_drum else program)
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

    def _pull(self, synth, out: np.ndarray, start: int, stop: int) -> int:
        """Render samples ``[start, stop)`` into ``out`` (mono: mean of left and right)."""
        while start < stop:
            n = min(BLOCK, stop - start)
            self._write_float(synth.synth, n, self._left.ctypes.data, 0, 1,
                              self._right.ctypes.data, 0, 1)
            out[start:start + n] = 0.5 * (self._left[:n] + self._right[:n])
            start += n
        return start
