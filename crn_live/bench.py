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
