"""Console entry points: each command parses its arguments, validates them, and calls the library.

Errors the user can fix (:class:`crn_live.errors.UserError`) end the command with one line on
stderr and exit status 2; Ctrl+C ends it with status 130 after the command's own clean-up.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

from crn_live.errors import UserError

Main = Callable[[Sequence[str] | None], int]


def _entry(prog: str, main: Main) -> Callable[[], None]:
    def run() -> None:
        try:
            code = main(None)
        except UserError as exc:
            print(f"{prog}: error: {exc}", file=sys.stderr)
            code = 2
        except KeyboardInterrupt:
            print(f"{prog}: interrupted", file=sys.stderr)
            code = 130
        except OSError as exc:  # a path that can't be made or written, a full disk
            where = f": {exc.filename}" if exc.filename else ""
            print(f"{prog}: error: {exc.strerror or exc}{where}; check the path, its "
                  "permissions and the free space", file=sys.stderr)
            code = 2
        sys.exit(code)

    return run


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


# ---------------------------------------------------------------------------------------------
# crn-synth


def synth_parser() -> argparse.ArgumentParser:
    from crn_live.data.instruments import CLASSES

    p = argparse.ArgumentParser(
        prog="crn-synth",
        description="Generate synthetic audio-visual ensemble clips (mix, stems, video, meta) "
                    "rendered with a General MIDI SoundFont.",
        epilog=f"classes: {', '.join(CLASSES)}")
    p.add_argument("--out", type=Path, required=True, help="output folder (one folder per clip)")
    p.add_argument("--clips", type=_positive_int, required=True, help="number of clips")
    p.add_argument("--sources", type=_positive_int, default=2, help="instruments per clip (2)")
    p.add_argument("--seconds", type=_positive_float, default=10.0, help="clip length (10)")
    p.add_argument("--seed", type=int, default=0, help="corpus seed (0): same seed, same bytes")
    p.add_argument("--split", choices=("train", "val", "test"), default="train",
                   help="train uses only Bach and Palestrina scores; val/test the held-out ones")
    p.add_argument("--soundfont", help="a .sf2/.sf3 file, or 'timgm6mb' (default: FluidR3_GM)")
    p.add_argument("--scores", type=Path, help="render your own MIDI/MusicXML folder instead "
                                               "of the music21 corpus")
    p.add_argument("--music", choices=("procedural", "scores", "both"), default="both",
                   help="procedural music, real scores, or both (default)")
    p.add_argument("--classes", help="comma-separated instrument classes to draw from (all)")
    p.add_argument("--no-reverb", action="store_true", help="dry stems (no room)")
    p.add_argument("--size", default="320x240", help="video frame size WxH (320x240)")
    p.add_argument("--start-index", type=int, default=0, help="index of the first clip (0)")
    p.add_argument("--workers", type=_positive_int, default=1, help="parallel processes (1)")
    p.add_argument("--resume", action="store_true",
                   help="skip clips already complete (finish an interrupted run)")
    return p


def synth_request(args: argparse.Namespace):
    """Validate ``crn-synth`` arguments into a :class:`CorpusRequest` (UserError otherwise)."""
    from crn_live.config import SynthConfig
    from crn_live.data.instruments import CLASSES, parse_class_list
    from crn_live.data.render import resolve_soundfont
    from crn_live.data.synth import CorpusRequest

    try:
        classes = parse_class_list(args.classes) if args.classes else CLASSES
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError as exc:
        raise UserError(f"{exc}" if args.classes else f"--size must be WxH, got {args.size}")
    if width < 64 or height < 64 or width % 2 or height % 2:
        raise UserError(f"--size {args.size}: use even sizes of at least 64x64")
    if args.scores is not None and args.music == "procedural":
        raise UserError("--scores needs --music scores or both")
    config = SynthConfig(seconds=args.seconds, sources=args.sources, width=width, height=height,
                         music=args.music, reverb_probability=0.0 if args.no_reverb else 0.5)
    return CorpusRequest(out=args.out, clips=args.clips, split=args.split, seed=args.seed,
                         config=config, soundfont=resolve_soundfont(args.soundfont),
                         classes=classes, scores=args.scores, start_index=args.start_index)


def synth_main(argv: Sequence[str] | None = None) -> int:
    from tqdm import tqdm

    from crn_live.data.synth import prepare, run

    args = synth_parser().parse_args(argv)
    request = synth_request(args)
    if args.soundfont is None and request.soundfont.name == "TimGM6mb.sf2":
        print("crn-synth: note: FluidR3_GM not found, using the lighter TimGM6mb "
              "(apt-get install fluid-soundfont-gm for the default)", file=sys.stderr)
    prepared = prepare(request, resume=args.resume)
    started = time.perf_counter()
    with tqdm(total=len(prepared.todo), unit="clip", desc="crn-synth") as bar:
        try:
            written = run(prepared, workers=args.workers, on_clip=lambda _path: bar.update())
        except KeyboardInterrupt:
            bar.close()
            kept = sum((request.out / n / "meta.json").is_file() for n in request.clip_names())
            print(f"crn-synth: interrupted: {kept} complete clips kept in {request.out}; "
                  "run the same command with --resume to finish", file=sys.stderr)
            return 130
    elapsed = time.perf_counter() - started
    print(f"{len(written)} clips in {request.out} ({elapsed:.1f} s, "
          f"soundfont {request.soundfont.name})")
    return 0


# ---------------------------------------------------------------------------------------------
# crn-bench


def bench_main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="crn-bench", description="Run a benchmark; writes JSON.")
    sub = p.add_subparsers(dest="bench", required=True)
    s = sub.add_parser("synth", help="crn-synth generation speed (clips per minute)")
    s.add_argument("--clips", type=_positive_int, default=12)
    s.add_argument("--seconds", type=_positive_float, default=10.0)
    s.add_argument("--sources", type=_positive_int, default=2)
    s.add_argument("--workers", type=_positive_int, default=2)
    s.add_argument("--json", type=Path, required=True, help="where to write the result")
    d = sub.add_parser("detector", help="detector frames per second (onnxruntime and torch)")
    d.add_argument("--model", type=Path, help="detector checkpoint (default: the bundled one)")
    d.add_argument("--frames", type=_positive_int, default=200, help="frames timed (200)")
    d.add_argument("--threads", type=_positive_int, default=2, help="CPU threads (2)")
    d.add_argument("--video", type=Path, help="time on this video's frames (default: noise "
                                              "frames of 640x480, a webcam's size)")
    d.add_argument("--json", type=Path, required=True, help="where to write the result")
    t = sub.add_parser("step", help="separator step latency per backend and object count")
    t.add_argument("--model", type=Path, help="separator checkpoint (default: the bundled one)")
    t.add_argument("--backends", default="torch,onnxruntime,tensorrt,torch-cuda",
                   help="comma-separated: torch, onnxruntime, tensorrt, torch-cuda (all)")
    t.add_argument("--objects", default="1,2,3,4", help="object counts (1,2,3,4)")
    t.add_argument("--hops", type=_positive_int, default=200, help="steps timed (200)")
    t.add_argument("--threads", type=_positive_int, default=2, help="CPU threads (2)")
    t.add_argument("--engines", type=Path, default=Path("engines"),
                   help="where build_engines.py wrote TensorRT engines (engines/)")
    t.add_argument("--json", type=Path, required=True, help="where to write the result")
    v = sub.add_parser("live", help="the live engine per backend and instrument count, and a "
                                    "paced live run (the default benchmark)")
    v.add_argument("--backends", default="onnxruntime,torch,tensorrt",
                   help="comma-separated: onnxruntime, torch, tensorrt (all)")
    v.add_argument("--instruments", default="1,2,3,4", help="instrument counts (1,2,3,4)")
    v.add_argument("--seconds", type=_positive_float, default=20.0,
                   help="audio processed per backend and count (20)")
    v.add_argument("--live-seconds", type=float, default=60.0,
                   help="length of the paced live run of the demo scene; 0 skips it (60)")
    v.add_argument("--threads", type=_positive_int, help="CPU threads (all cores)")
    v.add_argument("--engines", type=Path, default=Path("engines"),
                   help="where build_engines.py wrote TensorRT engines (engines/)")
    v.add_argument("--json", type=Path, required=True, help="where to write the result")
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0].startswith("--") and argv[0] not in ("-h", "--help"):
        argv.insert(0, "live")  # crn-bench --json OUT: the live engine benchmark
    args = p.parse_args(argv)
    if args.bench == "detector":
        return _bench_detector(args)
    if args.bench == "step":
        return _bench_step(p, args)
    if args.bench == "live":
        return _bench_live(p, args)
    from crn_live.bench import bench_synth

    result = bench_synth(clips=args.clips, seconds=args.seconds, sources=args.sources,
                         workers=args.workers, json_path=args.json)
    print(f"{result['clips_per_minute']:.1f} clips/min; one hour of {args.sources}-source clips "
          f"in {result['minutes_per_audio_hour']:.1f} min (target < 15); wrote {args.json}")
    return 0


def _bench_detector(args: argparse.Namespace) -> int:
    from crn_live.bench import bench_detector

    if args.video is not None and not args.video.is_file():
        raise UserError(f"--video {args.video} not found")
    result = bench_detector(args.model, args.frames, args.threads, args.json, video=args.video)
    for name, b in result["backends"].items():
        print(f"{name:>11}: {b['fps']:6.1f} fps end to end (median "
              f"{b['end_to_end_ms']['median']:.1f} ms, p99 {b['end_to_end_ms']['p99']:.1f} ms; "
              f"network {b['network_ms']['median']:.1f} ms)")
    print(f"target >= {result['target_fps']} fps on onnxruntime; wrote {args.json}")
    return 0


def _names(p: argparse.ArgumentParser, text: str, known: tuple, flag: str) -> list[str]:
    names = [b.strip() for b in text.split(",") if b.strip()]
    if not names or any(b not in known for b in names):
        p.error(f"{flag} takes a comma-separated list of {', '.join(known)}")
    return names


def _counts(p: argparse.ArgumentParser, text: str, flag: str) -> list[int]:
    try:
        counts = sorted({int(n) for n in text.split(",")})
    except ValueError:
        counts = []
    if not counts or counts[0] < 1 or counts[-1] > 16:
        p.error(f"{flag} takes comma-separated counts in 1..16, e.g. 1,2,3,4")
    return counts


def _bench_live(p: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from crn_live.bench import bench_live

    backends = _names(p, args.backends, ("onnxruntime", "torch", "tensorrt"), "--backends")
    counts = _counts(p, args.instruments, "--instruments")
    result = bench_live(backends, counts, args.seconds, args.threads, args.json,
                        max(args.live_seconds, 0.0), engines=args.engines)
    print(f"algorithmic latency {result.get('algorithmic_latency_ms')} ms")
    for r in result["runs"]:
        print(f"  {r['backend']:>11} {r['instruments']} instruments: hop median "
              f"{r['hop_ms_median']:6.2f} ms, p99 {r['hop_ms_p99']:6.2f} ms of "
              f"{r['chunk_ms']:.1f} ms, RTF {r['rtf']:.3f}, peak RSS {r['peak_rss_mb']} MB")
    for name, why in result["unavailable"].items():
        print(f"  {name:>11}: not measured: {why}")
    if "live_run" in result:
        live = result["live_run"]
        print(f"  live run: {live['seconds']} s, {live['instruments']} instruments, RTF "
              f"{live['rtf']}, {live['degradations']} degradations, {live['xruns']} xruns")
    print(f"wrote {args.json}")
    return 0


def _bench_step(p: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from crn_live.bench import bench_step

    backends = _names(p, args.backends, ("torch", "onnxruntime", "tensorrt", "torch-cuda"),
                      "--backends")
    objects = _counts(p, args.objects, "--objects")
    result = bench_step(args.model, backends, objects, args.hops, args.threads, args.json,
                        args.engines)
    print(f"separator step ({result['config']}, {result['refine_iterations']} cycles), one hop "
          f"= {result['hop_ms']:.1f} ms of audio:")
    for r in result["runs"]:
        print(f"  {r['backend']:>11} {r['objects']} objects: median {r['hop_ms_median']:6.2f} ms,"
              f" p99 {r['hop_ms_p99']:6.2f} ms ({100 * r['share_of_hop']:.0f}% of a hop)")
    for name, why in result["unavailable"].items():
        print(f"  {name:>11}: not measured: {why}")
    print(f"wrote {args.json}")
    return 0


# ---------------------------------------------------------------------------------------------
# crn-live (crn_live/live_cli.py)


def live_main(argv: Sequence[str] | None = None) -> int:
    from crn_live.live_cli import live_main as main

    return main(argv)

# ---------------------------------------------------------------------------------------------
# crn-eval


def _separator(model: Path | None, device: str):
    from crn_live.separation import BUNDLED_MODEL, Separator

    if model is None and not BUNDLED_MODEL.is_file():
        raise UserError(f"the bundled model {BUNDLED_MODEL} is missing (a partial install?): "
                        "reinstall crn-live, or give --model CKPT from crn-train")
    return Separator.load(model, _device(device))


def _json_ready(value):
    """NaN -> None, recursively (strict JSON)."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_ready(v) for v in value]
    return value


