"""``crn-separate``: read a clip folder or a video (+ objects) or an audio file, write the
separated WAVs.

Inputs:

* an audio file (WAV, FLAC, OGG, MP3: whatever :func:`~crn_live.data.audio_io.read_mono` reads)
  with ``--instruments violin,flute``: each instrument is separated by its name alone (no
  picture);
* a crn-synth clip folder: ``mix.wav`` at its own rate, objects and boxes from ``meta.json``;
* a video file with ``--objects FILE.json``: ``{"objects": [{"class": "Violin", "box": [x0, y0,
  x1, y1]}, ...]}`` (or just the list), boxes in pixels of the video frame, held for the whole
  video; its audio track is read with ffmpeg unless ``--audio FILE`` is given;
* a video without objects, or anything with ``detect``: the instruments are detected (every
  5th frame) and tracked through the video (:func:`crn_live.vision.video.track_video`); given
  objects then become manual regions beside the detected ones;
* ``--instruments`` with a clip folder or a video: the named instruments are separated beside
  the given or detected ones (a video where nothing is detected is then no error).

Outputs, in the output folder: ``<k>_<class>.wav`` per object (float WAV at the input's rate,
full band), ``residual.wav`` (the mixture minus every object) and ``objects.json`` (per object:
its class, whether its picture was used, where it came from: ``"source": "named"`` for an
instrument named by ``--instruments``). Each file is written under a temporary name and renamed
when complete.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from crn_live.cli.common import (
    entry,
    instrument_names,
    load_separator,
    open_detector,
    progress_bar,
)
from crn_live.data.audio_io import read_audio, read_mono, write_wav, write_wav_atomic
from crn_live.data.clips import open_clip
from crn_live.data.files import write_text_atomic
from crn_live.data.video import (
    crop_box,
    read_frames,
    read_objects,
    spaced_frames,
    video_audio,
    video_info,
)
from crn_live.dsp.levels import rms_db
from crn_live.dsp.resample import resample
from crn_live.errors import UserError
from crn_live.separation import Separator
from crn_live.stream.protocol import is_named

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")
#: Audio files crn-separate takes as the input itself (separated by --instruments, no video).
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".wv")
NAME_THEM = "name the instruments with --instruments, e.g. --instruments violin,flute"


@dataclasses.dataclass(frozen=True)
class InputObject:
    """One instrument to separate: its class, crops ``(n, S, S, 3)`` uint8 RGB (None: named
    by class alone, no picture), where from."""

    class_name: str
    crops: np.ndarray | None
    origin: dict


@dataclasses.dataclass(frozen=True)
class SeparationJob:
    """A mono mixture ``(samples,)`` at ``rate`` and the objects to pull out of it."""

    source: Path
    mix: np.ndarray
    rate: int
    objects: tuple[InputObject, ...]


def is_audio_file(path: Path) -> bool:
    """Whether ``path`` is taken as a plain audio file (not a clip folder, not a video)."""
    return not Path(path).is_dir() and Path(path).suffix.lower() in AUDIO_SUFFIXES


def named_objects(instruments: Sequence[str]) -> tuple[InputObject, ...]:
    """Instruments named by class alone (``--instruments``): no picture."""
    return tuple(InputObject(name, None, {"source": "named"}) for name in instruments)


def load_input(path: Path, crop_size: int, audio: Path | None = None,
               objects: Path | None = None, detector=None,
               progress: Callable[[int, int], None] | None = None,
               instruments: Sequence[str] = ()) -> SeparationJob:
    """Read a clip folder, a video (+ objects file) or an audio file; :class:`UserError` with
    one line if not usable. With a ``detector`` the instruments are detected and tracked (see
    the module docstring); a video without objects needs one. ``instruments``: class names
    separated by name beside the others (an audio file needs them)."""
    path = Path(path)
    named = named_objects(instruments)
    if not path.exists():
        raise UserError(f"input {path} not found: give an audio file, a crn-synth clip folder "
                        f"or a video file")
    if is_audio_file(path) or (named and not path.is_dir()
                               and path.suffix.lower() not in VIDEO_SUFFIXES):
        if not named:
            raise UserError(f"{path} is an audio file: {NAME_THEM}")
        if objects is not None:
            raise UserError(f"{path} is an audio file, without a picture to draw boxes on: "
                            f"--objects is for video files; {NAME_THEM}")
        mix, rate = read_mono(audio if audio is not None else path)
        if len(mix) == 0:
            raise UserError(f"the audio of {audio or path} is empty")
        return SeparationJob(path, mix, rate, named)
    if path.is_dir() and detector is not None:
        if objects is not None:
            raise UserError(f"{path} is a clip folder; --objects is for video files")
        open_clip(path)
        found = _detected_objects(path / "video.mp4", crop_size, detector, None, progress)
    elif path.is_dir():
        found = _clip_objects(path, crop_size, objects)
    elif path.suffix.lower() in VIDEO_SUFFIXES and detector is not None:
        found = _detected_objects(path, crop_size, detector, objects, progress)
    elif path.suffix.lower() in VIDEO_SUFFIXES:
        found = _video_objects(path, crop_size, objects)
    else:
        raise UserError(f"{path} is neither a clip folder nor a video ({', '.join(VIDEO_SUFFIXES)})"
                        f" nor an audio file ({', '.join(AUDIO_SUFFIXES)}); give one of them")
    found = tuple(found) + named
    if not found:
        raise UserError(f"no instrument found in {path}: draw them yourself with --objects "
                        f"FILE.json, or try another --detector")
    # the sound: --audio, else the clip's mix.wav, else the video's audio track (read only then)
    sound = audio if audio is not None else (path / "mix.wav" if path.is_dir() else None)
    mix, rate = read_mono(sound) if sound is not None else video_audio(path)
    if len(mix) == 0:
        raise UserError(f"the audio of {sound or path} is empty")
    return SeparationJob(path, mix, rate, found)


def _clip_objects(folder: Path, crop_size: int,
                  objects: Path | None) -> tuple[InputObject, ...]:
    """The clip's own objects (slots and boxes of ``meta.json``)."""
    clip = open_clip(folder)
    if objects is not None:
        raise UserError(f"{folder} is a clip folder with its own objects; --objects is for "
                        f"video files")
    crops = clip.crops(spaced_frames(int(clip.meta["n_frames"]), clip.fps), crop_size)
    return tuple(InputObject(s.class_name, crops[:, k], {"slot": s.name, "boxes": "meta.json"})
                 for k, s in enumerate(clip.slots))


