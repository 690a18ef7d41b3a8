"""The instrument vocabulary: classes, their General MIDI voices, registers, ensemble roles and
the synonyms other detectors use for them. Plain data: imports nothing else of crn-live.

28 classes: the 15 Open Images instrument classes of the reference detector, then the 13 that
real ensembles need beyond them (MUSIC-21, the reference's training data, and URMP chamber
music): Clarinet, Bassoon, Viola, Double bass, Tuba, Xylophone, Electric bass, Ukulele,
Bagpipes, Congas, Erhu, Guzheng and Pipa. With them every MUSIC-21 class and every URMP
instrument has a class (``acoustic_guitar`` is ``Guitar``).

Each class maps to one or more General MIDI programs (0-based), a playable register (MIDI note
numbers) and the ensemble roles it can take in procedural music. ``Drum`` and ``Congas`` play on
the percussion channel (``drum_notes``: the GM percussion keys they use). General MIDI has no
program for four of them; the closest one is used in that instrument's register and
``style`` names the playing the renderer adds to make it sound like the instrument:

* Erhu: Violin (40; 110 Fiddle as a second timbre), D4-A6, ``glide`` (portamento slides
  between notes and a wide, slow vibrato through pitch bend).
* Guzheng: Koto (107), the closest plucked zither, D2-D6, ``glissando`` (pentatonic grace
  sweeps into phrase notes).
* Pipa: Shamisen (106), the closest plucked lute, A2-E6, ``tremolo`` (long notes re-plucked
  at 12-16 strokes per second, the lunzhi technique).
* Ukulele: Acoustic Guitar nylon (24), re-entrant register C4-A5 (``G4 C4 E4 A4`` tuning), short
  ``strum`` chords.

``Bagpipes`` (109) keep a ``drone`` under the chanter; the drone belongs to the same stem.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Instrument:
    """One instrument class: GM programs, register ``[low, high]`` and the roles it can play."""

    name: str
    programs: tuple[int, ...]
    low: int
    high: int
    roles: tuple[str, ...]
    is_drum: bool = False
    #: GM percussion keys (channel 10) a drum class plays; empty for pitched classes and for
    #: ``Drum``, whose kit groove is written by :func:`crn_live.data.music.write_drums`.
    drum_notes: tuple[int, ...] = ()
    #: Playing the renderer adds: "", "glide", "glissando", "tremolo", "strum" or "drone".
    style: str = ""

    @property
    def centre(self) -> float:
        return (self.low + self.high) / 2


ROLES = ("melody", "counter", "bass", "chords", "arpeggio", "drums")

INSTRUMENTS: tuple[Instrument, ...] = (
    Instrument("Banjo", (105,), 48, 79, ("chords", "arpeggio", "melody")),
    Instrument("Cello", (42,), 36, 69, ("bass", "counter", "melody")),
    Instrument("Drum", (0,), 35, 81, ("drums",), is_drum=True),
    Instrument("Guitar", (24, 25, 26, 27), 40, 76, ("chords", "arpeggio", "bass", "melody")),
    Instrument("Harp", (46,), 36, 91, ("arpeggio", "chords", "melody")),
    Instrument("Harmonica", (22,), 60, 84, ("melody", "chords")),
    Instrument("Oboe", (68,), 58, 88, ("melody", "counter")),
    Instrument("Piano", (0, 1), 36, 96, ("chords", "arpeggio", "bass", "melody")),
    Instrument("Saxophone", (64, 65, 66), 49, 80, ("melody", "counter")),
    Instrument("Trombone", (57,), 40, 70, ("bass", "counter", "melody")),
    Instrument("Trumpet", (56, 59), 55, 82, ("melody", "counter")),
    Instrument("Violin", (40, 110), 55, 93, ("melody", "counter")),
    Instrument("Flute", (73,), 60, 96, ("melody", "counter")),
    Instrument("Accordion", (21, 23), 53, 84, ("chords", "melody", "counter")),
    Instrument("Horn", (60,), 41, 77, ("counter", "bass", "melody")),
    Instrument("Clarinet", (71,), 50, 89, ("melody", "counter")),
    Instrument("Bassoon", (70,), 34, 72, ("bass", "counter", "melody")),
    Instrument("Viola", (41,), 48, 84, ("counter", "melody")),
    Instrument("Double bass", (43, 32), 28, 60, ("bass",)),
    Instrument("Tuba", (58,), 28, 58, ("bass",)),
    Instrument("Xylophone", (13, 12), 65, 96, ("melody", "arpeggio")),
    Instrument("Electric bass", (33, 34), 28, 60, ("bass",)),
    Instrument("Ukulele", (24,), 60, 81, ("chords", "arpeggio", "melody"), style="strum"),
    Instrument("Bagpipes", (109,), 55, 81, ("melody",), style="drone"),
    Instrument("Congas", (0,), 62, 64, ("drums",), is_drum=True, drum_notes=(62, 63, 64)),
    Instrument("Erhu", (40, 110), 62, 93, ("melody", "counter"), style="glide"),
    Instrument("Guzheng", (107,), 38, 86, ("arpeggio", "melody", "chords"), style="glissando"),
    Instrument("Pipa", (106,), 45, 88, ("melody", "arpeggio"), style="tremolo"),
)

CLASSES: tuple[str, ...] = tuple(i.name for i in INSTRUMENTS)
BY_NAME: dict[str, Instrument] = {i.name: i for i in INSTRUMENTS}


def class_id(name: str) -> int:
    """Index of a class in :data:`CLASSES` (the detector's label id)."""
    return CLASSES.index(lookup(name).name)


def lookup(name: str) -> Instrument:
    """The instrument for a class name or one of its synonyms (case, spaces and underscores
    do not matter: ``"double_bass"``, ``"Contrabass"``); ValueError with the close matches."""
    key = normalise(name)
    for instrument in INSTRUMENTS:
        if normalise(instrument.name) == key:
            return instrument
    if key in SYNONYMS:
        return BY_NAME[SYNONYMS[key]]
    raise ValueError(unknown_message(name))


def close_matches(name: str, n: int = 3) -> list[str]:
    """Up to ``n`` class names whose name or a synonym is spelled like ``name``."""
    import difflib

    key = normalise(name)
    names = {normalise(c): c for c in CLASSES} | SYNONYMS
    found = difflib.get_close_matches(key, list(names), n=3 * n, cutoff=0.75)
    return list(dict.fromkeys(names[f] for f in found))[:n]


def unknown_message(name: str) -> str:
    """One line for an unknown instrument name: close matches, else every class."""
    close = close_matches(name)
    if close:
        return f"unknown instrument {name!r}: did you mean {' or '.join(close)}?"
    return f"unknown instrument {name!r}; known: {', '.join(CLASSES)}"


def parse_class_list(text: str) -> tuple[str, ...]:
    """``"violin, Flute"`` -> ``("Violin", "Flute")``; ValueError for an unknown name."""
    names = [part for part in (p.strip() for p in text.split(",")) if part]
    if not names:
        raise ValueError("empty class list")
    return tuple(dict.fromkeys(lookup(n).name for n in names))


#: Our class -> other names for it (Open Images, Objects365, COCO-style and common names),
#: lower case; see :mod:`crn_live.vision.labels` for what is deliberately not mapped.
SYNONYM_TABLE: dict[str, tuple[str, ...]] = {
    "Accordion": ("piano accordion", "button accordion", "concertina", "bandoneon"),
    "Banjo": (),
    "Cello": ("violoncello",),
    "Drum": ("drums", "drum kit", "drum set", "drumkit", "snare drum", "bass drum",
             "kick drum", "tom-tom", "floor tom", "timpani", "kettledrum", "bongo", "bongos",
             "djembe", "tabla", "cymbal", "cymbals", "hi-hat"),
    "Flute": ("transverse flute", "concert flute", "piccolo", "fife"),
    "Guitar": ("acoustic guitar", "electric guitar", "classical guitar",
               "mandolin"),
    "Harp": ("concert harp",),
    "Harmonica": ("mouth organ", "blues harp"),
    "Horn": ("french horn", "natural horn", "mellophone"),
    "Oboe": ("english horn", "cor anglais"),
    "Piano": ("grand piano", "upright piano", "musical keyboard", "keyboard instrument",
              "electric piano", "digital piano", "electronic keyboard", "synthesizer"),
    "Saxophone": ("sax", "soprano saxophone", "alto saxophone", "tenor saxophone",
                  "baritone saxophone", "alto sax", "tenor sax"),
    "Trombone": ("tenor trombone", "bass trombone", "slide trombone"),
    "Trumpet": ("cornet", "flugelhorn", "piccolo trumpet", "bugle"),
    "Violin": ("fiddle",),
    "Clarinet": ("bass clarinet", "b-flat clarinet", "clarinette"),
    "Bassoon": ("contrabassoon", "fagott"),
    "Viola": ("alto violin",),
    "Double bass": ("contrabass", "upright bass", "string bass", "acoustic bass",
                    "bass violin", "doublebass"),
    "Tuba": ("sousaphone", "euphonium", "helicon"),
    "Xylophone": ("marimba", "glockenspiel", "vibraphone", "metallophone"),
    "Electric bass": ("bass guitar", "electric bass guitar"),
    "Ukulele": ("ukelele", "uke"),
    "Bagpipes": ("bagpipe", "highland bagpipe", "uilleann pipes"),
    "Congas": ("conga", "conga drum", "congas drum", "tumbadora"),
    "Erhu": ("huqin", "chinese violin", "chinese fiddle"),
    "Guzheng": ("zheng", "chinese zither", "koto", "zither"),
    "Pipa": ("chinese lute",),
}

#: Normalised external class name -> our class name (see the module docstring).
SYNONYMS: dict[str, str] = {
    name: ours
    for ours in CLASSES
    for name in (ours.lower(), *SYNONYM_TABLE.get(ours, ()))
}


def normalise(name: str) -> str:
    """``" French_horn "`` -> ``"french horn"``: the key used in :data:`SYNONYMS`."""
    return " ".join(name.replace("_", " ").lower().split())