def _write_json(path: Path, data: dict) -> None:
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_json_ready(data), indent=1, allow_nan=False) + "\n")


def eval_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="crn-eval",
        description="Separation: SDR / SIR / SAR / SDRi (BSS Eval) of a separator on crn-synth "
                    "clip folders, beside the unprocessed mixture and the oracle ideal ratio "
                    "mask. Detection (--task detector): mAP@0.5 and mAP@0.5:0.95 of a detector "
                    "on the clips' video frames.",
        epilog="examples: crn-eval --data data/test2 --data data/test3 --streaming --detect "
               "--json results/eval.json; crn-eval --task detector --data data/test2 --json "
               "results/detector.json")
    p.add_argument("--task", choices=("separation", "detector"), default="separation",
                   help="what to score (separation)")
    p.add_argument("--data", type=Path, action="append", required=True,
                   help="folder of clips (repeatable), e.g. crn-synth --split test output")
    p.add_argument("--model", type=Path, help="separator checkpoint, or with --task detector the "
                   "detector (.pt or .onnx); default: the bundled one")
    p.add_argument("--streaming", action="store_true",
                   help="also run the chunked causal model hop by hop, exactly as live")
    p.add_argument("--detect", action="store_true",
                   help="also separate with detected + tracked boxes instead of the clips' own")
    p.add_argument("--detector", type=Path,
                   help="detector for --detect (.pt, our .onnx, or an external YOLO .onnx); "
                        "default: the bundled one")
    p.add_argument("--detector-labels", type=Path,
                   help="class names of an external ONNX detector, one per line")
    p.add_argument("--frames-per-clip", type=_positive_int, default=10,
                   help="detector task: video frames scored per clip (10)")
    p.add_argument("--json", type=Path, required=True, help="where to write the report")
    p.add_argument("--limit", type=_positive_int, help="only the first N clips of each folder")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, auto")
    return p


