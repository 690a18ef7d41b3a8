"""Which SoundFonts the corpus is rendered with: timbre diversity, a held-out font, a reserved one.

A model trained on one SoundFont learns that SoundFont's violin, not violins. The corpus can
therefore draw, for every stem on its own, a font from a *palette*:

================  ==================================  =======================  ==============
key               file                                Debian package           role
================  ==================================  =======================  ==============
``fluidr3``       ``FluidR3_GM.sf2`` (142 MB)          fluid-soundfont-gm       training
``sf_gmbank``     ``sf_GMbank.sf2`` (csound's GM)      csound-soundfont         training
``opl3``          ``OPL-3_FM_128M.sf2`` (FM chip)      opl3-soundfont           training
``black_pearl``   ``Black_Pearl_4_LV2.sf2`` (kit)      avldrums.lv2-soundfont   training, drums
``red_zeppelin``  ``Red_Zeppelin_4_LV2.sf2`` (kit)     avldrums.lv2-soundfont   training, drums
``timgm6mb``      ``TimGM6mb.sf2`` (also in            timgm6mb-soundfont /     held out
                  pretty_midi's wheel)                 pip pretty_midi
================  ==================================  =======================  ==============

``training`` names the training palette (melodic GM banks weighted 0.45 / 0.35 / 0.20, the FM
bank least, for it is the least like real instruments; drum stems also draw the two AVL kits),
``held-out`` names TimGM6mb alone: the font no training clip hears, our own check of how the
model carries to a timbre it never met. Any other ``.sf2``/``.sf3`` the user names joins as a
melodic GM bank (and as a drum kit, bank 128).

**Reserved.** The MuseScore General SoundFonts (Debian's ``musescore-general-soundfont*``, every
variant) are kept for held-out evaluation by others: a file whose name or whose SoundFont
header name (the RIFF ``INFO/INAM`` chunk) says "MuseScore General" is refused, whatever it is
called or linked as.
"""

from __future__ import annotations

import dataclasses
import os
import re
import struct
from pathlib import Path

import numpy as np

from crn_live.errors import UserError

SF2_DIRS = ("/usr/share/sounds/sf2", "/usr/share/soundfonts", "/usr/share/sounds/sf3")
RESERVED = re.compile(r"muse\s*score[\s_.-]*general", re.IGNORECASE)
GM_DRUM_BANK = 128


class SoundFontError(UserError):
    """No usable SoundFont, a reserved one, or no FluidSynth library."""


@dataclasses.dataclass(frozen=True)
class Known:
    """A SoundFont crn-synth knows by name: its file name, package, kind and drum kit."""

    key: str
    file: str
    package: str
    melodic: bool  # a General MIDI bank (programs 0-127 in bank 0)
    drum_bank: int = GM_DRUM_BANK  # where its drum kit is: GM bank 128, or bank 0 for kits
    weight: float = 1.0  # share in the training palette


KNOWN: dict[str, Known] = {k.key: k for k in (
    Known("fluidr3", "FluidR3_GM.sf2", "fluid-soundfont-gm", True, weight=0.45),
    Known("sf_gmbank", "sf_GMbank.sf2", "csound-soundfont", True, weight=0.35),
    Known("opl3", "OPL-3_FM_128M.sf2", "opl3-soundfont", True, weight=0.20),
    Known("black_pearl", "Black_Pearl_4_LV2.sf2", "avldrums.lv2-soundfont", False, drum_bank=0,
          weight=0.3),
    Known("red_zeppelin", "Red_Zeppelin_4_LV2.sf2", "avldrums.lv2-soundfont", False, drum_bank=0,
          weight=0.3),
    Known("timgm6mb", "TimGM6mb.sf2", "timgm6mb-soundfont", True),
)}
TRAINING = ("fluidr3", "sf_gmbank", "opl3", "black_pearl", "red_zeppelin")
HELD_OUT = ("timgm6mb",)
PALETTES = {"training": TRAINING, "held-out": HELD_OUT}


@dataclasses.dataclass(frozen=True)
class SoundFont:
    """One SoundFont file and how to play it: a GM bank and/or a drum kit at ``drum_bank``."""

    key: str
    path: Path
    melodic: bool = True
    drum_bank: int = GM_DRUM_BANK
    weight: float = 1.0

    def describe(self) -> dict:
        return {"key": self.key, "name": self.path.name}


