"""``crn-bench latency`` and ``crn-bench soak``: the live session through real (PulseAudio)
devices, measured from outside.

Both run the session with its microphone on ``crn_room_mic`` and its output on ``crn_speaker``
(:func:`~crn_live.stream.devices.ensure_pulse_probe`): what is played into ``crn_room`` reaches
the microphone, and ``crn_probe.monitor`` records the room (left) and the loudspeaker (right)
sample-aligned. ``--scene`` / the soak use the demo scene: its video as the camera (three
instruments tracked) and its mixture played into the room.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from crn_live.errors import UserError

__all__ = ["SOAK_KEYS", "bench_latency", "bench_soak", "music_delay_ms"]

#: Seconds between clicks (more than any mic-to-speaker delay: each is found on its own).
CLICK_SPACING_S = 1.0
#: What the soak's JSON holds (the test checks each).
SOAK_KEYS = ("benchmark", "machine", "minutes", "scene", "instruments", "seconds", "xruns",
             "startup_xruns", "output_gaps", "output_device_underflows", "degradations",
             "recoveries", "chunks_per_level", "hop_ms_median", "hop_ms_p99",
             "hop_ms_p99_worst_window", "rtf", "rss_mb_start", "rss_mb_end",
             "rss_growth_percent", "output_buffer_low_ms", "output_prefill_ms",
             "mic_to_speaker_ms", "timeline")


def _require_probe() -> None:
    from crn_live.stream.devices import ensure_pulse_probe

    if shutil.which("pactl") is None or not ensure_pulse_probe():
        raise UserError("this benchmark needs a PulseAudio server (pactl, pulseaudio: "
                        "scripts/install.sh installs them) to route the devices")


def _open_session(scene: bool, threads: int | None, engines: Path, duration: float | None):
    """A live session on the measuring bus: microphone ``crn_room_mic``, output
    ``crn_speaker``, the demo video as camera with ``scene``."""
    from crn_live.stream.devices import ROOM_SOURCE, SPEAKER_SINK, pulse_route
    from crn_live.stream.session import DEMO_DIR, LiveSession, SessionOptions

    options = SessionOptions(camera=str(DEMO_DIR / "video.mp4") if scene else None,
                             mic="default", output="default", threads=threads,
                             engines=engines, duration=duration)
    with pulse_route(sink=SPEAKER_SINK, source=ROOM_SOURCE):
        return LiveSession(options)


def _wait_processed(session, seconds: float, timeout: float) -> None:
    """Until the session has processed ``seconds`` of audio (UserError when it fails)."""
    deadline = time.monotonic() + timeout
    while session.engine.chunks * session.engine.chunk_samples < seconds * session.rate:
        if session.error is not None or session.finished or time.monotonic() > deadline:
            raise UserError(f"the live session stopped early: {session.error}")
        time.sleep(0.05)


def _device_figures(session) -> dict:
    """The latencies the session's devices report and the nominal mic-to-speaker sum."""
    algorithmic = session.engine.algorithmic_latency_ms
    prefill = session.options.output_prefill_ms
    output_ms = 1000.0 * session.output.latency
    input_ms = 1000.0 * session.audio.latency
    return {"algorithmic_latency_ms": round(algorithmic, 2), "output_prefill_ms": prefill,
            "output_device_latency_ms": round(output_ms, 2),
            "input_device_latency_ms": round(input_ms, 2),
            "nominal_ms": round(algorithmic + prefill + output_ms + input_ms, 2)}