def eval_main(argv: Sequence[str] | None = None) -> int:
    from tqdm import tqdm

    from crn_live.data.clips import find_clips
    from crn_live.evaluate import evaluate

    args = eval_parser().parse_args(argv)
    clips = [c for d in args.data for c in find_clips(d)[:args.limit]]
    if args.task == "detector":
        return _eval_detector(args, clips)
    separator = _separator(args.model, args.device)
    detector = _detector(args.detector, args.detector_labels, args.device) if args.detect \
        else None
    with tqdm(total=len(clips), unit="clip", desc="crn-eval") as bar:
        report = evaluate(separator, clips, args.streaming, progress=lambda _c: bar.update(),
                          detector=detector)
    report["data"] = [str(d) for d in args.data]
    report["checkpoint"] = str(args.model) if args.model else "bundled"
    _write_json(args.json, report)
    for method, m in report["methods"].items():
        print(f"{method:>19}: SDR {m['sdr']:6.2f}  SIR {m['sir']:6.2f}  SAR {m['sar']:6.2f}  "
              f"SDRi {m['sdri']:5.2f} dB")
    if detector is not None:
        d = report["detection"]
        print(f"detected and tracked {d['matched_sources']} of {d['sources']} instruments "
              f"({d['extra_tracks']} extra tracks)")
    print(f"{report['sources_scored']} sources in {len(clips)} clips; wrote {args.json}")
    return 0


