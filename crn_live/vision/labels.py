"""Class names of an external detector -> our instrument classes (the synonym table).

An external detector (e.g. an Ultralytics YOLOv8 model trained on Open Images V7) has its own class
list. Each of its names is looked up, lower-cased with ``_`` read as a space, in :data:`SYNONYMS`;
a name not in the table is not an instrument crn-live separates and its boxes are dropped.

=========  ====================================================================================
Ours       External names mapped onto it
=========  ====================================================================================
Accordion  accordion, piano accordion, button accordion, concertina, bandoneon
Banjo      banjo
Cello      cello, violoncello, double bass, contrabass, upright bass (the low bowed strings)
Drum       drum, drums, drum kit, drum set, drumkit, snare drum, bass drum, kick drum, tom-tom,
           floor tom, timpani, kettledrum, bongo(s), conga, djembe, tabla, cymbal(s), hi-hat
Flute      flute, transverse flute, concert flute, piccolo, fife
Guitar     guitar, acoustic guitar, electric guitar, bass guitar, classical guitar, electric bass,
           ukulele, mandolin (plucked strings we have no class for)
Harp       harp, concert harp
Harmonica  harmonica, mouth organ, blues harp
Horn       horn, french horn, natural horn, mellophone
Oboe       oboe, english horn, cor anglais (an oboe, not a horn)
Piano      piano, grand piano, upright piano, musical keyboard, keyboard instrument,
           electric piano, digital piano, electronic keyboard, synthesizer
Saxophone  saxophone, sax, soprano / alto / tenor / baritone saxophone, alto sax, tenor sax
Trombone   trombone, tenor trombone, bass trombone, slide trombone
Trumpet    trumpet, cornet, flugelhorn, piccolo trumpet, bugle
Violin     violin, fiddle, viola (the closest bowed string of ours)
=========  ====================================================================================

Open Images V7 names covered: Accordion, Banjo, Cello, Drum, Flute, French horn, Guitar, Harmonica,
Harp, Musical keyboard, Oboe, Piano, Saxophone, Trombone, Trumpet, Violin.

Deliberately **not** mapped:

* ``keyboard`` (COCO class 66 is a computer keyboard), ``computer keyboard``;
* ``musical instrument`` (Open Images' generic parent box: no class of ours);
* ``organ (musical instrument)``, ``organ`` (a sustained organ is not a piano; ``organ`` alone
  may be a body part), ``recorder`` (also a tape recorder), ``bass`` (also a fish);
* ``maracas``, ``chime``, ``clarinet``, ``bassoon``, ``tuba``: instruments we have no class
  for; mapping them onto a neighbour would separate them with the wrong timbre.

A labels file (:func:`read_labels`) overrides the table per name: ``Clarinet = Saxophone`` maps a
name onto one of our classes, ``Violin = -`` drops it.
"""

from __future__ import annotations

import ast
import dataclasses
import os
from collections.abc import Mapping, Sequence

import numpy as np
import onnx

from crn_live.errors import UserError
from crn_live.instruments import CLASSES, SYNONYMS, lookup, normalise

#: A labels-file override value that drops a name (maps it to no class).
DROP = "-"


@dataclasses.dataclass(frozen=True)
class ExternalLabels:
    """A labels file: class ``names`` in output order and per-name ``overrides``.

    ``overrides`` maps a normalised name (:func:`normalise`) to one of :data:`CLASSES`, or to
    None where the name must not be mapped.
    """

    names: tuple[str, ...]
    overrides: dict[str, str | None]


def our_class(name: str) -> str:
    """Our class name for ``name`` (case-insensitive); UserError naming the known ones."""
    try:
        return lookup(name).name
    except ValueError:
        raise UserError(f"{name!r} is not a class crn-live separates; use one of "
                        f"{', '.join(CLASSES)} (or '-' to drop the name)") from None


def read_labels(path: str | os.PathLike) -> ExternalLabels:
    """Read a labels file: one external class name per line, in the detector's output order.

    Blank lines and lines starting with ``#`` are skipped. ``name = Violin`` lists ``name`` and
    maps it onto our ``Violin``; ``name = -`` lists it and never maps it.
    """
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"cannot read labels file {path}: {e.__class__.__name__}; give a text "
                        f"file with one class name per line") from None
    names: list[str] = []
    overrides: dict[str, str | None] = {}
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, equals, target = (part.strip() for part in line.rpartition("="))
        if not equals:
            name, target = line, ""
        if not name:
            raise UserError(f"{path}:{number}: no class name before '='; write 'name = Violin'")
        names.append(name)
        if equals:
            overrides[normalise(name)] = _override(target, f"{path}:{number}")
    if not names:
        raise UserError(f"labels file {path} lists no class names; write one name per line "
                        f"in the detector's output order")
    return ExternalLabels(tuple(names), overrides)


def _override(target: str, where: str) -> str | None:
    """A labels-file override value -> our class name, or None for ``-``."""
    if target == DROP:
        return None
    try:
        return our_class(target)
    except UserError as e:
        raise UserError(f"{where}: {e}") from None


def labels_from_metadata(props: Mapping[str, str]) -> list[str] | None:
    """Class names from ONNX metadata ``props`` (Ultralytics' ``names``), or None when absent.

    ``names`` is a Python dict literal ``"{0: 'person', 1: 'bicycle'}"`` (or a list literal);
    the names come back in index order. Unparsable or non-contiguous indices count as absent.
    """
    text = props.get("names")
    if not text:
        return None
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value] or None
    if not isinstance(value, dict) or not value:
        return None
    try:
        by_index = {int(k): str(v) for k, v in value.items()}
    except (TypeError, ValueError):
        return None
    if sorted(by_index) != list(range(len(by_index))):
        return None
    return [by_index[i] for i in range(len(by_index))]


def labels_from_onnx(model: onnx.ModelProto | str | os.PathLike) -> list[str] | None:
    """Class names stored in an ONNX model's ``metadata_props`` (``names``), or None."""
    if not isinstance(model, onnx.ModelProto):
        try:
            model = onnx.load(os.fspath(model), load_external_data=False)
        except Exception as e:  # noqa: BLE001 - onnx raises many kinds for a bad file
            raise UserError(f"cannot read ONNX model {model}: {first_line(e)}; give a .onnx "
                            f"file exported from the detector") from None
    return labels_from_metadata({p.key: p.value for p in model.metadata_props})


def first_line(error: BaseException) -> str:
    """The first line of an exception message (at most 160 characters)."""
    text = str(error).strip().splitlines()
    return (text[0] if text else error.__class__.__name__)[:160]


def class_map(names: Sequence[str],
              overrides: Mapping[str, str | None] | None = None) -> np.ndarray:
    """Index into :data:`CLASSES` for each external class name, -1 where none.

    Args:
        names: ``(C,)`` external class names in output order.
        overrides: name -> our class name, or None to drop it (keys are normalised here).

    Returns:
        ``(C,)`` int64.
    """
    fixed = {normalise(k): (None if v is None else our_class(v))
             for k, v in (overrides or {}).items()}
    out = np.full(len(names), -1, np.int64)
    for i, name in enumerate(names):
        key = normalise(name)
        ours = fixed[key] if key in fixed else SYNONYMS.get(key)
        if ours is not None:
            out[i] = CLASSES.index(ours)
    return out
