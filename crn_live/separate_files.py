"""``crn-separate`` on files: read a clip folder or a video (+ objects), write the separated WAVs.

Inputs:

* a crn-synth clip folder: ``mix.wav`` at its own rate, objects and boxes from ``meta.json``;
* a video file with ``--objects FILE.json``: ``{"objects": [{"class": "Violin", "box": [x0, y0,
  x1, y1]}, ...]}`` (or just the list), boxes in pixels of the video frame, held for the whole
  video; its audio track is read with ffmpeg unless ``--audio FILE`` is given;
* a video without objects, or anything with ``detect``: the instruments are detected (every
  5th frame) and tracked through the video (:func:`crn_live.vision.video.track_video`); given
  objects then become manual regions beside the detected ones.

Outputs, in the output folder: ``<k>_<class>.wav`` per object (float WAV at the input's rate,
full band), ``residual.wav`` (the mixture minus every object) and ``objects.json``. Each file is
written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

from crn_live.audio_io import read_audio, write_wav
from crn_live.data.clips import crop_box, open_clip, read_frames, spaced_frames, video_info
from crn_live.data.instruments import lookup
from crn_live.dsp.resample import resample
from crn_live.errors import UserError
from crn_live.separation import Separator

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")


@dataclasses.dataclass(frozen=True)
class InputObject:
    """One instrument to separate: its class, crops ``(n, S, S, 3)`` uint8 RGB, where from."""

    class_name: str
    crops: np.ndarray
    origin: dict


@dataclasses.dataclass(frozen=True)
class SeparationJob:
    """A mono mixture ``(samples,)`` at ``rate`` and the objects to pull out of it."""

    source: Path
    mix: np.ndarray
    rate: int
    objects: tuple[InputObject, ...]


def load_input(path: Path, crop_size: int, audio: Path | None = None,
               objects: Path | None = None, detector=None,
               progress: Callable[[int, int], None] | None = None) -> SeparationJob:
    """Read a clip folder or a video (+ objects file); :class:`UserError` with one line if not
    usable. With a ``detector`` the instruments are detected and tracked (see the module
    docstring); a video without objects needs one."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"input {path} not found: give a crn-synth clip folder or a video file")
    if path.is_dir() and detector is not None:
        if objects is not None:
            raise UserError(f"{path} is a clip folder; --objects is for video files")
        open_clip(path)
        job = _detected_job(path / "video.mp4", path / "mix.wav", crop_size, detector, None,
                            progress)
    elif path.is_dir():
        job = _clip_job(path, crop_size, objects)
    elif path.suffix.lower() in VIDEO_SUFFIXES and detector is not None:
        job = _detected_job(path, None, crop_size, detector, objects, progress)
    elif path.suffix.lower() in VIDEO_SUFFIXES:
        job = _video_job(path, crop_size, objects)
    else:
        raise UserError(f"{path} is neither a clip folder nor a video ({', '.join(VIDEO_SUFFIXES)})"
                        f"; give a crn-synth clip folder or a video file")
    if audio is not None:
        mix, rate = _mono(audio)
        job = dataclasses.replace(job, mix=mix, rate=rate)
    if not job.objects:
        raise UserError(f"no instrument found in {path}: draw them yourself with --objects "
                        f"FILE.json, or try another --detector")
    if len(job.mix) == 0:
        raise UserError(f"the audio of {path} is empty")
    return job


def _mono(path: Path) -> tuple[np.ndarray, int]:
    samples, rate = read_audio(path)
    if samples.ndim == 2:
        samples = samples.mean(axis=1)
    return np.ascontiguousarray(samples, np.float32), rate


def _clip_job(folder: Path, crop_size: int, objects: Path | None) -> SeparationJob:
    clip = open_clip(folder)
    if objects is not None:
        raise UserError(f"{folder} is a clip folder with its own objects; --objects is for "
                        f"video files")
    crops = clip.crops(spaced_frames(int(clip.meta["n_frames"]), clip.fps), crop_size)
    mix, rate = _mono(folder / "mix.wav")
    found = tuple(InputObject(s.class_name, crops[:, k], {"slot": s.name, "boxes": "meta.json"})
                  for k, s in enumerate(clip.slots))
    return SeparationJob(folder, mix, rate, found)


def _video_job(video: Path, crop_size: int, objects: Path | None) -> SeparationJob:
    info = video_info(video)
    if objects is None:
        raise UserError(f"{video} comes without objects: detect them (--detect) or give "
                        f"--objects FILE.json with each instrument's class and box")
    specs = read_objects(objects, info.width, info.height)
    indices = spaced_frames(info.n_frames, info.fps).tolist()
    frames = read_frames(video, indices)
    found = tuple(
        InputObject(name, np.stack([crop_box(frames[i], np.asarray(box), crop_size)
                                    for i in indices]), {"box": box})
        for name, box in specs)
    mix, rate = _video_audio(video)
    return SeparationJob(video, mix, rate, found)


