"""Real scores as corpus music: the music21 corpus (with a declared train/held-out split) or a
folder of the user's own MIDI / MusicXML / Humdrum / ABC files.

**The split, declared here and nowhere else:** only pieces by J. S. Bach (corpus folder ``bach``)
and Palestrina (``palestrina``) may ever be used for training. Every other composer is held out for
evaluation; held-out pieces are divided between ``val`` and ``test`` by a stable hash of their
corpus path, so the two evaluation splits never share a piece either.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from pathlib import Path

import numpy as np

from crn_live.data import music
from crn_live.data.music import Note, Piece
from crn_live.errors import UserError
from crn_live.instruments import Instrument

TRAIN_COMPOSERS = ("bach", "palestrina")
# Corpus folders of single-line tunes, exercises or analyses: no ensemble to take parts from.
NOT_ENSEMBLE = ("ryansMammoth", "essenFolksong", "oneills1850", "airdsAirs", "miscFolk",
                "nottingham-dataset", "theoryExercises", "demos", "leadSheet")
SCORE_SUFFIXES = (".mxl", ".xml", ".musicxml", ".krn", ".mid", ".midi", ".abc")
SPLITS = ("train", "val", "test")


class ScoreError(UserError):
    """A score file that cannot be read or has too few parts."""


@dataclasses.dataclass(frozen=True)
class ScoreRef:
    """A score on disk and the composer folder it belongs to (``user`` for --scores files)."""

    path: Path
    composer: str
    key: str  # stable identifier (corpus-relative path, or file name)


def corpus_split(composer: str, key: str) -> str:
    """The split a music21 corpus piece belongs to: ``train`` or (held out) ``val`` / ``test``."""
    if composer in TRAIN_COMPOSERS:
        return "train"
    digest = int(hashlib.sha1(key.encode()).hexdigest(), 16)
    return "val" if digest % 2 == 0 else "test"


def corpus_pool(split: str) -> list[ScoreRef]:
    """The music21 corpus pieces usable for ``split``, in a stable order."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    from music21 import corpus  # heavy import, only when scores are used

    refs = []
    for path in corpus.getPaths():
        parts = path.parts
        if "corpus" not in parts or path.suffix not in SCORE_SUFFIXES:
            continue
        rel = parts[parts.index("corpus") + 1:]
        composer, key = rel[0], "/".join(rel)
        if composer in NOT_ENSEMBLE:
            continue
        if corpus_split(composer, key) == split:
            refs.append(ScoreRef(Path(path), composer, key))
    return sorted(refs, key=lambda r: r.key)


def folder_pool(folder: Path) -> list[ScoreRef]:
    """The user's score files in ``folder`` (recursively), in a stable order."""
    if not folder.is_dir():
        raise ScoreError(f"score folder {folder} does not exist")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in SCORE_SUFFIXES)
    if not files:
        raise ScoreError(f"no score files ({', '.join(SCORE_SUFFIXES)}) in {folder}")
    return [ScoreRef(p, "user", str(p.relative_to(folder))) for p in files]


@dataclasses.dataclass(frozen=True)
class ParsedScore:
    """A score reduced to what rendering needs: note lists per part in quarter lengths."""

    ref: ScoreRef
    parts: tuple[np.ndarray, ...]  # each (notes, 4): onset_ql, duration_ql, pitch, velocity
    qpm: float | None
    beats_per_bar: int
    length_ql: float