def _detector(path: Path | None, labels: Path | None, device: str, **decoding):
    from crn_live.vision.detector import open_detector

    return open_detector(path, labels, _device(device), **decoding)


def _eval_detector(args: argparse.Namespace, clips: list) -> int:
    from tqdm import tqdm

    from crn_live.data.frames import load_frames
    from crn_live.evaluate import evaluate_detection

    if args.streaming or args.detect or args.detector:
        raise UserError("--streaming, --detect and --detector are for separation; with --task "
                        "detector give the detector as --model")
    detector = _detector(args.model, args.detector_labels, args.device, threshold=0.01,
                         max_detections=100)
    with tqdm(total=len(clips), unit="clip", desc="reading frames") as bar:
        frames = load_frames(clips, args.frames_per_clip, detector.classes, seed=0,
                             progress=lambda done, _total: bar.update(done - bar.n))
    with tqdm(total=len(frames.images), unit="frame", desc="crn-eval detector") as bar:
        report = evaluate_detection(detector, frames,
                                    progress=lambda done, _total: bar.update(done - bar.n))
    report.update({"data": [str(d) for d in args.data], "clips": len(clips),
                   "detector": detector.describe(),
                   "checkpoint": str(args.model) if args.model else "bundled"})
    _write_json(args.json, report)
    for name, c in report["per_class"].items():
        if c["objects"]:
            print(f"{name:>10}: AP@0.5 {c['ap50']:.3f}  AP@0.5:0.95 {c['ap50_95']:.3f}  "
                  f"({c['objects']} objects)")
    print(f"mAP@0.5 {report['map50']:.3f}, mAP@0.5:0.95 {report['map50_95']:.3f} on "
          f"{report['frames']} frames of {len(clips)} clips; wrote {args.json}")
    return 0