def _detected_job(video: Path, audio_file: Path | None, crop_size: int, detector,
                  objects: Path | None,
                  progress: Callable[[int, int], None] | None) -> SeparationJob:
    """Instruments detected and tracked through ``video``; ``objects`` become manual regions."""
    from crn_live.vision.video import track_video

    manual = None
    if objects is not None:
        info = video_info(video)
        manual = read_objects(objects, info.width, info.height)
    scan = track_video(video, detector, crop_size, manual=manual, progress=progress)
    found = tuple(InputObject(t.class_name, t.crops,
                              {"track_id": t.track_id, "score": round(t.score, 3),
                               "box": t.median_box(), "frames_seen": len(t.boxes),
                               "source": "manual" if t.manual else "detected"})
                  for t in scan.tracks)
    mix, rate = _mono(audio_file) if audio_file is not None else _video_audio(video)
    return SeparationJob(video, mix, rate, found)


def read_objects(path: Path, width: int, height: int) -> list[tuple[str, list[float]]]:
    """``[(class, [x0, y0, x1, y1]), ...]`` from an objects file, checked against the frame."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise UserError(f"objects file {path} not found") from None
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read objects file {path}: {exc}") from None
    items = data.get("objects") if isinstance(data, dict) else data
    if not isinstance(items, list) or not items:
        raise UserError(f"{path}: expected {{\"objects\": [{{\"class\": ..., \"box\": [x0, y0, "
                        f"x1, y1]}}, ...]}} with at least one object")
    found = []
    for k, item in enumerate(items):
        try:
            name = lookup(str(item["class"])).name
            box = [float(v) for v in item["box"]]
        except (KeyError, TypeError) as exc:
            raise UserError(f"{path}: object {k} needs \"class\" and \"box\" ({exc})") from None
        except ValueError as exc:
            raise UserError(f"{path}: object {k}: {exc}") from None
        x0, y0, x1, y1 = box if len(box) == 4 else (0, 0, -1, -1)
        if not (0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height):
            raise UserError(f"{path}: object {k} box {box} is not [x0, y0, x1, y1] inside the "
                            f"{width}x{height} frame")
        found.append((name, box))
    return found


def _video_audio(video: Path) -> tuple[np.ndarray, int]:
    """The video's audio track (mono mixdown, native rate) through ffmpeg."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise UserError(f"reading the audio track of {video} needs ffmpeg (apt-get install "
                        f"ffmpeg), or give the audio as --audio FILE")
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "audio.wav"
        done = subprocess.run([ffmpeg, "-nostdin", "-v", "error", "-i", str(video), "-vn",
                               "-ac", "1", "-c:a", "pcm_f32le", str(wav)],
                              capture_output=True, text=True)
        if done.returncode != 0 or not wav.is_file():
            raise UserError(f"{video} has no readable audio track; give the audio as "
                            f"--audio FILE")
        return _mono(wav)


def write_outputs(job: SeparationJob, separator: Separator, out: Path, mode: str = "offline",
                  progress: Callable[[int, int], None] | None = None) -> list[Path]:
    """Separate ``job`` and write the WAVs and ``objects.json`` into ``out``; the paths."""
    embeddings = np.stack([separator.embed(o.crops) for o in job.objects])
    model_mix = job.mix if job.rate == separator.rate else resample(job.mix, job.rate,
                                                                    separator.rate)
    masks = separator.masks(separator.spectrogram(model_mix), embeddings, mode,
                            progress=progress)
    result = separator.apply(job.mix, job.rate, masks)
    out.mkdir(parents=True, exist_ok=True)
    written, entries = [], []
    for k, (obj, signal) in enumerate(zip(job.objects, result.sources)):
        path = out / f"{k}_{obj.class_name.lower()}.wav"
        _write(path, signal, job.rate)
        written.append(path)
        entries.append({"index": k, "class": obj.class_name, "wav": path.name,
                        "rms_db": _db(signal), **obj.origin})
    _write(out / "residual.wav", result.residual, job.rate)
    written.append(out / "residual.wav")
    report = {"input": str(job.source), "sample_rate": job.rate, "seconds":
              round(len(job.mix) / job.rate, 3), "mode": mode,
              "model": {"size": separator.config.size,
                        "algorithmic_latency_ms": round(separator.config.algorithmic_latency_ms, 1)},
              "objects": entries, "residual": {"wav": "residual.wav",
                                               "rms_db": _db(result.residual)}}
    partial = out / ".objects.json.partial"
    partial.write_text(json.dumps(report, indent=1) + "\n")
    partial.replace(out / "objects.json")
    written.append(out / "objects.json")
    return written


def _write(path: Path, signal: np.ndarray, rate: int) -> None:
    partial = path.with_name(f".{path.name}.partial")
    write_wav(partial, signal.astype(np.float32), rate)
    partial.replace(path)


def _db(signal: np.ndarray) -> float:
    return round(float(10 * np.log10(np.mean(np.square(signal, dtype=np.float64)) + 1e-12)), 2)