def header_name(path: Path) -> str:
    """The SoundFont's own name (``INFO/INAM``), or "" when the file has none we can read."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"sfbk":
                return ""
            chunk = f.read(12)
            if len(chunk) < 12 or chunk[:4] != b"LIST" or chunk[8:12] != b"INFO":
                return ""
            remaining = struct.unpack("<I", chunk[4:8])[0] - 4
            while remaining >= 8:
                sub = f.read(8)
                if len(sub) < 8:
                    break
                size = struct.unpack("<I", sub[4:8])[0]
                data = f.read(size + (size & 1))
                if sub[:4] == b"INAM":
                    return data[:size].split(b"\0")[0].decode("latin-1").strip()
                remaining -= 8 + size + (size & 1)
    except OSError:
        return ""
    return ""


def check_not_reserved(path: Path) -> None:
    """SoundFontError if ``path`` is a MuseScore General SoundFont (name, link target or header)."""
    names = {path.name, Path(os.path.realpath(path)).name}
    if any(RESERVED.search(n) for n in names) or RESERVED.search(header_name(path)):
        raise SoundFontError(
            f"{path} is a MuseScore General SoundFont, which is reserved for held-out evaluation: "
            "crn-synth never renders with it; choose another SoundFont")


def bundled_timgm6mb() -> Path | None:
    """The TimGM6mb SoundFont that ships inside the ``pretty_midi`` wheel, if installed."""
    try:
        import pretty_midi
    except ImportError:
        return None
    path = Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"
    return path if path.is_file() else None


def locate(known: Known) -> Path | None:
    """Where a known font is installed (the usual folders; TimGM6mb also from pretty_midi)."""
    for folder in SF2_DIRS:
        candidate = Path(folder) / known.file
        if candidate.is_file():
            return candidate
    return bundled_timgm6mb() if known.key == "timgm6mb" else None


def named(key: str) -> SoundFont:
    """A known font by key, or SoundFontError with the package that provides it."""
    known = KNOWN[key]
    path = locate(known)
    if path is None:
        hint = " (or pip install pretty_midi)" if key == "timgm6mb" else ""
        raise SoundFontError(f"soundfont {key} ({known.file}) is not installed: "
                             f"apt-get install {known.package}{hint}")
    return SoundFont(key, path, known.melodic, known.drum_bank, known.weight)


def from_file(text: str) -> SoundFont:
    """A user's ``.sf2``/``.sf3`` file: checked to exist, to be a SoundFont, not reserved."""
    path = Path(text).expanduser()
    if not path.is_file():
        raise SoundFontError(f"soundfont {path} not found; pass an existing .sf2/.sf3 file")
    if path.suffix.lower() not in (".sf2", ".sf3"):
        raise SoundFontError(f"{path} is not a SoundFont (.sf2/.sf3)")
    check_not_reserved(path)
    for known in KNOWN.values():  # a known font passed by path keeps its kit bank
        if path.name == known.file:
            return SoundFont(known.key, path, known.melodic, known.drum_bank, known.weight)
    return SoundFont(path.stem, path)


def resolve(requested: str | None) -> tuple[SoundFont, ...]:
    """The fonts of a request: a comma-separated list of keys, files, ``training`` or
    ``held-out``; None gives FluidR3 (else TimGM6mb), as crn-synth always did."""
    if not requested:
        for key in ("fluidr3", "timgm6mb"):
            try:
                return (named(key),)
            except SoundFontError:
                continue
        raise SoundFontError("no SoundFont found: apt-get install fluid-soundfont-gm, "
                             "or pass --soundfont FILE.sf2")
    fonts: list[SoundFont] = []
    for item in (part.strip() for part in requested.split(",")):
        if not item:
            continue
        lowered = item.lower()
        if RESERVED.search(item):
            raise SoundFontError(f"{item}: the MuseScore General SoundFonts are reserved for "
                                 "held-out evaluation; choose another SoundFont")
        if lowered in PALETTES:
            keys = PALETTES[lowered]
            missing = sorted({KNOWN[k].package for k in keys if locate(KNOWN[k]) is None})
            if missing:
                raise SoundFontError(f"the {lowered} soundfonts are not all installed: "
                                     f"apt-get install {' '.join(missing)}")
            fonts.extend(named(k) for k in keys)
        elif lowered in KNOWN:
            fonts.append(named(lowered))
        elif lowered.endswith((".sf2", ".sf3")) or os.sep in item:
            fonts.append(from_file(item))
        else:
            choices = ", ".join([*PALETTES, *KNOWN])
            raise SoundFontError(f"unknown soundfont {item!r}: pass a .sf2/.sf3 file or one of "
                                 f"{choices}")
    unique = tuple(dict((f.path, f) for f in fonts).values())
    if not any(f.melodic for f in unique):
        raise SoundFontError(f"{requested}: no General MIDI bank among these soundfonts (the "
                             "drum kits play only drums); add one, e.g. fluidr3")
    return unique


@dataclasses.dataclass(frozen=True)
class Palette:
    """The fonts a corpus draws from, one draw per stem (weights: each font's share)."""

    fonts: tuple[SoundFont, ...]

    def __post_init__(self) -> None:
        if not any(f.melodic for f in self.fonts):
            raise ValueError("a palette needs at least one General MIDI bank")

    def choices(self, is_drum: bool) -> tuple[SoundFont, ...]:
        return tuple(f for f in self.fonts if is_drum or f.melodic)

    def draw(self, rng: np.random.Generator, is_drum: bool, drum_kit: bool = True) -> SoundFont:
        """A font for one stem. ``drum_kit``: whether the part needs a full kit (the ``Drum``
        class) rather than GM percussion keys only a GM bank has (congas, ...)."""
        fonts = self.choices(is_drum) if (not is_drum or drum_kit) else self.choices(False)
        if len(fonts) == 1:
            return fonts[0]
        weights = np.array([f.weight for f in fonts], np.float64)
        return fonts[int(rng.choice(len(fonts), p=weights / weights.sum()))]

    def describe(self) -> list[dict]:
        return [f.describe() for f in self.fonts]
