"""Benchmarks behind ``crn-bench``; each returns a dict and writes it as JSON."""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from pathlib import Path


def machine_info() -> dict:
    """What the figures were measured on."""
    return {"cpus": os.cpu_count(), "machine": platform.machine(),
            "processor": platform.processor() or None, "python": platform.python_version()}


def bench_synth(clips: int, seconds: float, sources: int, workers: int, json_path: Path) -> dict:
    """Generate ``clips`` clips with ``workers`` processes; clips per minute and the time one hour
    of audio would take (the corpus target: one hour of 2-source clips in under 15 minutes)."""
    from crn_live.config import SynthConfig
    from crn_live.data.render import resolve_soundfont
    from crn_live.data.synth import CorpusRequest, generate

    config = SynthConfig(seconds=seconds, sources=sources)
    with tempfile.TemporaryDirectory(prefix="crn-bench-synth-") as tmp:
        request = CorpusRequest(out=Path(tmp), clips=clips, split="train", seed=1234,
                                config=config, soundfont=resolve_soundfont(None))
        started = time.perf_counter()
        generate(request, workers=workers)
        elapsed = time.perf_counter() - started
        disk = sum(f.stat().st_size for f in Path(tmp).rglob("*") if f.is_file())
    per_minute = clips / elapsed * 60.0
    result = {
        "benchmark": "synth", "clips": clips, "seconds_per_clip": seconds, "sources": sources,
        "workers": workers, "soundfont": request.soundfont.name, "elapsed_s": round(elapsed, 2),
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

    The detector is exported to ONNX (as ``export/export_onnx.py`` does) in a temporary folder;
    each backend is timed network-only (the input already letterboxed) and end to end (a BGR
    frame of ``frame_size`` in, letterbox + network + decoding + NMS, detections out), after a
    warm-up, one frame at a time as live. Frames come from ``video`` or are noise.
    """
    import cv2
    import numpy as np
    import torch

    from crn_live.vision.detector import BUNDLED_DETECTOR, OwnDetector, detector_checkpoint
    from crn_live.vision.decode import letterbox

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
        from export.export_onnx import export_detector

        graph = export_detector(checkpoint.model, Path(tmp) / "detector.onnx")
        on_onnx = OwnDetector.from_onnx(graph, threads=threads)
        for name, detector in (("onnxruntime", on_onnx), ("torch", on_torch)):
            inputs = [letterbox(im, c.input_width, c.input_height)[0][None] for im in images]
            result["backends"][name] = {
                "network_ms": _timed(lambda k: detector._run(inputs[k]), len(images)),
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