# ---------------------------------------------------------------------------------------------
# crn-separate


def separate_main(argv: Sequence[str] | None = None) -> int:
    from tqdm import tqdm

    from crn_live.separate_files import load_input, write_outputs

    p = argparse.ArgumentParser(
        prog="crn-separate",
        description="Separate a recording into one full-band WAV per instrument plus the "
                    "residual, guided by each instrument's picture.",
        epilog="INPUT is a crn-synth clip folder (objects from its meta.json unless --detect) "
               "or a video file: its instruments are detected and tracked, or given with "
               "--objects FILE.json ({\"objects\": [{\"class\": \"Violin\", \"box\": "
               "[x0, y0, x1, y1]}, ...]}, boxes in pixels; with --detect they are kept beside "
               "the detected ones). The video's audio track is used unless --audio FILE is "
               "given.")
    p.add_argument("input", type=Path, help="clip folder or video file")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--audio", type=Path, help="audio file to separate (instead of the video's)")
    p.add_argument("--objects", type=Path, help="JSON with the class and box of each instrument")
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
    if args.mode == "streaming":
        return _separate_streaming(args)
    separator = _separator(args.model, args.device)
    plain_video = not args.input.is_dir() and args.objects is None
    detector = None
    if args.detect or plain_video or args.detector is not None:
        detector = _detector(args.detector, args.detector_labels, args.device)
    with tqdm(total=1, unit="frame", desc="detecting", disable=detector is None) as bar:
        def scanned(done: int, total: int) -> None:
            bar.total, bar.n = total, done
            bar.refresh()

        job = load_input(args.input, separator.config.crop_size, audio=args.audio,
                         objects=args.objects, detector=detector, progress=scanned)
    if detector is not None:
        print(f"{detector.describe()}: " + ", ".join(
            f"{o.class_name} #{o.origin['track_id']} ({o.origin['source']})"
            for o in job.objects))
    with tqdm(total=1, unit="step", desc="crn-separate") as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        written = write_outputs(job, separator, args.out, args.mode, progress)
    print(f"{len(job.objects)} instruments + residual at {job.rate} Hz in {args.out}: "
          f"{', '.join(p.name for p in written)}")
    return 0


def _separate_streaming(args: argparse.Namespace) -> int:
    """The live engine on the input's files, unpaced (see crn_live.live_cli)."""
    import tempfile

    from crn_live.audio_io import write_wav
    from crn_live.data.clips import video_info
    from crn_live.live_cli import separate_streaming
    from crn_live.separate_files import _video_audio, read_objects

    if not args.input.exists():
        raise UserError(f"{args.input} not found: give a clip folder or a video file")
    video = args.input / "video.mp4" if args.input.is_dir() else args.input
    if not video.is_file():
        raise UserError(f"{args.input} has no video.mp4: give a crn-synth clip folder or a "
                        f"video file")
    info = video_info(video)
    objects = tuple((n, tuple(b)) for n, b in read_objects(args.objects, info.width,
                                                           info.height)) \
        if args.objects else ()
    with tempfile.TemporaryDirectory(prefix="crn-separate-") as tmp:
        audio = args.audio
        if audio is None and args.input.is_dir() and (args.input / "mix.wav").is_file():
            audio = args.input / "mix.wav"
        if audio is None:
            samples, rate = _video_audio(video)
            audio = Path(tmp) / "audio.wav"
            write_wav(audio, samples, rate)
        stats = separate_streaming(video, audio, args.out, objects, args.model, args.detector,
                                   args.detector_labels, args.backend)
    tracks = sorted(p.name for p in args.out.glob("track-*.wav"))
    if not tracks:
        raise UserError(f"no instrument found in {video}: give --objects FILE.json with each "
                        f"instrument's class and box")
    _streaming_report(args, video, stats, tracks)
    print(f"{len(tracks)} instruments + residual at {stats['sample_rate']} Hz in {args.out} "
          f"(live engine, {stats['backend']}, RTF {stats['rtf']}): {', '.join(tracks)}")
    return 0


def _streaming_report(args: argparse.Namespace, video: Path, stats: dict,
                      tracks: list[str]) -> None:
    """``objects.json`` of a streaming run: crn-separate's report (mode, objects and their
    WAVs), with the tracks over time the live recording noted."""
    import json

    from crn_live.audio_io import read_audio
    from crn_live.separate_files import _db

    folder = args.out
    rounds = json.loads((folder / "objects.json").read_text()).get("rounds", [])
    objects = []
    for k, name in enumerate(tracks):
        track_id, class_name = name[len("track-"):-len(".wav")].split("-", 1)
        objects.append({"index": k, "class": class_name, "wav": name,
                        "rms_db": _db(read_audio(folder / name)[0]),
                        "track_id": int(track_id), "source": "detected"})
    report = {"input": str(args.input), "video": str(video),
              "sample_rate": stats["sample_rate"],
              "seconds": round(len(read_audio(folder / "mix.wav")[0]) / stats["sample_rate"], 3),
              "mode": "streaming", "engine": {k: stats[k] for k in (
                  "backend", "algorithmic_latency_ms", "rtf", "degradations")},
              "objects": objects,
              "residual": {"wav": "residual.wav",
                           "rms_db": _db(read_audio(folder / "residual.wav")[0])},
              "tracks_over_time": rounds}
    partial = folder / ".objects.json.partial"
    partial.write_text(json.dumps(report, indent=1) + "\n")
    partial.replace(folder / "objects.json")


# ---------------------------------------------------------------------------------------------
# crn-train


def train_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="crn-train",
        description="Train the CRN separator by mix-and-separate on crn-synth clip folders and/or "
                    "MUSIC-layout datasets (single process, or many with torchrun, DDP), or, "
                    "with --task detector, the instrument detector on crn-synth frames.",
        epilog="examples: crn-train --data data/train2 --data data/train3 --val data/val2 "
               "--out runs/small --steps 4000; crn-train --task detector --data data/train2 "
               "--val data/val2 --out runs/detector; distributed: torchrun "
               "--nproc-per-node 2 -m crn_live.cli train --data ... --out ...")
    p.add_argument("--task", choices=("separator", "detector"), default="separator",
                   help="what to train (separator)")
    p.add_argument("--data", type=Path, action="append", default=[],
                   help="folder of crn-synth clips (repeatable)")
    p.add_argument("--music", type=Path, action="append", default=[],
                   help="MUSIC-layout root with train.csv / val.csv (repeatable)")
    p.add_argument("--val", type=Path, action="append", default=[],
                   help="folder of validation clips (repeatable; MUSIC roots add their val.csv)")
    p.add_argument("--out", type=Path, required=True,
                   help="run folder: model.pt (best), last.pt (resume), log.jsonl")
    p.add_argument("--size", choices=("small", "base"), default="small",
                   help="model size (small: CPU real time; base: the reference, GPU)")
    p.add_argument("--config", type=Path,
                   help="JSON of model config fields to change from --size (or from the "
                        "detector's defaults), e.g. {\"ngf\": 8}")
    p.add_argument("--steps", type=_positive_int,
                   help="optimiser steps (separator 4000, detector 3000)")
    p.add_argument("--batch", type=_positive_int,
                   help="mixtures (separator, 8) or frames (detector, 16) per step")
    p.add_argument("--lr", type=_positive_float,
                   help="peak learning rate (separator 5e-4, detector 2e-3)")
    p.add_argument("--causal-weight", type=float, default=1.0,
                   help="weight of the loss on the frames a streaming step emits (1.0)")
    p.add_argument("--visual-weight", type=float, default=0.5,
                   help="weight of the instrument-class loss on the object embeddings (0.5)")
    p.add_argument("--val-every", type=_positive_int, default=250, help="steps between "
                   "validations (250)")
    p.add_argument("--frames-per-clip", type=_positive_int, default=10,
                   help="detector: video frames taken from each training clip (10)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto (cuda if present), cpu, cuda, cuda:N")
    p.add_argument("--init", type=Path, help="start from this checkpoint's weights")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--bundle", type=Path,
                   help="also write the best model as a half-precision separator checkpoint here")
    p.add_argument("--check-replicas", type=Path, help=argparse.SUPPRESS)
    return p


