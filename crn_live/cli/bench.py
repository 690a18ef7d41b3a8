"""``crn-bench``: speed, latency and memory benchmarks, each writing JSON (the ones through the
real devices, ``latency`` and ``soak``, are in :mod:`crn_live.cli.bench_devices`)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

from crn_live.cli.common import entry, positive_float, positive_int, write_json
from crn_live.errors import UserError


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="crn-bench", description="Run a benchmark; writes JSON.")
    sub = p.add_subparsers(dest="bench", required=True)
    s = sub.add_parser("synth", help="crn-synth generation speed (clips per minute)")
    s.add_argument("--clips", type=positive_int, default=12)
    s.add_argument("--seconds", type=positive_float, default=10.0)
    s.add_argument("--sources", type=positive_int, default=2)
    s.add_argument("--workers", type=positive_int, default=2)
    s.add_argument("--json", type=Path, required=True, help="where to write the result")
    d = sub.add_parser("detector", help="detector frames per second (onnxruntime and torch)")
    d.add_argument("--model", type=Path, help="detector checkpoint (default: the bundled one)")
    d.add_argument("--frames", type=positive_int, default=200, help="frames timed (200)")
    d.add_argument("--threads", type=positive_int, default=2, help="CPU threads (2)")
    d.add_argument("--video", type=Path, help="time on this video's frames (default: noise "
                                              "frames of 640x480, a webcam's size)")
    d.add_argument("--json", type=Path, required=True, help="where to write the result")
    t = sub.add_parser("step", help="separator step latency per backend and object count")
    t.add_argument("--model", type=Path, help="separator checkpoint (default: the bundled one)")
    t.add_argument("--backends", default="torch,onnxruntime,tensorrt,torch-cuda",
                   help="comma-separated: torch, onnxruntime, tensorrt, torch-cuda (all)")
    t.add_argument("--objects", default="1,2,3,4", help="object counts (1,2,3,4)")
    t.add_argument("--hops", type=positive_int, default=200, help="steps timed (200)")
    t.add_argument("--threads", type=positive_int, default=2, help="CPU threads (2)")
    t.add_argument("--engines", type=Path, default=Path("engines"),
                   help="where build_engines.py wrote TensorRT engines (engines/)")
    t.add_argument("--json", type=Path, required=True, help="where to write the result")
    v = sub.add_parser("live", help="the live engine per backend and instrument count, and a "
                                    "paced live run (the default benchmark)")
    v.add_argument("--backends", default="onnxruntime,torch,tensorrt",
                   help="comma-separated: onnxruntime, torch, tensorrt (all)")
    v.add_argument("--instruments", default="1,2,3,4", help="instrument counts (1,2,3,4)")
    v.add_argument("--seconds", type=positive_float, default=20.0,
                   help="audio processed per backend and count (20)")
    v.add_argument("--live-seconds", type=float, default=60.0,
                   help="length of the paced live run of the demo scene; 0 skips it (60)")
    v.add_argument("--threads", type=positive_int, help="CPU threads (all cores)")
    v.add_argument("--engines", type=Path, default=Path("engines"),
                   help="where build_engines.py wrote TensorRT engines (engines/)")
    v.add_argument("--json", type=Path, required=True, help="where to write the result")
    lat = sub.add_parser("latency", help="mic-to-speaker latency through the real (PulseAudio) "
                                         "devices: clicks played into the room, found in what "
                                         "the loudspeaker played")
    lat.add_argument("--clicks", type=positive_int, default=10, help="clicks played (10)")
    lat.add_argument("--scene", action="store_true",
                     help="the demo scene's video as the camera (three instruments)")
    lat.add_argument("--threads", type=positive_int, help="CPU threads (all cores)")
    lat.add_argument("--engines", type=Path, default=Path("engines"),
                     help="where build_engines.py wrote TensorRT engines (engines/)")
    lat.add_argument("--json", type=Path, required=True, help="where to write the result")
    k = sub.add_parser("soak", help="the live path through the real (PulseAudio) devices for "
                                    "minutes, the demo scene played into the room: xruns, "
                                    "degradations, chunk p99, RSS")
    k.add_argument("--minutes", type=positive_float, default=10.0, help="length (10)")
    k.add_argument("--idle", action="store_true",
                   help="no camera (no instrument) and a silent room")
    k.add_argument("--threads", type=positive_int, help="CPU threads (all cores)")
    k.add_argument("--engines", type=Path, default=Path("engines"),
                   help="where build_engines.py wrote TensorRT engines (engines/)")
    k.add_argument("--json", type=Path, required=True, help="where to write the result")
    c = sub.add_parser("coldstart", help="share of chunks at full quality in fresh "
                                         "`crn-live --demo` runs (each a new process: nothing "
                                         "warm but the disk cache)")
    c.add_argument("--runs", type=positive_int, default=3, help="fresh runs (3)")
    c.add_argument("--seconds", type=positive_float, default=20.0, help="length of each (20)")
    c.add_argument("--json", type=Path, required=True, help="where to write the result")
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
    if args.bench == "latency":
        return _bench_latency(args)
    if args.bench == "soak":
        return _bench_soak(args)
    if args.bench == "coldstart":
        result = bench_coldstart(args.runs, args.seconds, args.json)
        print(f"full quality in {result['full_quality_share_min']:.1%} to "
              f"{result['full_quality_share_max']:.1%} of the chunks of {args.runs} fresh "
              f"{args.seconds:g} s demo runs (load average {result['load_average']}); "
              f"wrote {args.json}")
        return 0

    result = bench_synth(clips=args.clips, seconds=args.seconds, sources=args.sources,
                         workers=args.workers, json_path=args.json)
    print(f"{result['clips_per_minute']:.1f} clips/min; one hour of {args.sources}-source clips "
          f"in {result['minutes_per_audio_hour']:.1f} min (target < 15); wrote {args.json}")
    return 0


def _bench_detector(args: argparse.Namespace) -> int:

    if args.video is not None and not args.video.is_file():
        raise UserError(f"--video {args.video} not found")
    result = bench_detector(args.model, args.frames, args.threads, args.json, video=args.video)
    for name, b in result["backends"].items():
        print(f"{name:>11}: {b['fps']:6.1f} fps end to end (median "
              f"{b['end_to_end_ms']['median']:.1f} ms, p99 {b['end_to_end_ms']['p99']:.1f} ms; "
              f"network {b['network_ms']['median']:.1f} ms)")
    print(f"target >= {result['target_fps']} fps on onnxruntime; wrote {args.json}")
    return 0


def _bench_latency(args: argparse.Namespace) -> int:
    from crn_live.cli.bench_devices import bench_latency

    result = bench_latency(args.clicks, args.scene, args.threads, args.engines, args.json)
    _print_latency(result)
    print(f"wrote {args.json}")
    return 0


def _print_latency(result: dict) -> None:
    measured = result["mic_to_speaker_ms"]
    print(f"mic to speaker through the devices: median {measured.get('median_ms')} ms "
          f"(min {measured.get('min_ms')}, max {measured.get('max_ms')}; {measured['found']} of "
          f"{measured['clicks']} clicks found), {result['instruments']} instruments")
    print(f"  algorithmic {result['algorithmic_latency_ms']} ms + output prefill "
          f"{result['output_prefill_ms']} ms + devices' reported latency (in "
          f"{result['input_device_latency_ms']}, out {result['output_device_latency_ms']} ms) "
          f"= {result['nominal_ms']} ms nominal")


def _bench_soak(args: argparse.Namespace) -> int:
    from crn_live.cli.bench_devices import bench_soak

    r = bench_soak(args.minutes, not args.idle, args.threads, args.engines, args.json)
    print(f"{r['seconds']} s with {r['instruments']} instruments: xruns {r['xruns']} (start-up "
          f"{r['startup_xruns']}), {r['degradations']} degradations, chunk p99 "
          f"{r['hop_ms_p99']} ms (worst window {r['hop_ms_p99_worst_window']} ms), RSS "
          f"{r['rss_mb_start']} -> {r['rss_mb_end']} MB ({r['rss_growth_percent']:+.2f} %), "
          f"output buffer low {r['output_buffer_low_ms']} ms, mic to speaker "
          f"{r['mic_to_speaker_ms']} ms")
    print(f"wrote {args.json}")
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
    if "mic_to_speaker" in result:
        _print_latency(result["mic_to_speaker"])
    print(f"wrote {args.json}")
    return 0


def _bench_step(p: argparse.ArgumentParser, args: argparse.Namespace) -> int:

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
# the benchmarks


def machine_info() -> dict:
    """What the figures were measured on."""
    return {"cpus": os.cpu_count(), "machine": platform.machine(),
            "processor": platform.processor() or None, "python": platform.python_version()}


def bench_synth(clips: int, seconds: float, sources: int, workers: int, json_path: Path) -> dict:
    """Generate ``clips`` clips with ``workers`` processes; clips per minute and the time one hour
    of audio would take (the corpus target: one hour of 2-source clips in under 15 minutes)."""
    from crn_live.config import SynthConfig
    from crn_live.data.soundfonts import resolve
    from crn_live.data.synth import CorpusRequest, generate

    config = SynthConfig(seconds=seconds, sources=sources)
    with tempfile.TemporaryDirectory(prefix="crn-bench-synth-") as tmp:
        request = CorpusRequest(out=Path(tmp), clips=clips, split="train", seed=1234,
                                config=config, soundfonts=resolve(None))
        started = time.perf_counter()
        generate(request, workers=workers)
        elapsed = time.perf_counter() - started
        disk = sum(f.stat().st_size for f in Path(tmp).rglob("*") if f.is_file())
    per_minute = clips / elapsed * 60.0
    result = {
        "benchmark": "synth", "clips": clips, "seconds_per_clip": seconds, "sources": sources,
        "workers": workers, "soundfont": request.soundfonts[0].path.name, "elapsed_s": round(elapsed, 2),
        "clips_per_minute": round(per_minute, 2),
        "minutes_per_audio_hour": round(3600.0 / seconds / per_minute, 2),
        "target_minutes_per_audio_hour": 15.0,
        "mb_per_clip": round(disk / clips / 1e6, 2), "machine": machine_info(),
    }
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(result, indent=2) + "\n")
    return result


def bench_detector(model: Path | None, frames: int, threads: int, json_path: Path,
                   frame_size: tuple[int, int] = (640, 480), video: Path | None = None) -> dict:
    """Detector speed per frame on onnxruntime (the CPU default) and on PyTorch eager.

    The detector is exported to ONNX (as ``export/build_engines.py`` does) in a temporary folder;
    each backend is timed network-only (the input already letterboxed) and end to end (a BGR
    frame of ``frame_size`` in, letterbox + network + decoding + NMS, detections out), after a
    warm-up, one frame at a time as live. Frames come from ``video`` or are noise.
    """
    import cv2
    import numpy as np
    import torch

    from crn_live.vision.decode import letterbox
    from crn_live.vision.detector import BUNDLED_DETECTOR, OwnDetector, detector_checkpoint

    torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    if video is not None:
        capture = cv2.VideoCapture(str(video))
        images = []
        while len(images) < frames:
            ok, image = capture.read()
            if not ok:
                break
            images.append(image)
        capture.release()
    else:
        width, height = frame_size
        images = [rng.integers(0, 256, (height, width, 3), np.uint8) for _ in range(frames)]
    result: dict = {"machine": machine_info(), "threads": threads, "frames": len(images),
                    "frame_size": list(images[0].shape[1::-1]),
                    "model": str(model or BUNDLED_DETECTOR), "backends": {}}
    checkpoint = detector_checkpoint(model)
    on_torch = OwnDetector.from_model(checkpoint.model)
    c = on_torch.config
    result["input_size"] = [c.input_width, c.input_height]
    with tempfile.TemporaryDirectory(prefix="crn-bench-detector-") as tmp:
        from crn_live.runtime.onnx_export import export_detector

        graph = export_detector(checkpoint.model, Path(tmp) / "detector.onnx")
        on_onnx = OwnDetector.from_onnx(graph, threads=threads)
        for name, detector in (("onnxruntime", on_onnx), ("torch", on_torch)):
            inputs = [letterbox(im, c.input_width, c.input_height)[0][None] for im in images]
            result["backends"][name] = {
                "network_ms": _timed(lambda k: detector.network(inputs[k]), len(images)),
                "end_to_end_ms": _timed(lambda k: detector.detect(images[k]), len(images))}
            e2e = result["backends"][name]["end_to_end_ms"]["median"]
            result["backends"][name]["fps"] = round(1000.0 / e2e, 1)
    result["target_fps"] = 15
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(result, indent=1) + "\n")
    return result


def _timed(call, n: int, warmup: int = 5) -> dict:
    """Median / p99 / mean of ``call(k)`` for ``k`` in ``range(n)``, in milliseconds."""
    import numpy as np

    for k in range(min(warmup, n)):
        call(k)
    times = []
    for k in range(n):
        started = time.perf_counter()
        call(k)
        times.append(1000.0 * (time.perf_counter() - started))
    return {"median": round(float(np.median(times)), 3),
            "p99": round(float(np.percentile(times, 99)), 3),
            "mean": round(float(np.mean(times)), 3)}


def bench_step(model: Path | None, backends: list[str], objects: list[int], hops: int,
               threads: int, json_path: Path, engines: Path = Path("engines")) -> dict:
    """Per-hop latency of the separator step (all refinement cycles) per backend and number of
    objects: median / p99 ms over ``hops`` steps on real-looking windows, one step at a time as
    live, plus throughput (steps/s) and the real-time share of one hop's audio.

    A backend that cannot run here (TensorRT without an NVIDIA GPU) is reported with its reason,
    never with figures. ``torch-cuda`` runs when a CUDA GPU is present.
    """
    import numpy as np
    import torch

    from crn_live.runtime.base import BackendError
    from crn_live.runtime.graphs import STEP
    from crn_live.runtime.select import open_runtime
    from crn_live.runtime.step import step_feeds
    from crn_live.separation import BUNDLED_MODEL, Separator

    torch.set_num_threads(threads)
    path = Path(model or BUNDLED_MODEL)
    separator = Separator.load(path, "cpu")
    c = separator.config
    rng = np.random.default_rng(0)
    result: dict = {"benchmark": "separator_step", "machine": machine_info(), "threads": threads,
                    "model": str(path), "config": c.size, "refine_iterations": c.refine_iterations,
                    "context_frames": c.context_frames, "chunk_frames": c.chunk_frames,
                    "hop_ms": round(c.chunk_ms, 3), "hops": hops, "runs": [],
                    "unavailable": {}}
    for name in backends:
        choice, device = ("torch", "cuda") if name == "torch-cuda" else (name, "cpu")
        if name == "torch-cuda" and not torch.cuda.is_available():
            result["unavailable"][name] = "no CUDA GPU on this machine"
            continue
        try:
            runtime = open_runtime(choice, separator, path, graphs=[STEP], engines=engines,
                                   threads=threads, max_objects=max(objects), device=device)
        except BackendError as error:
            result["unavailable"][name] = str(error)
            continue
        backend = runtime[STEP]
        for n in objects:
            window = (rng.random((n, 1, c.log_bins, c.context_frames), np.float32) ** 4) * 5
            feeds = step_feeds(window, rng.standard_normal((n, c.embed_dim), np.float32))
            times = _timed(lambda k: backend.run(feeds), hops, warmup=10)
            result["runs"].append({
                "backend": name, "device": backend.device, "objects": n,
                "hop_ms_median": times["median"], "hop_ms_p99": times["p99"],
                "steps_per_s": round(1000.0 / times["mean"], 1),
                "share_of_hop": round(times["median"] / c.chunk_ms, 3)})
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(result, indent=1) + "\n")
    return result


def _peak_rss_mb() -> float:
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


def bench_live(backends: list[str], instruments: list[int], seconds: float, threads: int | None,
               json_path: Path, live_seconds: float = 0.0, live_instruments: int = 3,
               engines: Path = Path("engines")) -> dict:
    """The live engine per backend and number of instruments, and (``live_seconds``) a paced
    run of the demo scene through real devices.

    Per-hop figures: the demo mixture (44.1 kHz) processed chunk by chunk through
    :class:`~crn_live.stream.engine.SeparationEngine` at full quality with ``n`` instruments
    (embeddings of the demo's players), timing each chunk (STFT, network, masks, overlap-add,
    mixer); ``rtf`` = mean chunk time / chunk duration. Peak RSS is the process's high-water
    mark so far (it only grows, so runs are in increasing size). The live run plays the demo
    scene in real time (camera = its video, microphone = its mixture, output = the default
    device) with detection and tracking, and counts degradations and xruns; with it,
    ``mic_to_speaker`` is the latency measured through the devices with the demo scene's
    instruments (:func:`~crn_live.cli.bench_devices.bench_latency`, 8 clicks).
    """
    import numpy as np

    from crn_live.runtime.base import BackendError
    from crn_live.runtime.select import open_runtime
    from crn_live.separation import BUNDLED_MODEL, Separator

    separator = Separator.load()
    mix, rate = _demo_mix(seconds)
    rng = np.random.default_rng(0)
    result: dict = {"benchmark": "live_engine", "machine": machine_info(), "threads": threads,
                    "sample_rate": rate, "seconds_per_run": seconds, "runs": [],
                    "unavailable": {}}
    for name in backends:
        try:
            runtime = open_runtime(name, separator, BUNDLED_MODEL, engines=engines,
                                   threads=threads, max_objects=max(instruments))
        except BackendError as error:
            result["unavailable"][name] = str(error)
            continue
        runs, latency_ms = _live_engine_runs(name, runtime, separator.config, mix, rate,
                                             instruments, rng)
        result["runs"] += runs
        result["algorithmic_latency_ms"] = latency_ms
    if live_seconds > 0:
        from crn_live.cli.bench_devices import bench_latency

        result["live_run"] = _paced_live_run(live_seconds, live_instruments, threads, engines)
        result["mic_to_speaker"] = bench_latency(clicks=8, scene=True, threads=threads,
                                                 engines=engines)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(result, indent=1) + "\n")
    return result


def _demo_mix(seconds: float):
    """The demo scene's mixture looped to ``seconds``: ``(samples,)`` float32, and its rate."""
    import numpy as np
    import soundfile as sf

    from crn_live.stream.session import DEMO_DIR

    mix, rate = sf.read(DEMO_DIR / "mix.wav", dtype="float32")
    return np.tile(mix, int(np.ceil(seconds * rate / len(mix))))[:int(seconds * rate)], rate


