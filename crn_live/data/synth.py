"""``crn-synth``: the synthetic audio-visual ensemble corpus, one clip folder per clip.

```
<clip>/mix.wav            mono float32 mixture at 44.1 kHz: the exact sum of the stems and noise
<clip>/stems/<slot>.wav   each instrument as recorded at the microphone (room, microphone, preamp)
<clip>/noise.wav          the microphone's noise floor, in no stem (absent when turned off)
<clip>/video.mp4          25 fps drawing of the players, moving with their notes
<clip>/meta.json          per slot: class, GM program, SoundFont, role, the notes as played, boxes
                          per frame; the room, microphone chain and noise drawn; rates, seed
```
Each stem draws its SoundFont from the request's palette (:mod:`crn_live.data.soundfonts`), is
played with per-note expression (:mod:`crn_live.data.expression`) and recorded in a room
through a microphone chain (:mod:`crn_live.data.mixing`). Timbre, playing and recording draw from
generators of their own, so a clip rendered with another SoundFont, or without expression, has
the same music, room and levels.
Every clip is a pure function of ``(seed, split, index)`` and the request: the same seed gives
the same bytes whatever the number of workers. A clip is written into a hidden ``.partial-``
folder and renamed when complete, so an interrupted run never leaves half a clip behind.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import multiprocessing
import shutil
import signal
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from crn_live.config import SynthConfig, to_dict
from crn_live.data import music, scores
from crn_live.data.audio_io import write_wav
from crn_live.data.mixing import mix_stems
from crn_live.data.expression import render_performed
from crn_live.data.render import FluidRenderer
from crn_live.data.soundfonts import Palette, SoundFont
from crn_live.errors import UserError
from crn_live.instruments import BY_NAME, CLASSES, Instrument, class_id

META_VERSION = 2
PARTIAL_PREFIX = ".partial-"


class SynthError(UserError):
    """A request that cannot be carried out (said to the user in one line)."""


@dataclasses.dataclass(frozen=True)
class CorpusRequest:
    """What to generate: ``clips`` clips of ``split`` into ``out``."""

    out: Path
    clips: int
    split: str
    seed: int
    config: SynthConfig
    soundfonts: tuple[SoundFont, ...]
    classes: tuple[str, ...] = CLASSES
    scores: Path | None = None
    start_index: int = 0

    def clip_names(self) -> list[str]:
        return [clip_name(self.split, self.start_index + k) for k in range(self.clips)]


def clip_name(split: str, index: int) -> str:
    return f"{split}-{index:05d}"


def clip_seed(seed: int, split: str, index: int) -> int:
    """The seed of one clip, from the corpus seed, the split and the clip index."""
    return int(np.random.SeedSequence([seed, scores.SPLITS.index(split), index])
               .generate_state(1)[0])


# ---------------------------------------------------------------------------------------------
# One clip


class ClipMaker:
    """Makes clips of one request; holds the per-process SoundFont and parsed-score caches."""

    def __init__(self, request: CorpusRequest, pool: list[scores.ScoreRef]):
        self.request = request
        self.pool = pool
        self._renderers: dict[Path, FluidRenderer] = {}
        self.palette = Palette(request.soundfonts)
        self._parsed: OrderedDict[str, scores.ParsedScore] = OrderedDict()
        self._piece_weights = piece_weights(pool)

    def renderer(self, font: SoundFont) -> FluidRenderer:
        """The renderer of one font (each loaded once per process, when first drawn)."""
        if font.path not in self._renderers:
            self._renderers[font.path] = FluidRenderer(font.path, self.request.config.sample_rate,
                                                       drum_bank=font.drum_bank)
        return self._renderers[font.path]

    def make(self, index: int) -> Path:
        """Generate clip ``index`` into its folder; returns the folder."""
        req = self.request
        name = clip_name(req.split, index)
        final = req.out / name
        partial = req.out / f"{PARTIAL_PREFIX}{name}"
        shutil.rmtree(partial, ignore_errors=True)
        (partial / "stems").mkdir(parents=True)
        try:
            meta = self._write_clip(partial, name, clip_seed(req.seed, req.split, index))
            (partial / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
            partial.rename(final)
        finally:
            shutil.rmtree(partial, ignore_errors=True)
        return final

    def _write_clip(self, folder: Path, name: str, seed: int) -> dict:
        from crn_live.data.scene import SceneRenderer, SlotVisual  # cv2 only where video is made

        cfg = self.request.config
        rng = np.random.default_rng(seed)
        names = rng.choice(len(self.request.classes), size=cfg.sources,
                           replace=len(self.request.classes) < cfg.sources)
        instruments = [BY_NAME[self.request.classes[k]] for k in names]
        programs = [int(rng.choice(i.programs)) for i in instruments]
        piece = self._piece(rng, instruments)
        video_seed = int(rng.integers(2**31))
        # timbre, playing and recording each draw from their own generator, so that turning
        # one off (or rendering the held-out font) leaves the music and the others as they were
        fonts_rng, play_rng, room_rng = (np.random.default_rng([seed, k]) for k in (1, 2, 3))
        fonts = [self.palette.draw(fonts_rng, inst.is_drum, drum_kit=not inst.drum_notes)
                 for inst in instruments]
        played, dry = [], []
        for part, prog, inst, font, role in zip(piece.parts, programs, instruments, fonts,
                                                piece.roles):
            notes, audio = render_performed(self.renderer(font), play_rng, part, inst, prog,
                                            cfg.n_samples, amount=cfg.expression,
                                            tempo_bpm=piece.tempo_bpm, role=role)
            played.append(notes)
            dry.append(audio)
        recording = mix_stems(dry, room_rng, cfg.sample_rate, cfg.reverb_probability,
                              cfg.level_spread_db, room=cfg.room, microphone=cfg.microphone,
                              noise_floor=cfg.noise_floor)
        levels = recording.info
        slots = [f"{k}_{inst.name.lower()}" for k, inst in enumerate(instruments)]
        for slot, stem in zip(slots, recording.stems):
            write_wav(folder / "stems" / f"{slot}.wav", stem, cfg.sample_rate)
        write_wav(folder / "mix.wav", recording.mix, cfg.sample_rate)
        if levels["noise"] is not None:
            write_wav(folder / "noise.wav", recording.noise, cfg.sample_rate)
        visuals = [SlotVisual(inst.name, *_onsets(part)) for inst, part in
                   zip(instruments, played)]
        video = SceneRenderer(visuals, cfg, seed=video_seed).write_video(folder / "video.mp4")
        return {
            "version": META_VERSION, "clip": name, "split": self.request.split, "seed": seed,
            "sample_rate": cfg.sample_rate, "n_samples": cfg.n_samples, "fps": cfg.fps,
            "n_frames": cfg.n_frames, "width": cfg.width, "height": cfg.height,
            "synth": to_dict(cfg),
            "soundfonts": self.palette.describe(),
            "music": {"kind": "procedural" if piece.source == "procedural" else "score",
                      "title": piece.title, "source": piece.source, "composer": piece.composer,
                      "key": piece.key, "tempo_bpm": piece.tempo_bpm,
                      "beats_per_bar": piece.beats_per_bar},
            "mix": {key: levels[key] for key in ("room", "microphone", "compressor", "noise",
                                                 "scale")}
                   | {"noise_file": "noise.wav" if levels["noise"] is not None else None},
            "slots": [
                {"slot": slot, "class": inst.name, "class_id": class_id(inst.name),
                 "program": prog, "is_drum": inst.is_drum, "role": role,
                 "soundfont": font.describe(), "gain_db": gain, "stem": f"stems/{slot}.wav",
                 "notes": [[round(n.start, 4), round(n.end, 4), n.pitch, n.velocity]
                           for n in part],
                 "boxes": [frame[k] for frame in video["boxes"]],
                 "visible": [frame[k] for frame in video["visible"]]}
                for k, (slot, inst, prog, role, font, gain, part) in enumerate(zip(
                    slots, instruments, programs, piece.roles, fonts, levels["gains_db"], played))
            ],
        }

    def _piece(self, rng: np.random.Generator, instruments: list[Instrument]) -> music.Piece:
        cfg = self.request.config
        use_scores = self.pool and (cfg.music == "scores" or (
            cfg.music == "both" and rng.random() < 0.5))
        pitched = [i for i in instruments if not i.is_drum]
        if not use_scores or not pitched:
            return music.compose(rng, instruments, cfg.seconds)
        for _ in range(20):  # some pieces have fewer parts than the clip needs
            ref = self.pool[int(rng.choice(len(self.pool), p=self._piece_weights))]
            try:
                parsed = self._parse(ref)
            except scores.ScoreError:  # a corpus file music21 can't read: draw another
                continue
            if len(parsed.parts) >= len(pitched):
                return _with_drums(rng, scores.score_segment(rng, parsed, pitched, cfg.seconds),
                                   instruments, cfg.seconds)
        return music.compose(rng, instruments, cfg.seconds)

    def _parse(self, ref: scores.ScoreRef) -> scores.ParsedScore:
        if ref.key not in self._parsed:
            self._parsed[ref.key] = scores.parse_score(ref)
            if len(self._parsed) > 64:
                self._parsed.popitem(last=False)
        return self._parsed[ref.key]


def piece_weights(pool: list[scores.ScoreRef]) -> np.ndarray:
    """Drawing probabilities: a composer's share grows with the square root of their pieces,
    so 1318 Palestrina movements don't drown 400 Bach chorales (nor one piece everyone)."""
    counts: dict[str, int] = {}
    for ref in pool:
        counts[ref.composer] = counts.get(ref.composer, 0) + 1
    weights = np.array([1.0 / np.sqrt(counts[ref.composer]) for ref in pool])
    return weights / weights.sum() if len(pool) else weights