def _device(text: str) -> str:
    import torch

    if text == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if text.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"--device {text}: no CUDA GPU is visible to torch (CPU build or no "
                        "driver); use --device cpu")
    if text != "cpu" and not text.startswith("cuda"):
        raise UserError(f"--device {text}: use auto, cpu, cuda or cuda:N")
    return text


def _model_config(size: str, changes: Path | None, task: str = "separator"):
    """The ``size`` preset (or the detector's defaults) with the fields of a JSON file changed
    (nested dicts merge)."""
    import json

    from crn_live.config import DetectorConfig, ModelConfig, from_dict, to_dict

    if task == "detector":
        preset = DetectorConfig()
    else:
        preset = ModelConfig.small() if size == "small" else ModelConfig.base()
    if changes is None:
        return preset
    try:
        edits = json.loads(changes.read_text())
        if not isinstance(edits, dict):
            raise ValueError("expected a JSON object of config fields")
        return from_dict(type(preset), _merged(to_dict(preset), edits))
    except FileNotFoundError:
        raise UserError(f"--config {changes} not found") from None
    except (OSError, ValueError, TypeError) as exc:
        raise UserError(f"--config {changes}: {exc}") from None


def _merged(base: dict, edits: dict) -> dict:
    out = dict(base)
    for key, value in edits.items():
        out[key] = _merged(base[key], value) if isinstance(value, dict) and isinstance(
            base.get(key), dict) else value
    return out


