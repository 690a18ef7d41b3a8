"""The instrument vocabulary: 28 classes with GM voices and registers, lookup by name or synonym
(case-insensitive, close matches for unknown names), class lists, synonyms; plain data that
imports nothing else of crn-live."""

from __future__ import annotations

import subprocess
import sys

import pytest

from crn_live.instruments import (BY_NAME, CLASSES, INSTRUMENTS, ROLES, SYNONYM_TABLE, SYNONYMS,
                                  class_id, close_matches, lookup, normalise, parse_class_list)

NEW_CLASSES = ("Clarinet", "Bassoon", "Viola", "Double bass", "Tuba", "Xylophone",
               "Electric bass", "Ukulele", "Bagpipes", "Congas", "Erhu", "Guzheng", "Pipa")
#: The 21 categories of MUSIC-21 (the reference's training data) and URMP's instruments.
MUSIC21 = ("accordion", "acoustic_guitar", "bagpipe", "banjo", "bassoon", "cello", "clarinet",
           "congas", "drum", "electric_bass", "erhu", "flute", "guzheng", "piano", "pipa",
           "saxophone", "trumpet", "tuba", "ukulele", "violin", "xylophone")
URMP = ("violin", "viola", "cello", "double bass", "flute", "oboe", "clarinet", "saxophone",
        "bassoon", "trumpet", "horn", "trombone", "tuba")


def test_the_open_images_fifteen_then_the_thirteen_real_ensembles_need() -> None:
    assert len(CLASSES) == 28 == len(set(CLASSES))
    assert CLASSES[:3] == ("Banjo", "Cello", "Drum") and CLASSES[14] == "Horn"
    assert CLASSES[15:] == NEW_CLASSES  # old class ids keep their numbers
    for name in MUSIC21 + URMP:
        lookup(name)  # every MUSIC-21 category and URMP instrument has a class


def test_gm_has_no_program_for_four_so_they_name_their_playing() -> None:
    styles = {i.name: i.style for i in INSTRUMENTS if i.style}
    assert styles == {"Erhu": "glide", "Guzheng": "glissando", "Pipa": "tremolo",
                      "Ukulele": "strum", "Bagpipes": "drone"}
    assert BY_NAME["Congas"].is_drum and BY_NAME["Congas"].drum_notes == (62, 63, 64)
    assert BY_NAME["Guzheng"].programs == (107,) and BY_NAME["Pipa"].programs == (106,)


def test_classes_with_playable_registers() -> None:
    for instrument in INSTRUMENTS:
        assert BY_NAME[instrument.name] is instrument
        assert 0 <= instrument.low < instrument.high <= 127
        assert instrument.centre == (instrument.low + instrument.high) / 2
        assert instrument.programs and all(0 <= p <= 127 for p in instrument.programs)
        assert instrument.roles and set(instrument.roles) <= set(ROLES)
        assert instrument.is_drum == (instrument.name in ("Drum", "Congas")) \
            == ("drums" in instrument.roles)


def test_lookup_is_case_insensitive_and_strips_spaces() -> None:
    for text in ("violin", "VIOLIN", " Violin ", "vIoLiN"):
        assert lookup(text) is BY_NAME["Violin"]
    assert class_id("flute") == CLASSES.index("Flute")


def test_synonyms_and_any_spelling_of_a_name_find_the_class() -> None:
    assert lookup("fiddle") is BY_NAME["Violin"]
    assert lookup("Contrabass") is lookup("double_bass") is lookup(" DOUBLE  bass") \
        is BY_NAME["Double bass"]
    assert lookup("marimba") is BY_NAME["Xylophone"] and lookup("conga") is BY_NAME["Congas"]
    assert class_id("viola") == CLASSES.index("Viola")


def test_unknown_names_are_refused_in_one_line_with_close_matches() -> None:
    with pytest.raises(ValueError, match="did you mean Violin") as info:
        lookup("violn")
    assert "\n" not in str(info.value)
    assert close_matches("celo") == ["Cello"] and close_matches("clarnet")[0] == "Clarinet"
    for text in ("Didgeridoo", ""):  # nothing close: every class is named
        with pytest.raises(ValueError, match=f"unknown instrument {text!r}") as info:
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
    with pytest.raises(ValueError, match="unknown instrument 'Kazoo'"):
        parse_class_list("Violin,Kazoo")


def test_synonyms_map_onto_our_classes() -> None:
    assert set(SYNONYM_TABLE) == set(CLASSES)
    for ours in CLASSES:
        assert SYNONYMS[ours.lower()] == ours
        for other in SYNONYM_TABLE[ours]:
            assert SYNONYMS[other] == ours and other == normalise(other)
    assert SYNONYMS["fiddle"] == "Violin" and SYNONYMS["cor anglais"] == "Oboe"
    assert SYNONYMS["double bass"] == "Double bass" and SYNONYMS["french horn"] == "Horn"
    assert SYNONYMS["contrabass"] == "Double bass" and SYNONYMS["marimba"] == "Xylophone"
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