def _live_engine_runs(name: str, runtime, config, mix, rate: int, instruments: list[int],
                      rng) -> tuple[list[dict], float]:
    """One figure set per instrument count on the opened ``runtime`` (backend ``name``), each
    from a fresh :class:`~crn_live.stream.engine.SeparationEngine` over all of ``mix``; and
    the engine's algorithmic latency (ms)."""
    import numpy as np

    from crn_live.runtime.graphs import VISUAL, step_graph, step_levels
    from crn_live.stream.engine import EngineSettings, SeparationEngine, SourceObject

    steps = {k: runtime[step_graph(k, config)] for k in step_levels(config)}
    crops = rng.random((max(instruments), 3, config.crop_size, config.crop_size), np.float32)
    embeddings = runtime[VISUAL].run({"crops": crops})["embeddings"]
    runs, latency_ms = [], None
    for n in instruments:
        engine = SeparationEngine(config, steps, EngineSettings(rate, max(instruments),
                                                                adaptive=False))
        latency_ms = round(engine.algorithmic_latency_ms, 2)
        engine.set_objects([SourceObject(k + 1, f"i{k}", embeddings[k]) for k in range(n)])
        times = _chunk_times(engine, mix)[5:]
        runs.append({
            "backend": name, "instruments": n,
            "hop_ms_median": round(float(np.median(times)), 3),
            "hop_ms_p99": round(float(np.percentile(times, 99)), 3),
            "chunk_ms": round(engine.chunk_ms, 3),
            "rtf": round(float(times.mean() / engine.chunk_ms), 4),
            "peak_rss_mb": _peak_rss_mb()})
    return runs, latency_ms