def _training_clips(args: argparse.Namespace) -> tuple[list, list]:
    from crn_live.data.clips import find_clips
    from crn_live.data.music_layout import read_music_index

    if not args.data and not args.music:
        raise UserError("no training data: give --data DIR (crn-synth clips) and/or --music DIR "
                        "(MUSIC layout)")
    clips = [c for d in args.data for c in find_clips(d)]
    val = [c for d in args.val for c in find_clips(d)]
    for root in args.music:
        clips += read_music_index(root, "train")[0]
        if (root / "val.csv").is_file():
            val += read_music_index(root, "val")[0]
    if len(clips) < 2:
        raise UserError(f"only {len(clips)} training clip(s): mix-and-separate needs at least 2")
    return clips, val


def train_main(argv: Sequence[str] | None = None) -> int:
    from tqdm import tqdm

    from crn_live.train import Run, TrainConfig, setup_distributed, train

    args = train_parser().parse_args(argv)
    if args.task == "detector":
        return _train_detector(args)
    args.steps, args.batch, args.lr = args.steps or 4000, args.batch or 8, args.lr or 5e-4
    device = _device(args.device)
    rank, world = setup_distributed(device)
    if device == "cuda" and world > 1:
        device = f"cuda:{rank % max(1, __import__('torch').cuda.device_count())}"
    clips, val = _training_clips(args)
    model = _model_config(args.size, args.config)
    config = TrainConfig(steps=args.steps, batch=args.batch, lr=args.lr, seed=args.seed,
                         causal_weight=args.causal_weight, visual_weight=args.visual_weight,
                         val_every=args.val_every)
    if (args.out / "last.pt").is_file() and not args.resume:
        raise UserError(f"{args.out} already holds a run: add --resume to continue it, or "
                        "choose another --out")
    run = Run(out=args.out, model=model, train=config, clips=clips, val_clips=val,
              device=device, data_names=tuple(str(p) for p in args.data + args.music),
              init=args.init)
    if rank == 0:
        print(f"crn-train: {len(clips)} training clips, {len(val)} validation clips, "
              f"{args.size} model on {device}" + (f", {world} processes" if world > 1 else ""),
              file=sys.stderr)
    bar = tqdm(total=args.steps, unit="step", desc="crn-train", disable=rank != 0)
    shown: dict = {}

    def progress(step: int, info: dict) -> None:
        shown.update(info)
        bar.n = step
        bar.set_postfix({k: f"{v:.3f}" if k == "loss" else f"{v:.2f}" for k, v in shown.items()
                         if k in ("loss", "val_sdr", "val_sdri")}, refresh=False)
        bar.refresh()

    try:
        summary = train(run, progress, resume=args.resume, replica_dir=args.check_replicas)
    except KeyboardInterrupt:
        bar.close()
        if rank == 0:
            print(f"crn-train: interrupted at step {bar.n}; state saved in {args.out}/last.pt: "
                  "run the same command with --resume to continue", file=sys.stderr)
        return 130
    bar.close()
    if rank == 0:
        if args.bundle is not None:
            _write_bundle(args.out / "model.pt", args.bundle)
        best = summary["best_val_sdri"]
        print(f"crn-train: {summary['step']} steps; best validation SDRi "
              f"{best:.2f} dB; model in {args.out / 'model.pt'}" if best > float("-inf") else
              f"crn-train: {summary['step']} steps; model in {args.out / 'model.pt'}")
    if world > 1:
        import torch.distributed as dist

        dist.destroy_process_group()
    return 0


