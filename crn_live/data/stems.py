"""Real stems without video: the stems folder format, and the reference paper's sample folder.

A **stems folder** holds one recording as its separate parts::

    song/
      stems.json          {"stems": [{"file": "violin.flac", "class": "Violin"},
                                     {"file": "cello.wav", "class": "violoncello"}]}
      violin.flac         one file per stem (any format libsndfile reads: WAV, FLAC, OGG)
      cello.wav
      mix.wav | mix.flac  optional: the mixture; when absent it is the sum of the stems

* ``file`` is relative to the folder; ``class`` is an instrument class or a synonym
  (:func:`crn_live.instruments.lookup`: ``"acoustic_guitar"`` is Guitar, ``"bagpipe"``
  Bagpipes); the order of ``stems`` is the slot order of the report.
* Stereo files are mixed to mono (channels averaged, as :func:`~crn_live.data.audio_io.read_mono`).
* Files may have different sample rates: each is resampled to the requested rate
  (:func:`crn_live.dsp.resample.resample`).
* Files may differ in length by up to :data:`MAX_LENGTH_MISMATCH_S` (codec padding, resampling
  rounding): all are trimmed to the shortest. A larger difference is refused (wrong files).
* When ``mix`` is a scaled sum of the stems (e.g. their mean, as Sound-of-Pixels mixes), the
  stems are scaled by that gain so that they add up to the mixture (BSS Eval scores do not
  change; the oracle mask needs it).

Anything wrong (no ``stems.json``, a missing file, an unknown class, unreadable audio, lengths
far apart) is a :class:`StemsError`, one line. ``crn-eval --data`` takes stems folders, or folders
of them, beside crn-synth clip folders (:func:`find_data`), and scores them class-only.

The **reference sample folder** (``crn-eval --reference``) is the layout of the reference
paper's supplementary samples: ``index.json`` ``{case: {"instruments": [...], "rate": 11025,
"stems": ["stem1.flac", ...] or null}}`` and per case ``mix.flac``, ``stemK.flac``,
``crn_outputK.flac`` (the reference model's output for instrument K) and ``objectK.png`` (a
photo crop of player K). Cases without stems (real duets) cannot be scored and are listed as
skipped (:func:`reference_cases`).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from crn_live.data.clips import Clip, ClipError, load_audio, open_clip
from crn_live.errors import UserError
from crn_live.instruments import lookup

STEMS_FILE = "stems.json"
#: Mixture file names looked for, in this order.
MIX_NAMES = ("mix.wav", "mix.flac")
#: Largest length difference between a folder's audio files that is trimmed away silently.
MAX_LENGTH_MISMATCH_S = 1.0
#: A mixture is a scaled sum of its stems when the rest is below this fraction of its RMS.
SCALED_SUM_TOLERANCE = 1e-3


class StemsError(ClipError):
    """A folder that is not a readable stems folder (or reference sample folder)."""


@dataclasses.dataclass(frozen=True)
class Stems:
    """A loaded recording: ``mix (samples,)``, ``stems (sources, samples)`` float32 at ``rate``,
    the canonical ``classes`` of the sources, and the gain applied to the stems' files."""

    mix: np.ndarray
    stems: np.ndarray
    classes: tuple[str, ...]
    rate: int
    stem_gain: float = 1.0


@dataclasses.dataclass(frozen=True)
class StemsFolder:
    """A stems folder's description (nothing read yet): its files and classes."""

    folder: Path
    files: tuple[Path, ...]
    classes: tuple[str, ...]
    mix_file: Path | None = None

    @property
    def name(self) -> str:
        return self.folder.name

    def load(self, rate: int) -> Stems:
        """The mixture and the stems at ``rate`` (see the module docstring)."""
        stems = [read_at(path, rate) for path in self.files]
        mix = read_at(self.mix_file, rate) if self.mix_file is not None else None
        lengths = [len(s) for s in stems] + ([len(mix)] if mix is not None else [])
        if max(lengths) - min(lengths) > MAX_LENGTH_MISMATCH_S * rate:
            names = [p.name for p in self.files] + ([self.mix_file.name] if mix is not None
                                                   else [])
            spans = ", ".join(f"{n} {k / rate:.2f} s" for n, k in zip(names, lengths))
            raise StemsError(f"{self.folder}: the audio files differ in length by more than "
                             f"{MAX_LENGTH_MISMATCH_S:g} s ({spans}); give stems of one recording")
        n = min(lengths)
        stacked = np.stack([s[:n] for s in stems]).astype(np.float32)
        gain = 1.0
        if mix is None:
            mix = stacked.sum(axis=0)
        else:
            mix = mix[:n]
            gain = _scaled_sum_gain(mix, stacked)
            stacked = (stacked * np.float32(gain)).astype(np.float32)
        return Stems(np.ascontiguousarray(mix, np.float32), stacked, self.classes, rate, gain)


