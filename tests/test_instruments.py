"""The instrument vocabulary: 15 classes with GM voices and registers, case-insensitive lookup,
class lists, synonyms; plain data that imports nothing else of crn-live."""

from __future__ import annotations

import subprocess
import sys

import pytest

from crn_live.instruments import (BY_NAME, CLASSES, INSTRUMENTS, ROLES, SYNONYM_TABLE, SYNONYMS,
                                  class_id, lookup, normalise, parse_class_list)


def test_fifteen_classes_with_playable_registers() -> None:
    assert len(CLASSES) == 15 == len(set(CLASSES))
    assert CLASSES[:3] == ("Banjo", "Cello", "Drum") and CLASSES[-1] == "Horn"
    for instrument in INSTRUMENTS:
        assert BY_NAME[instrument.name] is instrument
        assert 0 <= instrument.low < instrument.high <= 127
        assert instrument.centre == (instrument.low + instrument.high) / 2
        assert instrument.programs and all(0 <= p <= 127 for p in instrument.programs)
        assert instrument.roles and set(instrument.roles) <= set(ROLES)
        assert instrument.is_drum == (instrument.name == "Drum") == ("drums" in instrument.roles)


def test_lookup_is_case_insensitive_and_strips_spaces() -> None:
    for text in ("violin", "VIOLIN", " Violin ", "vIoLiN"):
        assert lookup(text) is BY_NAME["Violin"]
    assert class_id("flute") == CLASSES.index("Flute")


def test_unknown_names_are_refused_naming_the_known_ones() -> None:
    for text in ("Kazoo", "", "fiddle"):  # a synonym is not a class name
        with pytest.raises(ValueError, match=f"unknown instrument class {text!r}") as info:
            lookup(text)
        assert ", ".join(CLASSES) in str(info.value)
    with pytest.raises(ValueError, match="Kazoo"):
        class_id("Kazoo")


def test_parse_class_list() -> None:
    assert parse_class_list("violin, Flute") == ("Violin", "Flute")
    assert parse_class_list(" cello,,CELLO , piano,") == ("Cello", "Piano")  # order, once each
    for text in ("", " , ,"):
        with pytest.raises(ValueError, match="empty class list"):
            parse_class_list(text)
    with pytest.raises(ValueError, match="unknown instrument class 'Kazoo'"):
        parse_class_list("Violin,Kazoo")


def test_synonyms_map_onto_our_classes() -> None:
    assert set(SYNONYM_TABLE) == set(CLASSES)
    for ours in CLASSES:
        assert SYNONYMS[ours.lower()] == ours
        for other in SYNONYM_TABLE[ours]:
            assert SYNONYMS[other] == ours and other == normalise(other)
    assert SYNONYMS["fiddle"] == "Violin" and SYNONYMS["cor anglais"] == "Oboe"
    assert SYNONYMS["double bass"] == "Cello" and SYNONYMS["french horn"] == "Horn"
    all_synonyms = [name for names in SYNONYM_TABLE.values() for name in names]
    assert len(all_synonyms) == len(set(all_synonyms))  # no name stands for two classes


def test_normalise() -> None:
    assert normalise(" French_horn ") == "french horn"
    assert normalise("Musical   Keyboard") == "musical keyboard"
    assert normalise("tom-tom") == "tom-tom"


def test_imports_nothing_of_crn_live() -> None:
    code = ("import sys, crn_live.instruments; "
            "print(sorted(m for m in sys.modules if m.startswith('crn_live')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip() == "['crn_live', 'crn_live.instruments']"