def _train_detector(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from crn_live.data.clips import find_clips
    from crn_live.train_detector import DetectorRun, DetectorTrainConfig, train_detector

    if not args.data:
        raise UserError("no training data: give --data DIR (crn-synth clips, repeatable)")
    if args.music:
        raise UserError("--music (MUSIC layout) has no boxes; the detector trains on crn-synth "
                        "clips (--data)")
    if "RANK" in __import__("os").environ:
        raise UserError("the detector trains on one process; run crn-train --task detector "
                        "without torchrun")
    clips = [c for d in args.data for c in find_clips(d)]
    val = [c for d in args.val for c in find_clips(d)]
    config = DetectorTrainConfig(steps=args.steps or 3000, batch=args.batch or 16,
                                 lr=args.lr or 2e-3, seed=args.seed, val_every=args.val_every,
                                 frames_per_clip=args.frames_per_clip)
    if (args.out / "last.pt").is_file() and not args.resume:
        raise UserError(f"{args.out} already holds a run: add --resume to continue it, or "
                        "choose another --out")
    device = _device(args.device)
    run = DetectorRun(out=args.out, model=_model_config(args.size, args.config, "detector"),
                      train=config, clips=clips, val_clips=val, device=device,
                      data_names=tuple(str(p) for p in args.data), init=args.init)
    print(f"crn-train: detector on {len(clips)} training clips x {config.frames_per_clip} "
          f"frames, {len(val)} validation clips, on {device}", file=sys.stderr)
    loading = tqdm(total=len(clips), unit="clip", desc="reading frames")
    bar = tqdm(total=config.steps, unit="step", desc="crn-train detector", delay=0.1)
    shown: dict = {}

    def progress(step: int, info: dict) -> None:
        loading.close()
        shown.update(info)
        bar.n = step
        bar.set_postfix({k: f"{v:.3f}" for k, v in shown.items()
                         if k in ("loss", "val_map50")}, refresh=False)
        bar.refresh()

    def read(done: int, total: int) -> None:
        loading.n = done
        loading.refresh()

    try:
        summary = train_detector(run, progress, resume=args.resume, loading=read)
    except KeyboardInterrupt:
        bar.close()
        print(f"crn-train: interrupted at step {bar.n}; state saved in {args.out}/last.pt: "
              "run the same command with --resume to continue", file=sys.stderr)
        return 130
    bar.close()
    if args.bundle is not None:
        from crn_live.models import load_checkpoint, save_checkpoint

        checkpoint = load_checkpoint(args.out / "model.pt")
        args.bundle.parent.mkdir(parents=True, exist_ok=True)
        save_checkpoint(args.bundle, checkpoint.model, checkpoint.config,
                        {**checkpoint.meta, "from": str(args.out / "model.pt")}, half=True)
        print(f"crn-train: bundled detector ({args.bundle.stat().st_size / 1e6:.1f} MB) in "
              f"{args.bundle}", file=sys.stderr)
    best = summary["best_map50_95"]
    print(f"crn-train: {summary['step']} steps; best validation mAP@0.5:0.95 {best:.3f}; "
          f"model in {args.out / 'model.pt'}" if best > float("-inf") else
          f"crn-train: {summary['step']} steps; model in {args.out / 'model.pt'}")
    return 0


def _write_bundle(source: Path, target: Path) -> None:
    """The visual encoder + CRN of a trained system, float16, for shipping."""
    from crn_live.models import SeparatorModel, load_checkpoint, save_checkpoint

    checkpoint = load_checkpoint(source)
    separator = SeparatorModel.from_system(checkpoint.model)
    target.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(target, separator, checkpoint.config, {**checkpoint.meta, "from": str(source)},
                    half=True)
    print(f"crn-train: bundled separator ({target.stat().st_size / 1e6:.1f} MB) in {target}",
          file=sys.stderr)


crn_synth = _entry("crn-synth", synth_main)
crn_bench = _entry("crn-bench", bench_main)
crn_live = _entry("crn-live", live_main)
crn_separate = _entry("crn-separate", separate_main)
crn_train = _entry("crn-train", train_main)
crn_eval = _entry("crn-eval", eval_main)


if __name__ == "__main__":  # torchrun -m crn_live.cli train ...
    _commands = {"train": crn_train, "eval": crn_eval, "separate": crn_separate,
                 "synth": crn_synth, "bench": crn_bench, "live": crn_live}
    if len(sys.argv) < 2 or sys.argv[1] not in _commands:
        print(f"usage: python -m crn_live.cli {{{','.join(_commands)}}} ...", file=sys.stderr)
        sys.exit(2)
    _name = sys.argv.pop(1)
    _commands[_name]()
