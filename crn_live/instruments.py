"""The instrument vocabulary: classes, their General MIDI voices, registers, ensemble roles and
the synonyms other detectors use for them. Plain data: imports nothing else of crn-live.

The 15 classes are those of the reference detector (Open Images instrument classes). Each maps to
one or more General MIDI programs (0-based), a playable register (MIDI note numbers) and the
ensemble roles it can take in procedural music. ``Drum`` plays on the percussion channel.
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
)

CLASSES: tuple[str, ...] = tuple(i.name for i in INSTRUMENTS)
BY_NAME: dict[str, Instrument] = {i.name: i for i in INSTRUMENTS}


def class_id(name: str) -> int:
    """Index of a class in :data:`CLASSES` (the detector's label id)."""
    return CLASSES.index(lookup(name).name)


def lookup(name: str) -> Instrument:
    """The instrument for a class name (case-insensitive); ValueError naming the known ones."""
    for instrument in INSTRUMENTS:
        if instrument.name.lower() == name.strip().lower():
            return instrument
    raise ValueError(f"unknown instrument class {name!r}; known: {', '.join(CLASSES)}")


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
    "Cello": ("violoncello", "double bass", "contrabass", "upright bass"),
    "Drum": ("drums", "drum kit", "drum set", "drumkit", "snare drum", "bass drum",
             "kick drum", "tom-tom", "floor tom", "timpani", "kettledrum", "bongo", "bongos",
             "conga", "djembe", "tabla", "cymbal", "cymbals", "hi-hat"),
    "Flute": ("transverse flute", "concert flute", "piccolo", "fife"),
    "Guitar": ("acoustic guitar", "electric guitar", "bass guitar", "classical guitar",
               "electric bass", "ukulele", "mandolin"),
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
    "Violin": ("fiddle", "viola"),
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