def read_at(path: Path, rate: int) -> np.ndarray:
    """Mono float32 audio of one file at ``rate``; StemsError (one line) if unreadable."""
    try:
        return load_audio(path, rate)
    except ClipError:
        raise
    except (UserError, ValueError, RuntimeError) as exc:  # unreadable audio, a soxr failure
        raise StemsError(str(exc)) from None


def _scaled_sum_gain(mix: np.ndarray, stems: np.ndarray) -> float:
    """``g`` with ``mix == g * stems.sum(0)`` when the mixture is a scaled sum, else 1."""
    total = stems.astype(np.float64).sum(axis=0)
    energy = float(total @ total)
    if energy <= 0:
        return 1.0
    gain = float(mix.astype(np.float64) @ total) / energy
    rest = mix - gain * total
    if gain > 0 and np.sqrt(np.mean(rest ** 2)) <= SCALED_SUM_TOLERANCE * max(
            float(np.sqrt(np.mean(mix.astype(np.float64) ** 2))), 1e-12):
        return round(gain, 6)
    return 1.0


def is_stems_folder(path: Path) -> bool:
    return (Path(path) / STEMS_FILE).is_file()


def canonical_class(name: object, where: str) -> str:
    """Our class name for ``name`` (a class or synonym); StemsError naming ``where``."""
    if not isinstance(name, str):
        raise StemsError(f"{where}: class must be a string, got {name!r}")
    try:
        return lookup(name).name
    except ValueError as exc:
        raise StemsError(f"{where}: {exc}") from None


def open_stems(folder: Path) -> StemsFolder:
    """Read and check a stems folder's ``stems.json``; StemsError (one line) if it is not one."""
    folder = Path(folder)
    spec_path = folder / STEMS_FILE
    if not spec_path.is_file():
        raise StemsError(f"{folder} is not a stems folder (no {STEMS_FILE}); see "
                         "crn_live/data/stems.py for the format")
    try:
        spec = json.loads(spec_path.read_text())
        entries = spec["stems"]
        if not isinstance(entries, list):
            raise TypeError("'stems' must be a list")
        pairs = [(e["file"], e["class"]) for e in entries]
    except (ValueError, KeyError, TypeError) as exc:
        raise StemsError(f"{spec_path} is not valid: {type(exc).__name__} {exc}; write "
                         '{"stems": [{"file": "violin.flac", "class": "Violin"}, ...]}') from None
    if not pairs:
        raise StemsError(f"{spec_path} lists no stems")
    files, classes = [], []
    for k, (file, name) in enumerate(pairs):
        if not isinstance(file, str) or not file:
            raise StemsError(f"{spec_path}: stem {k + 1} has no file name")
        path = folder / file
        if not path.is_file():
            raise StemsError(f"{spec_path}: stem file {path} not found")
        files.append(path)
        classes.append(canonical_class(name, f"{spec_path} stem {file}"))
    if len(set(files)) != len(files):
        raise StemsError(f"{spec_path} lists the same file twice")
    mix = next((folder / m for m in MIX_NAMES if (folder / m).is_file()), None)
    return StemsFolder(folder, tuple(files), tuple(classes), mix)


def find_stems(root: Path) -> list[StemsFolder]:
    """All stems folders directly under ``root`` (or ``root`` itself), sorted by name."""
    root = Path(root)
    if is_stems_folder(root):
        return [open_stems(root)]
    if not root.is_dir():
        raise StemsError(f"data folder {root} does not exist")
    return [open_stems(p) for p in sorted(root.iterdir())
            if p.is_dir() and not p.name.startswith(".") and is_stems_folder(p)]