def bench_latency(clicks: int = 10, scene: bool = False, threads: int | None = None,
                  engines: Path = Path("engines"), json_path: Path | None = None) -> dict:
    """Mic-to-speaker latency through the devices: ``clicks`` clicks played into the room
    (:data:`CLICK_SPACING_S` apart) after the session settled, each found again in what the
    loudspeaker played (:func:`~crn_live.stream.probe.click_delays`); beside the algorithmic
    latency and the nominal sum (algorithmic + prefill + the devices' reported latencies)."""
    from crn_live.cli.bench import machine_info
    from crn_live.stream.probe import PROBE_RATE, RoomProbe, click_delays

    _require_probe()
    session = _open_session(scene, threads, engines, None)
    try:
        with RoomProbe(seconds=clicks * CLICK_SPACING_S + 10.0) as probe:
            session.start()
            _wait_processed(session, 1.5, 30.0)
            probe.skip()
            probe.play_clicks(clicks, CLICK_SPACING_S)
            recording = probe.recording()
        stats = session.stats()
    finally:
        session.close()
    if session.error is not None:
        raise UserError(f"the live session stopped: {session.error}")
    delays = click_delays(recording, PROBE_RATE, clicks, CLICK_SPACING_S)
    result = {"benchmark": "mic_to_speaker_latency", "machine": machine_info(),
              "scene": scene, "instruments": len(stats["tracks"]),
              "mic_to_speaker_ms": delays.summary(),
              "clicks_ms": [None if not np.isfinite(d) else round(float(d), 2)
                            for d in delays.delays_ms],
              **_device_figures(session),
              "xruns": stats["xruns_by_side"], "backend": stats["backend"]}
    _write(result, json_path)
    return result


def _write(result: dict, json_path: Path | None) -> None:
    import json

    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(result, indent=1) + "\n")