def _video_objects(video: Path, crop_size: int,
                   objects: Path | None) -> tuple[InputObject, ...]:
    """The objects of an objects file, cropped from the video at spaced frames."""
    info = video_info(video)
    if objects is None:
        raise UserError(f"{video} comes without objects: detect them (--detect) or give "
                        f"--objects FILE.json with each instrument's class and box")
    specs = read_objects(objects, info.width, info.height)
    indices = spaced_frames(info.n_frames, info.fps).tolist()
    frames = read_frames(video, indices)
    return tuple(
        InputObject(name, np.stack([crop_box(frames[i], np.asarray(box), crop_size)
                                    for i in indices]), {"box": box})
        for name, box in specs)


def _detected_objects(video: Path, crop_size: int, detector, objects: Path | None,
                      progress: Callable[[int, int], None] | None) -> tuple[InputObject, ...]:
    """Instruments detected and tracked through ``video``; ``objects`` become manual regions."""
    from crn_live.vision.video import track_video

    manual = None
    if objects is not None:
        info = video_info(video)
        manual = read_objects(objects, info.width, info.height)
    scan = track_video(video, detector, crop_size, manual=manual, progress=progress)
    return tuple(InputObject(t.class_name, t.crops,
                             {"track_id": t.track_id, "score": round(t.score, 3),
                              "box": t.median_box(), "frames_seen": len(t.boxes),
                              "source": "manual" if t.manual else "detected"})
                 for t in scan.tracks)


def write_outputs(job: SeparationJob, separator: Separator, out: Path, mode: str = "offline",
                  progress: Callable[[int, int], None] | None = None) -> list[Path]:
    """Separate ``job`` and write the WAVs and ``objects.json`` into ``out``; the paths."""
    conditions = separator.describe_all([(o.class_name, o.crops) for o in job.objects])
    embeddings = np.stack([c.embedding for c in conditions])
    model_mix = job.mix if job.rate == separator.rate else resample(job.mix, job.rate,
                                                                    separator.rate)
    masks = separator.masks(separator.spectrogram(model_mix), embeddings, mode,
                            progress=progress)
    result = separator.apply(job.mix, job.rate, masks)
    out.mkdir(parents=True, exist_ok=True)
    written, entries = [], []
    for k, (obj, signal, condition) in enumerate(zip(job.objects, result.sources, conditions)):
        path = out / f"{k}_{obj.class_name.lower().replace(' ', '_')}.wav"
        write_wav_atomic(path, signal, job.rate)
        written.append(path)
        picture = {"picture_used": condition.used_appearance}
        if condition.reason:
            picture["picture_left_out"] = condition.reason
        entries.append({"index": k, "class": obj.class_name, "wav": path.name,
                        "rms_db": round(rms_db(signal), 2), **picture, **obj.origin})
    write_wav_atomic(out / "residual.wav", result.residual, job.rate)
    written.append(out / "residual.wav")
    report = {"input": str(job.source), "sample_rate": job.rate, "seconds":
              round(len(job.mix) / job.rate, 3), "mode": mode,
              "model": {"size": separator.config.size,
                        "algorithmic_latency_ms": round(separator.config.algorithmic_latency_ms, 1)},
              "objects": entries, "residual": {"wav": "residual.wav",
                                               "rms_db": round(rms_db(result.residual), 2)}}
    write_text_atomic(out / "objects.json", json.dumps(report, indent=1) + "\n")
    written.append(out / "objects.json")
    return written