def _onsets(part: tuple[music.Note, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Distinct onset times ``(n,)`` and their loudest velocity ``(n,)`` (a chord is one onset)."""
    by_time: dict[float, int] = {}
    for n in part:
        by_time[n.start] = max(by_time.get(n.start, 0), n.velocity)
    times = np.array(sorted(by_time), dtype=np.float64)
    return times, np.array([by_time[t] for t in times], dtype=np.float64)


def _with_drums(rng: np.random.Generator, piece: music.Piece, instruments: list[Instrument],
                seconds: float) -> music.Piece:
    """Put the score's parts back in slot order, with a groove at its tempo for a Drum slot."""
    pitched_parts = iter(piece.parts)
    parts, roles = [], []
    for inst in instruments:
        if inst.is_drum:
            parts.append(music.drum_part(rng, piece.tempo_bpm, piece.beats_per_bar, seconds, inst))
            roles.append("drums")
        else:
            parts.append(next(pitched_parts))
            roles.append("score")
    return dataclasses.replace(piece, parts=tuple(parts), roles=tuple(roles))


# ---------------------------------------------------------------------------------------------
# The corpus


def score_pool(request: CorpusRequest) -> list[scores.ScoreRef]:
    """The scores this request may draw from; user folders are checked up front, file by file."""
    if request.config.music == "procedural":
        return []
    if request.scores is None:
        return scores.corpus_pool(request.split)
    pool = scores.folder_pool(request.scores)
    most_parts = max(len(scores.parse_score(ref).parts) for ref in pool)  # names a bad file
    needed = request.config.sources - (1 if "Drum" in request.classes else 0)
    if most_parts < needed:
        raise SynthError(f"no score in {request.scores} has {needed} parts (at most "
                         f"{most_parts}); lower --sources or add ensemble scores")
    return pool


def check_output(request: CorpusRequest, resume: bool) -> list[int]:
    """Indices still to make; SynthError if a clip folder would be overwritten."""
    todo = []
    for k, name in enumerate(request.clip_names()):
        folder = request.out / name
        if folder.exists():
            if not resume:
                raise SynthError(f"{folder} already exists; choose another --out, or pass "
                                 "--resume to complete an interrupted run with the same arguments")
            if not (folder / "meta.json").is_file():
                raise SynthError(f"{folder} exists but is not a complete clip; remove it")
            continue
        todo.append(request.start_index + k)
    return todo


_WORKER: ClipMaker | None = None


def _init_worker(request: CorpusRequest, pool: list[scores.ScoreRef]) -> None:
    global _WORKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl+C
    _WORKER = ClipMaker(request, pool)


def _make_in_worker(index: int) -> Path:
    assert _WORKER is not None
    return _WORKER.make(index)


@dataclasses.dataclass(frozen=True)
class Prepared:
    """A checked request: the clip indices still to make and the scores to draw from."""

    request: CorpusRequest
    todo: tuple[int, ...]
    pool: tuple[scores.ScoreRef, ...]


def prepare(request: CorpusRequest, resume: bool = False) -> Prepared:
    """Check the output folder and the scores before any work (UserError naming the problem)."""
    request.out.mkdir(parents=True, exist_ok=True)
    todo = check_output(request, resume)
    return Prepared(request, tuple(todo), tuple(score_pool(request)))


def run(prepared: Prepared, workers: int = 1,
        on_clip: Callable[[Path], None] | None = None) -> list[Path]:
    """Make the prepared clips; returns their folders in index order."""
    request, pool, todo = prepared.request, list(prepared.pool), list(prepared.todo)
    if workers <= 1 or len(todo) <= 1:
        maker = ClipMaker(request, pool)
        return [_report(maker.make(k), on_clip) for k in todo]
    return sorted(_report(p, on_clip) for p in _parallel(request, pool, todo, workers))


def generate(request: CorpusRequest, workers: int = 1, resume: bool = False,
             on_clip: Callable[[Path], None] | None = None) -> list[Path]:
    """Prepare and make the corpus in one call."""
    return run(prepare(request, resume), workers, on_clip)


def _report(path: Path, on_clip: Callable[[Path], None] | None) -> Path:
    if on_clip is not None:
        on_clip(path)
    return path


def _parallel(request: CorpusRequest, pool: list[scores.ScoreRef], todo: list[int],
              workers: int) -> Iterator[Path]:
    # Not "fork": a process that already used FluidSynth (or torch's thread pools) can leave a
    # lock held in the child, which then hangs in sfload. The fork server starts clean.
    context = multiprocessing.get_context("forkserver")
    executor = concurrent.futures.ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_init_worker,
        initargs=(request, pool))
    try:
        futures = [executor.submit(_make_in_worker, k) for k in todo]
        for future in concurrent.futures.as_completed(futures):
            yield future.result()
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
        for partial in request.out.glob(f"{PARTIAL_PREFIX}*"):
            shutil.rmtree(partial, ignore_errors=True)
