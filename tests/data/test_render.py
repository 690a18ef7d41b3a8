"""Rendering notes with a SoundFont through FluidSynth: which SoundFont is used, silence outside
the notes, the same notes giving the same samples, the drum kit; one-line SoundFont errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from crn_live.data import soundfonts
from crn_live.data.music import Note
from crn_live.data.render import FluidRenderer
from crn_live.data.soundfonts import SoundFontError, bundled_timgm6mb, resolve


def resolve_soundfont(requested: str | None) -> Path:
    (font,) = resolve(requested)
    return font.path
from crn_live.errors import UserError

RATE = 22050


@pytest.fixture(scope="module")
def renderer() -> FluidRenderer:
    return FluidRenderer(resolve_soundfont("timgm6mb"), RATE)


def _rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


def test_resolve_soundfont(tmp_path: Path, monkeypatch) -> None:
    light = bundled_timgm6mb()
    assert light is not None and light.name == "TimGM6mb.sf2"
    assert resolve_soundfont("TimGM6mb").name == light.name  # Debian's package, else the wheel's
    mine = tmp_path / "mine.sf2"
    mine.write_bytes(b"RIFF")
    assert resolve_soundfont(str(mine)) == mine
    installed = tmp_path / "share"
    installed.mkdir()
    (installed / "FluidR3_GM.sf2").write_bytes(b"RIFF")
    monkeypatch.setattr(soundfonts, "SF2_DIRS", (str(tmp_path / "absent"), str(installed)))
    assert resolve_soundfont(None) == installed / "FluidR3_GM.sf2"  # the first FluidR3 found
    monkeypatch.setattr(soundfonts, "SF2_DIRS", ())
    assert resolve_soundfont(None) == light  # else the light one from pretty_midi


def test_soundfont_errors_are_one_line_user_errors(tmp_path: Path) -> None:
    assert issubclass(SoundFontError, UserError)
    with pytest.raises(SoundFontError, match="soundfont .*missing.sf2 not found"):
        resolve_soundfont(str(tmp_path / "missing.sf2"))
    (tmp_path / "notes.txt").write_text("la")
    with pytest.raises(SoundFontError, match="is not a SoundFont"):
        resolve_soundfont(str(tmp_path / "notes.txt"))
    broken = tmp_path / "broken.sf2"
    broken.write_bytes(b"not a soundfont")
    with pytest.raises(SoundFontError, match="cannot load soundfont .*broken.sf2"):
        FluidRenderer(broken, RATE)


def test_a_note_sounds_only_from_its_onset(renderer: FluidRenderer) -> None:
    notes = (Note(0.25, 0.75, 69, 100),)
    audio = renderer.render(notes, program=40, is_drum=False, n_samples=RATE)  # a violin A4
    assert audio.shape == (RATE,) and audio.dtype == np.float32
    onset = int(0.25 * RATE)
    assert np.max(np.abs(audio[:onset])) == 0.0
    assert _rms(audio[onset:onset + RATE // 4]) > 1e-3
    spectrum = np.abs(np.fft.rfft(audio[onset:onset + RATE // 4]))
    assert abs(np.argmax(spectrum) * 4 - 440) < 20  # bins of 4 Hz: the A at 440 Hz


def test_every_render_starts_fresh(renderer: FluidRenderer) -> None:
    notes = (Note(0.0, 0.3, 60, 90), Note(0.2, 0.5, 64, 90))
    first = renderer.render(notes, 0, False, RATE // 2)
    again = renderer.render(notes, 0, False, RATE // 2)
    assert np.array_equal(first, again)
    assert renderer.render((), 0, False, 1000).tolist() == [0.0] * 1000


def test_drums_play_on_the_percussion_channel(renderer: FluidRenderer) -> None:
    kick = renderer.render((Note(0.1, 0.2, 36, 120),), 0, True, RATE // 2)
    piano = renderer.render((Note(0.1, 0.2, 36, 120),), 0, False, RATE // 2)
    assert _rms(kick) > 1e-3 and not np.allclose(kick, piano, atol=1e-3)