def _chunk_times(engine, mix):
    """Milliseconds of ``engine.process`` on each whole chunk of ``mix``, in order:
    ``(chunks,)``."""
    import numpy as np

    size = engine.chunk_samples
    times = []
    for start in range(0, len(mix) - size + 1, size):
        began = time.perf_counter()
        engine.process(mix[start:start + size])
        times.append(1000.0 * (time.perf_counter() - began))
    return np.asarray(times)


#: What the paced live run reports of ``crn-live --headless``'s statistics.
LIVE_RUN_KEYS = ("backend", "seconds", "rtf", "hop_ms_median", "hop_ms_p99", "degradations",
                 "xruns", "xruns_by_side", "chunks_per_level", "algorithmic_latency_ms",
                 "output_latency_ms", "output_prefill_ms", "detection_rounds")


def _paced_live_run(seconds: float, instruments: int, threads: int | None,
                    engines: Path) -> dict:
    """The demo scene played in real time through the live session (devices, detection,
    tracking): its :data:`LIVE_RUN_KEYS`, the instruments tracked and the peak RSS."""
    from crn_live.cli.live import run_headless
    from crn_live.stream.session import SessionOptions

    options = SessionOptions.demo(duration=seconds, max_objects=instruments, threads=threads,
                                  engines=engines)
    stats = run_headless(options, quiet=True)
    live = {k: stats[k] for k in LIVE_RUN_KEYS}
    live["instruments"] = len(stats["tracks"])
    live["peak_rss_mb"] = _peak_rss_mb()
    return live