def parse_score(ref: ScoreRef) -> ParsedScore:
    """Parse a score with music21; ScoreError with the file name when it cannot be read."""
    import music21

    try:
        score = music21.converter.parse(str(ref.path))
    except Exception as exc:  # music21 raises many kinds; the user needs the file name
        raise ScoreError(f"cannot read score {ref.path}: {type(exc).__name__}: {exc}") from None
    parts = getattr(score, "parts", None) or [score]
    arrays = []
    for part in parts:
        rows = []
        velocity_default = 80
        for element in part.stripTies().flatten().notes:
            duration = float(element.duration.quarterLength)
            if duration <= 0:  # grace notes
                continue
            velocity = element.volume.velocity or velocity_default
            for pitch in element.pitches:
                rows.append((float(element.offset), duration, pitch.midi, velocity))
        if rows:
            arrays.append(np.array(sorted(rows), dtype=np.float64))
    flat = score.flatten()
    marks = [m.number for m in flat.getElementsByClass("MetronomeMark") if m.number]
    signatures = list(flat.getElementsByClass("TimeSignature"))
    beats = int(signatures[0].numerator) if signatures else 4
    return ParsedScore(ref, tuple(arrays), float(marks[0]) if marks else None,
                       beats if beats in (2, 3, 4, 6) else 4, float(score.highestTime))


def _fit_register(notes: np.ndarray, inst: Instrument) -> np.ndarray:
    """Transpose by whole octaves into the instrument's register; fold stray notes by octaves."""
    pitches = notes[:, 2]
    best = min(range(-4, 5), key=lambda k: (
        np.sum((pitches + 12 * k < inst.low) | (pitches + 12 * k > inst.high)),
        abs(np.median(pitches) + 12 * k - inst.centre)))
    shifted = pitches + 12 * best
    while np.any(shifted < inst.low):
        shifted = np.where(shifted < inst.low, shifted + 12, shifted)
    while np.any(shifted > inst.high):
        shifted = np.where(shifted > inst.high, shifted - 12, shifted)
    out = notes.copy()
    out[:, 2] = shifted
    return out


def score_segment(rng: np.random.Generator, score: ParsedScore, instruments: list[Instrument],
                  seconds: float) -> Piece:
    """A ``seconds`` long excerpt of ``score`` with one part per (pitched) instrument.

    Parts are paired with instruments by register (lowest part to the lowest instrument) and
    transposed by octaves to fit. Pieces shorter than the clip repeat. Instruments with a style
    play it: Erhu glides, Pipa tremolos, Guzheng sweeps (in the excerpt's pentatonic), Ukulele
    strums its chords, Bagpipes drone under the chanter (on the excerpt's tonic). Drum classes
    among ``instruments`` get a part of their own at the score's tempo (Congas their tumbao).
    """
    drums = [k for k, inst in enumerate(instruments) if inst.is_drum]
    if drums:
        pitched = [inst for inst in instruments if not inst.is_drum]
        inner = score_segment(rng, score, pitched, seconds) if pitched else None
        qpm = inner.tempo_bpm if inner else (score.qpm or float(rng.uniform(66, 104)))
        parts_iter = iter(inner.parts if inner else ())
        parts = tuple(music.drum_part(rng, qpm, score.beats_per_bar, seconds, inst)
                      if inst.is_drum else next(parts_iter) for inst in instruments)
        roles = tuple("drums" if inst.is_drum else "score" for inst in instruments)
        return Piece(parts, roles, round(qpm, 2), score.beats_per_bar,
                     title=Path(score.ref.key).stem, source=score.ref.key,
                     composer=score.ref.composer)
    if len(score.parts) < len(instruments):
        raise ScoreError(f"{score.ref.path} has {len(score.parts)} parts, "
                         f"{len(instruments)} needed")
    qpm = score.qpm or float(rng.uniform(66, 104))
    span_ql = seconds * qpm / 60.0
    chosen = sorted(rng.choice(len(score.parts), size=len(instruments), replace=False))
    length = max(score.length_ql, 1.0)
    best_start, best_cover = 0.0, -1
    for _ in range(8):  # pick an excerpt where every chosen part plays
        start = float(np.floor(rng.uniform(0, max(length - span_ql, 0.0)) / score.beats_per_bar)
                      * score.beats_per_bar)
        cover = min(np.sum((score.parts[k][:, 0] >= start) & (score.parts[k][:, 0] < start + span_ql))
                    for k in chosen)
        if cover > best_cover:
            best_start, best_cover = start, cover
    medians = [float(np.median(score.parts[k][:, 2])) for k in chosen]
    by_pitch = [chosen[k] for k in np.argsort(medians)]
    by_register = sorted(range(len(instruments)), key=lambda k: instruments[k].centre)
    excerpts = {k: _excerpt(score.parts[k], best_start, span_ql, length) for k in chosen}
    tonic, scale = _key_of(list(excerpts.values()))
    parts: list[tuple[Note, ...]] = [()] * len(instruments)
    for part_index, inst_index in zip(by_pitch, by_register):
        inst = instruments[inst_index]
        notes = excerpts[part_index]
        drone = music.drone_pitches(inst, tonic) if inst.style == "drone" else ()
        # a chanter plays above its drone (a shared key would stop the drone at each release)
        register = dataclasses.replace(inst, low=max(drone) + 1) if drone else inst
        fitted = _fit_register(notes, register) if len(notes) else notes
        part = tuple(
            Note(round(on * 60 / qpm, 5), round(min((on + d) * 60 / qpm, seconds), 5), int(p),
                 int(np.clip(v + rng.normal(0, 5), 25, 127)))
            for on, d, p, v in fitted)
        parts[inst_index] = _styled(rng, inst, part, tonic, scale, drone, seconds)
    return Piece(tuple(parts), tuple("score" for _ in instruments), round(qpm, 2),
                 score.beats_per_bar, title=Path(score.ref.key).stem, source=score.ref.key,
                 composer=score.ref.composer)