def main(argv: Sequence[str] | None = None) -> int:

    p = argparse.ArgumentParser(
        prog="crn-separate",
        description="Separate a recording into one full-band WAV per instrument plus the "
                    "residual, guided by each instrument's name and, where there is one, its "
                    "picture.",
        epilog="INPUT is an audio file (WAV, FLAC, OGG, MP3) whose instruments are named with "
               "--instruments, a crn-synth clip folder (objects from its meta.json unless "
               "--detect) or a video file: its instruments are detected and tracked, or given "
               "with --objects FILE.json ({\"objects\": [{\"class\": \"Violin\", \"box\": "
               "[x0, y0, x1, y1]}, ...]}, boxes in pixels; with --detect they are kept beside "
               "the detected ones). The video's audio track is used unless --audio FILE is "
               "given. Examples: crn-separate quartet.wav --instruments violin,viola,cello "
               "--out stems/; crn-separate gig.mp4 --instruments flute --out stems/ (the flute "
               "beside the instruments detected in the video).")
    p.add_argument("input", type=Path, help="audio file, clip folder or video file")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--audio", type=Path, help="audio file to separate (instead of the video's)")
    p.add_argument("--objects", type=Path, help="JSON with the class and box of each instrument")
    p.add_argument("--instruments", metavar="NAMES",
                   help="instruments to separate by name, comma-separated (violin,flute; any "
                        "case, synonyms such as contrabass accepted): no picture needed; an "
                        "audio file needs them, beside a video's they are added")
    p.add_argument("--model", type=Path, help="checkpoint (default: the bundled small model)")
    p.add_argument("--mode", choices=("offline", "streaming"), default="offline",
                   help="offline: half-overlapping windows that see past and future (the "
                        "reference, default); streaming: the live engine itself on the files, "
                        "unpaced (detected and tracked instruments, the very samples crn-live "
                        "would give)")
    p.add_argument("--backend", choices=("auto", "tensorrt", "onnxruntime", "torch"),
                   default="auto", help="streaming mode's backend (auto)")
    p.add_argument("--detect", action="store_true",
                   help="detect instruments even where a clip or --objects gives them")
    p.add_argument("--detector", type=Path,
                   help="detector: .pt, our .onnx, or an external YOLO .onnx (default: bundled)")
    p.add_argument("--detector-labels", type=Path,
                   help="class names of an external ONNX detector, one per line")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, auto")
    args = p.parse_args(argv)
    instruments = instrument_names(args.instruments)
    if not args.input.exists():  # before any model loads
        raise UserError(f"input {args.input} not found: give an audio file, a crn-synth clip "
                        f"folder or a video file")
    if is_audio_file(args.input) and not instruments:
        raise UserError(f"{args.input} is an audio file: {NAME_THEM}")
    if args.mode == "streaming":
        return _separate_streaming(args, instruments)
    audio_only = not args.input.is_dir() and args.input.suffix.lower() not in VIDEO_SUFFIXES
    if audio_only and args.input.exists() and (args.detect or args.detector is not None):
        raise UserError(f"{args.input} has no picture to detect instruments in: {NAME_THEM}")
    separator = load_separator(args.model, args.device)
    plain_video = not args.input.is_dir() and args.objects is None and not audio_only
    detector = None
    if not audio_only and (args.detect or plain_video or args.detector is not None):
        detector = open_detector(args.detector, args.detector_labels, args.device)
    with progress_bar(total=1, unit="frame", desc="detecting", disable=detector is None) as bar:
        def scanned(done: int, total: int) -> None:
            bar.total, bar.n = total, done
            bar.refresh()

        job = load_input(args.input, separator.config.crop_size, audio=args.audio,
                         objects=args.objects, detector=detector, progress=scanned,
                         instruments=instruments)
    if detector is not None:
        print(f"{detector.describe()}: " + ", ".join(
            f"{o.class_name} #{o.origin['track_id']} ({o.origin['source']})"
            if "track_id" in o.origin else f"{o.class_name} ({o.origin['source']})"
            for o in job.objects))
    with progress_bar(total=1, unit="step", desc="crn-separate") as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        written = write_outputs(job, separator, args.out, args.mode, progress)
    print(f"{len(job.objects)} instruments + residual at {job.rate} Hz in {args.out}: "
          f"{', '.join(p.name for p in written)}")
    return 0


def _separate_streaming(args: argparse.Namespace, instruments: tuple[str, ...] = ()) -> int:
    """The live engine on the input's files, unpaced (see crn_live.cli.live); an audio file
    alone with its instruments named."""
    import tempfile

    from crn_live.cli.live import separate_streaming

    if not args.input.exists():
        raise UserError(f"{args.input} not found: give an audio file, a clip folder or a video "
                        f"file")
    if len(instruments) > 16:
        raise UserError(f"--instruments names {len(instruments)} instruments; the live engine "
                        f"separates at most 16 at once")
    audio_only = not args.input.is_dir() and args.input.suffix.lower() not in VIDEO_SUFFIXES
    video = None if audio_only else (args.input / "video.mp4" if args.input.is_dir()
                                     else args.input)
    if video is not None and not video.is_file():
        raise UserError(f"{args.input} has no video.mp4: give a crn-synth clip folder or a "
                        f"video file")
    if video is None and args.objects:
        raise UserError(f"{args.input} is an audio file, without a picture to draw boxes on: "
                        f"--objects is for video files; {NAME_THEM}")
    objects = ()
    if args.objects:
        info = video_info(video)
        objects = tuple((n, tuple(b)) for n, b in read_objects(args.objects, info.width,
                                                               info.height))
    with tempfile.TemporaryDirectory(prefix="crn-separate-") as tmp:
        audio = args.audio
        if audio is None and video is None:
            audio = args.input
            read_mono(audio)  # one line now for a file that cannot be read
        if audio is None and args.input.is_dir() and (args.input / "mix.wav").is_file():
            audio = args.input / "mix.wav"
        if audio is None:
            samples, rate = video_audio(video)
            audio = Path(tmp) / "audio.wav"
            write_wav(audio, samples, rate)
        stats = separate_streaming(video, audio, args.out, objects, args.model, args.detector,
                                   args.detector_labels, args.backend,
                                   max(4, len(instruments)), instruments)
    tracks = sorted(p.name for p in args.out.glob("track-*.wav"))
    if not tracks:
        raise UserError(f"no instrument found in {video}: give --objects FILE.json with each "
                        f"instrument's class and box, or {NAME_THEM}")
    _streaming_report(args, video, stats, tracks)
    print(f"{len(tracks)} instruments + residual at {stats['sample_rate']} Hz in {args.out} "
          f"(live engine, {stats['backend']}, RTF {stats['rtf']}): {', '.join(tracks)}")
    return 0


def _streaming_report(args: argparse.Namespace, video: Path | None, stats: dict,
                      tracks: list[str]) -> None:
    """``objects.json`` of a streaming run: crn-separate's report (mode, objects and their
    WAVs), with the tracks over time the live recording noted."""
    folder = args.out
    rounds = json.loads((folder / "objects.json").read_text()).get("rounds", [])
    objects = []
    for k, name in enumerate(tracks):
        track_id, class_name = name[len("track-"):-len(".wav")].split("-", 1)
        objects.append({"index": k, "class": class_name, "wav": name,
                        "rms_db": round(rms_db(read_audio(folder / name)[0]), 2),
                        "track_id": int(track_id),
                        "source": "named" if is_named(int(track_id)) else "detected"})
    report = {"input": str(args.input), "video": str(video) if video is not None else None,
              "sample_rate": stats["sample_rate"],
              "seconds": round(len(read_audio(folder / "mix.wav")[0]) / stats["sample_rate"], 3),
              "mode": "streaming", "engine": {k: stats[k] for k in (
                  "backend", "algorithmic_latency_ms", "rtf", "degradations")},
              "objects": objects,
              "residual": {"wav": "residual.wav",
                           "rms_db": round(rms_db(read_audio(folder / "residual.wav")[0]), 2)},
              "tracks_over_time": rounds}
    write_text_atomic(folder / "objects.json", json.dumps(report, indent=1) + "\n")


console = entry("crn-separate", main)