console = entry("crn-bench", main)


def bench_coldstart(runs: int, seconds: float, json_path: Path | None = None) -> dict:
    """``runs`` fresh ``crn-live --demo --no-gui --output none`` processes of ``seconds``: per
    run the share of chunks at full quality (all refinement cycles), degradations, warm-up."""
    import os
    import subprocess
    import tempfile

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(runs):
            out = Path(tmp) / f"run{k}.json"
            done = subprocess.run([sys.executable, "-m", "crn_live.cli", "live", "--demo",
                                   "--no-gui", "--output", "none", "--duration", f"{seconds:g}",
                                   "--json", str(out)], capture_output=True, text=True)
            if done.returncode != 0:
                raise UserError(f"crn-live --demo failed: {done.stderr.strip().splitlines()[-1]}")
            stats = json.loads(out.read_text())
            levels = stats["chunks_per_level"]
            total = sum(levels.values())
            rows.append({"full_quality_share": round(levels["full"] / total, 4),
                         "chunks": total, "chunks_per_level": levels,
                         "degradations": stats["degradations"],
                         "warmup_ms": stats.get("warmup_ms")})
    shares = [r["full_quality_share"] for r in rows]
    result = {"benchmark": "coldstart", "machine": machine_info(), "runs": rows,
              "seconds": seconds, "full_quality_share_min": min(shares),
              "full_quality_share_max": max(shares),
              "load_average": round(os.getloadavg()[0], 2)}
    if json_path is not None:
        write_json(json_path, result)
    return result
