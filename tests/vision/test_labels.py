"""Class names of external detectors -> our classes: labels files with overrides, ONNX metadata,
the synonym table and the names deliberately left unmapped."""

from __future__ import annotations

from pathlib import Path

import pytest

from crn_live.errors import UserError
from crn_live.instruments import CLASSES
from crn_live.vision.labels import (SYNONYMS, class_map, first_line, labels_from_metadata,
                                    normalise, our_class, read_labels)

OPEN_IMAGES = {"Accordion": "Accordion", "Banjo": "Banjo", "Cello": "Cello", "Drum": "Drum",
               "Flute": "Flute", "French horn": "Horn", "Guitar": "Guitar",
               "Harmonica": "Harmonica", "Harp": "Harp", "Musical keyboard": "Piano",
               "Oboe": "Oboe", "Piano": "Piano", "Saxophone": "Saxophone",
               "Trombone": "Trombone", "Trumpet": "Trumpet", "Violin": "Violin"}


def _labels(tmp_path: Path, lines: list[str]) -> Path:
    """A labels file ``l.txt`` of ``lines``."""
    path = tmp_path / "l.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_read_labels_comments_blanks_and_overrides(tmp_path: Path) -> None:
    path = _labels(tmp_path, ["# YOLO classes", "", "Person = violin", "  Car  ",
                              "Violin = -", "Clarinet = Saxophone"])
    labels = read_labels(path)
    assert labels.names == ("Person", "Car", "Violin", "Clarinet")
    assert labels.overrides == {"person": "Violin", "violin": None, "clarinet": "Saxophone"}
    ids = class_map(labels.names, labels.overrides)
    assert ids.tolist() == [CLASSES.index("Violin"), -1, -1, CLASSES.index("Saxophone")]


def test_override_to_unknown_class(tmp_path: Path) -> None:
    path = _labels(tmp_path, ["Person = Kazoo"])
    with pytest.raises(UserError, match=r"l.txt:1: 'Kazoo' is not a class"):
        read_labels(path)
    with pytest.raises(UserError, match="Kazoo"):
        class_map(["Person"], {"Person": "Kazoo"})


def test_synonyms_cover_our_classes_and_open_images() -> None:
    for ours in CLASSES:
        assert SYNONYMS[ours.lower()] == ours
        assert class_map([ours.upper()]).tolist() == [CLASSES.index(ours)]
    for name, ours in OPEN_IMAGES.items():
        assert SYNONYMS[normalise(name)] == ours
    assert set(SYNONYMS.values()) <= set(CLASSES)
    assert all(key == normalise(key) for key in SYNONYMS)


def test_common_synonyms_and_ambiguous_names() -> None:
    expected = {"acoustic guitar": "Guitar", "electric_guitar": "Guitar",
                "bass guitar": "Electric bass", "Contrabass": "Double bass",
                "Marimba": "Xylophone", "conga": "Congas", "koto": "Guzheng",
                "grand piano": "Piano", "upright piano": "Piano", "keyboard instrument": "Piano",
                "drum kit": "Drum", "snare drum": "Drum", "tom-tom": "Drum", "timpani": "Drum",
                "fiddle": "Violin", "sax": "Saxophone", "tenor saxophone": "Saxophone",
                "horn": "Horn", "cornet": "Trumpet", "English horn": "Oboe"}
    ids = class_map(list(expected))
    assert [CLASSES[i] for i in ids] == list(expected.values())
    unmapped = ["bass", "keyboard", "Musical instrument", "Computer keyboard", "Organ (Musical Instrument)",
                "Person", "recorder"]
    assert class_map(unmapped).tolist() == [-1] * len(unmapped)


def test_labels_files_that_list_nothing_or_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="lists no class names"):
        read_labels(_labels(tmp_path, ["# only a comment", ""]))
    with pytest.raises(UserError, match=r"l.txt:2: no class name before '='"):
        read_labels(_labels(tmp_path, ["Person", " = Violin"]))
    with pytest.raises(UserError, match="cannot read labels file"):
        read_labels(tmp_path / "absent.txt")
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(UserError, match="cannot read labels file .*UnicodeDecodeError"):
        read_labels(binary)


def test_our_class_is_a_case_insensitive_lookup() -> None:
    assert our_class("violin") == "Violin" and our_class(" HORN ") == "Horn"
    with pytest.raises(UserError, match="'Kazoo' is not a class crn-live separates") as info:
        our_class("Kazoo")
    assert ", ".join(CLASSES) in str(info.value)


@pytest.mark.parametrize("names, expected", [
    ("{0: 'person', 1: 'violin'}", ["person", "violin"]),
    ("{1: 'violin', 0: 'person'}", ["person", "violin"]),
    ("['person', 'violin']", ["person", "violin"]),
    ("{0: 'person', 2: 'violin'}", None),  # not contiguous
    ("{'a': 'person'}", None),
    ("{}", None),
    ("[]", None),
    ("not python", None),
    ("", None),
])
def test_labels_from_metadata(names: str, expected: list[str] | None) -> None:
    assert labels_from_metadata({"names": names}) == expected
    assert labels_from_metadata({}) is None


def test_first_line() -> None:
    assert first_line(ValueError("first\nsecond")) == "first"
    assert first_line(ValueError("")) == "ValueError"
    assert len(first_line(ValueError("x" * 500))) == 160