def _rss_mb() -> float:
    """This process's resident memory now (MB)."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    import resource

    return round(pages * resource.getpagesize() / 2**20, 1)


@contextlib.contextmanager
def _room_playing(seconds: float) -> Iterator[None]:
    """The demo mixture looped for ``seconds`` played into the room by ``paplay`` (its own
    process: the player costs this one nothing)."""
    import soundfile as sf

    from crn_live.stream.devices import ROOM_SINK
    from crn_live.stream.session import DEMO_DIR

    if shutil.which("paplay") is None:
        raise UserError("paplay (pulseaudio-utils) is needed to play the scene into the room")
    mix, rate = sf.read(DEMO_DIR / "mix.wav", dtype="float32")
    looped = np.tile(mix, int(np.ceil(seconds * rate / len(mix))) + 1)
    with tempfile.TemporaryDirectory(prefix="crn-bench-room-") as tmp:
        path = Path(tmp) / "room.wav"
        sf.write(path, looped, rate, subtype="PCM_16")
        del looped
        player = subprocess.Popen(["paplay", f"--device={ROOM_SINK}", str(path)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(0.3)
            yield
        finally:
            player.terminate()
            player.wait(timeout=5)


def _record_bus(seconds: float) -> np.ndarray | None:
    """``seconds`` of the measuring bus recorded by ``parec`` (another process): ``(frames,
    2)`` float32, room left, loudspeaker right; None without parec."""
    from crn_live.stream.devices import PROBE_SOURCE
    from crn_live.stream.probe import PROBE_RATE

    if shutil.which("parec") is None:
        return None
    frames = int(seconds * PROBE_RATE)
    with subprocess.Popen(["parec", f"--device={PROBE_SOURCE}", "--format=float32le",
                           "--channels=2", f"--rate={PROBE_RATE}", "--raw"],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as parec:
        data = parec.stdout.read(frames * 8)
        parec.terminate()
    return np.frombuffer(data, np.float32).reshape(-1, 2)


def music_delay_ms(recording: np.ndarray | None, rate: int,
                   max_delay_s: float = 1.0) -> float | None:
    """The loudspeaker's delay behind the room (ms) in a recording of the bus while music
    plays: the lag of the best match of the room's first second in the loudspeaker channel;
    None when there is no recording or no clear match (< 0.5)."""
    from crn_live.stream.probe import find_delay

    if recording is None or len(recording) < int((1.0 + max_delay_s) * rate) + 1:
        return None
    room = recording[:rate, 0]
    speaker = recording[:int((1.0 + max_delay_s) * rate), 1]
    if not np.any(room):
        return None
    lag, match = find_delay(room, speaker, int(max_delay_s * rate))
    return round(1000.0 * lag / rate, 2) if match >= 0.5 else None


def bench_soak(minutes: float, scene: bool = True, threads: int | None = None,
               engines: Path = Path("engines"), json_path: Path | None = None,
               sample_s: float = 10.0, quiet: bool = False) -> dict:
    """The live path through the devices for ``minutes``: with ``scene`` the demo scene (its
    video as the camera, three instruments; its mixture played into the room), else idle (no
    camera, a silent room). Samples every ``sample_s``: xruns, degradations, chunk times, RSS;
    the mic-to-speaker delay (from the music) after the start-up and at the end.

    ``rss_mb_start`` is the first sample's (after ``sample_s``, or half of a shorter run:
    the start-up is over), ``rss_mb_end`` the last one's, at the end.
    """
    from crn_live.cli.bench import machine_info
    from crn_live.stream.probe import PROBE_RATE

    _require_probe()
    seconds = minutes * 60.0
    timeline: list[dict] = []
    delays: dict = {}
    session = _open_session(scene, threads, engines, seconds)
    try:
        with _room_playing(seconds + 30.0) if scene else contextlib.nullcontext():
            session.start()
            started = time.monotonic()
            next_sample = started + min(sample_s, seconds / 2)
            while not session.wait(0.25):
                if time.monotonic() >= next_sample:
                    timeline.append(_sample(session, time.monotonic() - started))
                    next_sample += sample_s
                    if not quiet:
                        _print_sample(timeline[-1])
                    if scene and "start" not in delays and timeline[-1]["t_s"] >= 5.0:
                        delays["start"] = music_delay_ms(_record_bus(3.0), PROBE_RATE)
                remaining = seconds - session.engine.chunks * session.engine.chunk_ms / 1000
                if scene and "end" not in delays and remaining < 5.0:
                    delays["end"] = music_delay_ms(_record_bus(3.0), PROBE_RATE)
            timeline.append(_sample(session, time.monotonic() - started))
        stats = session.stats()
    finally:
        session.close()
    if session.error is not None:
        raise UserError(f"the live session stopped: {session.error}")
    output = session.output
    start_rss, end_rss = timeline[0]["rss_mb"], timeline[-1]["rss_mb"]
    low = output.buffer_low_frames
    result = {
        "benchmark": "soak", "machine": machine_info(), "minutes": minutes, "scene": scene,
        "instruments": len(stats["tracks"]), "seconds": stats["seconds"],
        "xruns": stats["xruns_by_side"], "startup_xruns": output.startup_xruns,
        "output_gaps": output.gaps, "output_device_underflows": output.device_underflows,
        "degradations": stats["degradations"], "recoveries": stats["recoveries"],
        "chunks_per_level": stats["chunks_per_level"],
        "hop_ms_median": stats["hop_ms_median"], "hop_ms_p99": stats["hop_ms_p99"],
        "hop_ms_p99_worst_window": max((s["hop_ms_p99"] or 0.0) for s in timeline),
        "rtf": stats["rtf"], "rss_mb_start": start_rss, "rss_mb_end": end_rss,
        "rss_growth_percent": round(100.0 * (end_rss - start_rss) / start_rss, 2),
        "output_buffer_low_ms": None if low is None else round(1000.0 * low / session.rate, 1),
        "output_prefill_ms": session.options.output_prefill_ms,
        "mic_to_speaker_ms": delays, **{k: v for k, v in _device_figures(session).items()
                                       if k != "output_prefill_ms"},
        "load_average_max": max(s["load_average"] for s in timeline),
        "cpus": os.cpu_count(), "backend": stats["backend"], "timeline": timeline}
    _write(result, json_path)
    return result


def _sample(session, t_s: float) -> dict:
    """One point of the soak's timeline."""
    stats = session.stats()
    output = session.output
    low = output.buffer_low_frames
    return {"t_s": round(t_s, 1), "seconds": stats["seconds"], "rss_mb": _rss_mb(),
            "xruns": stats["xruns_by_side"], "startup_xruns": output.startup_xruns,
            "degradations": stats["degradations"], "level": stats["level"],
            "hop_ms_p99": stats["hop_ms_p99"], "instruments": len(stats["tracks"]),
            "output_buffer_low_ms": None if low is None else
            round(1000.0 * low / session.rate, 1),
            # the machine's 1-minute load: a soak beside other work measures that work too
            "load_average": round(os.getloadavg()[0], 2)}


def _print_sample(sample: dict) -> None:
    print(f"{sample['t_s']:7.1f} s  RSS {sample['rss_mb']:.1f} MB  xruns {sample['xruns']}  "
          f"degradations {sample['degradations']}  p99 {sample['hop_ms_p99']} ms  "
          f"buffer low {sample['output_buffer_low_ms']} ms  {sample['instruments']} instruments",
          flush=True)