def find_data(root: Path) -> list[Clip | StemsFolder]:
    """What ``crn-eval --data`` scores in ``root``: a clip folder, a stems folder, or the clip
    and stems folders directly under it (sorted by name)."""
    root = Path(root)
    if not root.is_dir():
        raise ClipError(f"data folder {root} does not exist")
    if (root / "meta.json").is_file():
        return [open_clip(root)]
    if is_stems_folder(root):
        return [open_stems(root)]
    found: list[Clip | StemsFolder] = []
    for p in sorted(root.iterdir()):
        if not p.is_dir() or p.name.startswith("."):
            continue
        if (p / "meta.json").is_file():
            found.append(open_clip(p))
        elif is_stems_folder(p):
            found.append(open_stems(p))
    if not found:
        raise ClipError(f"no clip or stems folders in {root}; make clips with crn-synth --out "
                        f"{root}, or describe real stems with a {STEMS_FILE} (crn_live/data/"
                        "stems.py)")
    return found


# ---------------------------------------------------------------------- reference samples

@dataclasses.dataclass(frozen=True)
class ReferenceCase:
    """One scorable case of a reference sample folder: its stems (``mix.flac`` and
    ``stemK.flac``), the reference model's ``crn_outputK.flac`` and the photos ``objectK.png``
    (None where missing), in instrument order; ``instruments`` as the index names them."""

    stems: StemsFolder
    instruments: tuple[str, ...]
    outputs: tuple[Path, ...]
    photos: tuple[Path | None, ...]

    @property
    def name(self) -> str:
        return self.stems.name


def reference_cases(folder: Path) -> tuple[list[ReferenceCase], list[dict]]:
    """The scorable cases of a reference sample folder (index order), and the skipped ones as
    ``{"case", "instruments", "reason"}``; StemsError (one line) for a broken folder."""
    folder = Path(folder)
    index_path = folder / "index.json"
    if not index_path.is_file():
        raise StemsError(f"{folder} has no index.json: not a reference sample folder")
    try:
        index = json.loads(index_path.read_text())
        entries = [(str(name), list(entry["instruments"]), entry.get("stems"))
                   for name, entry in index.items()]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise StemsError(f"{index_path} is not valid: {type(exc).__name__} {exc}") from None
    cases, skipped = [], []
    for name, instruments, stems in entries:
        case = folder / name
        if not stems:
            skipped.append({"case": name, "instruments": instruments,
                            "reason": "no true stems (a real recording): listening only"})
            continue
        if len(stems) != len(instruments):
            raise StemsError(f"{index_path}: {name} lists {len(stems)} stems for "
                             f"{len(instruments)} instruments")
        classes = tuple(canonical_class(i, f"{index_path} {name}") for i in instruments)
        files, outputs, photos = [], [], []
        for k, stem in enumerate(stems, start=1):
            for path in (case / stem, case / f"crn_output{k}.flac"):
                if not path.is_file():
                    raise StemsError(f"{name}: {path} not found")
            files.append(case / stem)
            outputs.append(case / f"crn_output{k}.flac")
            photo = case / f"object{k}.png"
            photos.append(photo if photo.is_file() else None)
        mix = case / "mix.flac"
        cases.append(ReferenceCase(StemsFolder(case, tuple(files), classes,
                                               mix if mix.is_file() else None),
                                   tuple(instruments), tuple(outputs), tuple(photos)))
    return cases, skipped


def load_photo(path: Path, size: int) -> np.ndarray:
    """A photo crop ``(size, size, 3)`` uint8 RGB: the whole picture squared around its centre
    (edges replicated), as :func:`crn_live.data.video.crop_box` squares a box (no margin:
    the picture is the crop), and resized."""
    import cv2

    from crn_live.data.video import crop_box

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise StemsError(f"cannot read the picture {path}")
    h, w = image.shape[:2]
    return crop_box(image, np.array([0, 0, w, h], np.float32), size, margin=0.0)