def _key_of(parts: list[np.ndarray]) -> tuple[int, tuple[int, ...]]:
    """The excerpt's likely key: the major or minor scale (any tonic) covering the most
    note time, the tonic being the most sounded of its candidates (a rough Krumhansl-free guess,
    enough to pick a drone and a pentatonic)."""
    weight = np.zeros(12)
    for notes in parts:
        for _, d, p, _ in notes:
            weight[int(p) % 12] += d
    best = (-1.0, 0, music.MAJOR)
    for scale in (music.MAJOR, music.MINOR):
        for tonic in range(12):
            cover = sum(weight[(tonic + s) % 12] for s in scale) + 0.5 * weight[tonic] + (
                0.25 * weight[(tonic + 7) % 12])
            if cover > best[0] + 1e-9:
                best = (cover, tonic, scale)
    return best[1], best[2]


def _styled(rng: np.random.Generator, inst: Instrument, part: tuple[Note, ...], tonic: int,
            scale: tuple[int, ...], drone: tuple[int, ...], seconds: float) -> tuple[Note, ...]:
    """A score part in the instrument's style (see :func:`score_segment`)."""
    if not part:
        return part
    if inst.style == "drone":
        velocity = int(np.clip(np.median([n.velocity for n in part]) - 12, 30, 100))
        part = tuple(sorted(part + tuple(Note(0.0, round(seconds, 5), p, velocity) for p in drone),
                            key=lambda n: (n.start, n.pitch)))
    elif inst.style == "strum":  # the notes of a chord a few ms apart, low string first
        spread = float(rng.uniform(0.008, 0.016))
        by_start: dict[float, list[Note]] = {}
        for n in part:
            by_start.setdefault(n.start, []).append(n)
        part = tuple(sorted((dataclasses.replace(
            n, start=round(min(n.start + k * spread, n.end - 0.03), 5)) if k else n
            for chord in by_start.values()
            for k, n in enumerate(sorted(chord, key=lambda n: n.pitch))),
            key=lambda n: (n.start, n.pitch)))
    return music.stylise(rng, inst, part, tonic, scale, seconds)


def _excerpt(notes: np.ndarray, start: float, span: float, length: float) -> np.ndarray:
    """Notes overlapping ``[start, start + span)`` (quarter lengths, looping past the end)."""
    out = []
    repeats = int(math.ceil((start + span) / length)) + 1
    for r in range(repeats):
        shifted = notes.copy()
        shifted[:, 0] += r * length - start
        keep = (shifted[:, 0] >= 0) & (shifted[:, 0] < span)
        out.append(shifted[keep])
    joined = np.concatenate(out) if out else notes[:0]
    return joined[np.argsort(joined[:, 0], kind="stable")]
