"""Which SoundFonts render the corpus: named fonts and palettes, user files, per-stem draws,
drum kits at their own bank, and the MuseScore General fonts refused whatever they are called."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from crn_live.data import soundfonts
from crn_live.data.soundfonts import (Palette, SoundFont, SoundFontError, check_not_reserved,
                                      header_name, resolve)
from crn_live.errors import UserError

FLUIDR3 = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")


def _sf2(path: Path, name: str) -> Path:
    """A minimal RIFF/sfbk file whose INFO list carries ``name`` as INAM (header only)."""
    inam = name.encode("latin-1") + b"\0"
    if len(inam) % 2:
        inam += b"\0"
    info = b"INFO" + b"ifil" + struct.pack("<I", 4) + struct.pack("<HH", 2, 1) + \
        b"INAM" + struct.pack("<I", len(inam)) + inam
    body = b"sfbk" + b"LIST" + struct.pack("<I", len(info)) + info
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


def test_header_name_reads_the_info_chunk(tmp_path: Path) -> None:
    assert header_name(_sf2(tmp_path / "a.sf2", "Some Bank")) == "Some Bank"
    assert header_name(FLUIDR3) == "Fluid R3 GM"
    (tmp_path / "b.sf2").write_bytes(b"not riff at all")
    assert header_name(tmp_path / "b.sf2") == ""


@pytest.mark.parametrize("name", ["MuseScore_General.sf3", "MuseScore_General-HQ.sf3",
                                  "musescore-general-lossless.sf2", "MuseScore General.sf2"])
def test_musescore_general_is_refused_by_file_name(tmp_path: Path, name: str) -> None:
    path = _sf2(tmp_path / name, "anything")
    with pytest.raises(SoundFontError, match="reserved for held-out evaluation"):
        resolve(str(path))


def test_musescore_general_is_refused_by_header_and_link(tmp_path: Path) -> None:
    renamed = _sf2(tmp_path / "bank.sf2", "MuseScore General")
    with pytest.raises(SoundFontError, match="reserved"):
        check_not_reserved(renamed)
    target = _sf2(tmp_path / "MuseScore_General.sf2", "x")
    link = tmp_path / "innocent.sf2"
    link.symlink_to(target)
    with pytest.raises(SoundFontError, match="reserved"):
        resolve(f"fluidr3,{link}")
    with pytest.raises(SoundFontError, match="reserved"):
        resolve("musescore_general")
    check_not_reserved(_sf2(tmp_path / "other.sf2", "General bank"))  # others pass
    assert issubclass(SoundFontError, UserError)


def test_named_fonts_palettes_and_files() -> None:
    (fluid,) = resolve("fluidr3")
    assert fluid.path == FLUIDR3 and fluid.melodic and fluid.drum_bank == 128
    (default,) = resolve(None)
    assert default.key == "fluidr3"
    (held,) = resolve("held-out")
    assert held.key == "timgm6mb" and held.path.is_file()
    assert resolve(f"{FLUIDR3}")[0].key == "fluidr3"  # a known file by path keeps its key
    both = resolve(f"fluidr3, {FLUIDR3}, timgm6mb")
    assert [f.key for f in both] == ["fluidr3", "timgm6mb"]  # one entry per file
    assert set(soundfonts.TRAINING).isdisjoint(soundfonts.HELD_OUT)


def test_missing_and_unknown_fonts_say_what_to_do(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(soundfonts, "SF2_DIRS", (str(tmp_path),))
    with pytest.raises(SoundFontError, match="training soundfonts are not all installed: apt-get install avldrums.lv2-soundfont csound-soundfont fluid-soundfont-gm opl3-soundfont$"):
        resolve("training")
    with pytest.raises(SoundFontError, match="unknown soundfont 'fluidr4'.*training"):
        resolve("fluidr4")
    with pytest.raises(SoundFontError, match="not found"):
        resolve(str(tmp_path / "nope.sf2"))
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(SoundFontError, match="is not a SoundFont"):
        resolve(str(tmp_path / "notes.txt"))


def test_a_palette_of_drum_kits_alone_is_refused(tmp_path: Path, monkeypatch) -> None:
    kit = tmp_path / "Black_Pearl_4_LV2.sf2"
    _sf2(kit, "Black Pearl")
    monkeypatch.setattr(soundfonts, "SF2_DIRS", (str(tmp_path),))
    with pytest.raises(SoundFontError, match="no General MIDI bank"):
        resolve("black_pearl")


def test_each_stem_draws_its_font_by_weight() -> None:
    gm_a = SoundFont("a", Path("a.sf2"), weight=0.7)
    gm_b = SoundFont("b", Path("b.sf2"), weight=0.3)
    kit = SoundFont("kit", Path("kit.sf2"), melodic=False, drum_bank=0, weight=1.0)
    palette = Palette((gm_a, gm_b, kit))
    rng = np.random.default_rng(0)
    melodic = [palette.draw(rng, is_drum=False).key for _ in range(2000)]
    assert "kit" not in melodic  # a kit has no violin
    assert 0.65 < melodic.count("a") / 2000 < 0.75
    drums = [palette.draw(rng, is_drum=True).key for _ in range(2000)]
    assert 0.45 < drums.count("kit") / 2000 < 0.55
    congas = {palette.draw(rng, is_drum=True, drum_kit=False).key for _ in range(200)}
    assert congas == {"a", "b"}  # GM percussion keys need a GM kit
    again = np.random.default_rng(0)
    assert [palette.draw(again, is_drum=False).key for _ in range(2000)] == melodic
    with pytest.raises(ValueError):
        Palette((kit,))


@pytest.mark.skipif(not Path("/usr/share/sounds/sf2/Black_Pearl_4_LV2.sf2").is_file(),
                    reason="apt-get install avldrums.lv2-soundfont (scripts/install.sh does)")
def test_a_kit_only_font_plays_its_kit_from_bank_0() -> None:
    from crn_live.data.music import Note
    from crn_live.data.render import FluidRenderer

    (kit,) = [f for f in resolve("fluidr3,black_pearl") if f.key == "black_pearl"]
    assert not kit.melodic and kit.drum_bank == 0
    notes = tuple(Note(0.25 * i, 0.25 * i + 0.2, key, 100) for i, key in enumerate((36, 38, 42)))
    played = FluidRenderer(kit.path, 22050, drum_bank=kit.drum_bank).render(
        notes, 0, True, 22050)
    for i in range(3):  # kick, snare, hat: each sounds in its own quarter second
        assert np.abs(played[int(0.25 * i * 22050):int((0.25 * i + 0.2) * 22050)]).max() > 0.01
    silent = FluidRenderer(kit.path, 22050).render(notes, 0, True, 22050)  # bank 128: no kit
    assert np.abs(silent).max() == 0.0
