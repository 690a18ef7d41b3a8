"""``crn-live``: the live app (window by default, ``--no-gui`` headless), and ``crn-separate``'s
streaming mode, which is the same engine driven by file sources, unpaced."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Sequence

from crn_live.cli.common import PLAIN_INTERVAL_S, entry, instrument_names, is_terminal
from crn_live.errors import UserError
from crn_live.runtime.base import BACKEND_CHOICES

DESCRIPTION = ("Live visually-guided source separation: a camera sees the players, a "
               "microphone hears them; every instrument found in the picture is separated "
               "from the mixture as it plays, and can be soloed, muted or re-balanced.")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="crn-live", description=DESCRIPTION,
        epilog="examples: crn-live --camera 0 --mic default; crn-live --demo; crn-live --demo "
               "--no-gui --duration 20 --record takes/demo; crn-live --camera gig.mp4 --mic "
               "gig.wav --no-gui --solo Violin; crn-live --camera none --mic default "
               "--instruments violin,cello (separate by name, no camera needed). Without a "
               "camera or a microphone, try --demo.")
    p.add_argument("--camera", default="0", help="camera index or video file (0); none: no "
                                                 "video (instruments from --instruments or "
                                                 "--objects only)")
    p.add_argument("--mic", default="default",
                   help="microphone: default, a device index or name part, or an audio file")
    p.add_argument("--output", default="default",
                   help="output device: default, an index or name part, or none")
    p.add_argument("--demo", action="store_true",
                   help="play the bundled demo scene (video + mixture) through the live path")
    p.add_argument("--list-devices", action="store_true",
                   help="list the cameras that open and the audio devices, then exit")
    p.add_argument("--backend", choices=BACKEND_CHOICES, default="auto",
                   help="auto (TensorRT engines if built for this GPU, else onnxruntime), "
                        "tensorrt, onnxruntime or torch")
    p.add_argument("--model", type=Path, help="separator checkpoint (default: bundled)")
    p.add_argument("--detector", type=Path,
                   help="detector: .pt, our .onnx, or an external YOLO .onnx (default: bundled)")
    p.add_argument("--detector-labels", type=Path,
                   help="class names of an external ONNX detector, one per line")
    p.add_argument("--objects", type=Path,
                   help="JSON of manual regions {\"objects\": [{\"class\": ..., \"box\": [x0, "
                        "y0, x1, y1]}]} in frame pixels, kept beside the detected ones")
    p.add_argument("--instruments", metavar="NAMES",
                   help="instruments to separate by name, comma-separated (violin,cello; any "
                        "case, synonyms such as contrabass accepted): no box, no picture "
                        "needed, kept beside the ones the camera finds")
    p.add_argument("--max-objects", type=int, default=4, help="instruments at once (4)")
    p.add_argument("--detect-fps", type=float, default=5.0, help="detection rounds per s (5)")
    p.add_argument("--no-gui", action="store_true", help="run without a window")
    p.add_argument("--duration", type=float, help="stop after this many seconds of audio")
    p.add_argument("--record", type=Path, help="record a WAV per instrument, the residual, the "
                                               "mixture and what was played, with objects.json "
                                               "and stats.json, into this folder")
    p.add_argument("--solo", action="append", default=[], metavar="NAME",
                   help="solo instruments of this class (or residual); repeatable")
    p.add_argument("--mute", action="append", default=[], metavar="NAME",
                   help="mute instruments of this class (or residual); repeatable")
    p.add_argument("--json", type=Path, help="write the run's statistics here at the end")
    p.add_argument("--threads", type=int, help="CPU threads for inference (all cores)")
    p.add_argument("--fixed-quality", action="store_true",
                   help="never degrade when late (counts late chunks; audio may glitch)")
    p.add_argument("--loop", action="store_true", help="loop file sources")
    p.add_argument("--chunk-frames", type=int, choices=(1, 2, 4),
                   help="frames per separator step (the model's: 2, 115.9 ms algorithmic "
                        "latency; 1: 92.7 ms, twice the steps)")
    p.add_argument("--device-latency", default="0.03",
                   help="latency asked of the audio devices: seconds, low or high (0.03)")
    p.add_argument("--engines", type=Path, default=Path("engines"),
                   help="folder of TensorRT engines (engines/)")
    return p


def _spec(text: str | None):
    if text is None or text.lower() == "none":
        return None
    return int(text) if text.isdigit() else text


def _rule_names(option: str, names: list[str]) -> tuple[str, ...]:
    """``--solo`` / ``--mute`` names as class names (any case, synonyms) or ``residual``."""
    from crn_live.instruments import lookup
    from crn_live.stream.mixer import RESIDUAL

    out = []
    for name in names:
        if name.strip().lower() == "residual":
            out.append(RESIDUAL)
            continue
        try:
            out.append(lookup(name).name)
        except ValueError as error:
            raise UserError(f"{option}: {error}") from None
    return tuple(out)


def options_from(args: argparse.Namespace):
    from crn_live.stream.session import SessionOptions

    if args.max_objects < 1 or args.max_objects > 16:
        raise UserError(f"--max-objects must be in 1..16, got {args.max_objects}")
    if args.detect_fps <= 0 or (args.duration is not None and args.duration <= 0):
        raise UserError("--detect-fps and --duration must be positive")
    objects = tuple(_objects(args.objects)) if args.objects else ()
    instruments = instrument_names(args.instruments, args.max_objects)
    common = dict(output=_spec(args.output), backend=args.backend, model=args.model,
                  detector=args.detector, detector_labels=args.detector_labels,
                  max_objects=args.max_objects, detect_fps=args.detect_fps,
                  duration=args.duration, record=args.record, objects=objects,
                  instruments=instruments,
                  solo=_rule_names("--solo", args.solo), mute=_rule_names("--mute", args.mute),
                  threads=args.threads,
                  adaptive=not args.fixed_quality, engines=args.engines,
                  device_latency=_latency(args.device_latency),
                  chunk_frames=args.chunk_frames)
    if args.demo:
        return SessionOptions.demo(**common)
    return SessionOptions(camera=_spec(args.camera), mic=_spec(args.mic), loop=args.loop,
                          **common)


def _latency(text: str) -> str | float:
    if text in ("low", "high"):
        return text
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 1:
        raise UserError(f"--device-latency must be low, high or seconds in (0, 1], got {text}")
    return value


def _objects(path: Path) -> list:
    from crn_live.data.video import read_objects

    return [(name, tuple(box)) for name, box in read_objects(path, 10 ** 6, 10 ** 6)]


def _open(options):
    """The session, or one line saying which device is missing and offering the demo."""
    from crn_live.stream.session import LiveSession

    try:
        return LiveSession(options)
    except UserError as error:
        text = str(error)
        if "no microphone" in text or "no camera" in text:
            raise UserError(f"{text.rstrip('.')}; without a camera or microphone, crn-live "
                            f"--demo plays the bundled demo scene") from None
        raise


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.list_devices:
        from crn_live.stream.devices import format_device_list

        print(format_device_list())
        return 0
    options = options_from(args)
    if not args.no_gui:
        try:
            from crn_live.ui.app import run
        except ImportError as error:
            raise UserError(f"the window needs PySide6 and pyqtgraph ({error}); run with "
                            f"--no-gui, or pip install crn-live with its GUI packages") from None
        return run(options, argv)
    run_headless(options, args.json)
    return 0


def run_headless(options, json_path: Path | None = None, quiet: bool = False) -> dict:
    """Run a session without a window until its file sources end, ``--duration`` or Ctrl+C;
    prints a status line each second; returns (and writes) its statistics."""
    session = _open(options)
    if not quiet:
        print(f"crn-live: {session.runtime.describe()}", file=sys.stderr)
        for note in session.notes:
            print(f"crn-live: {note}", file=sys.stderr)
        print(f"crn-live: {session.rate} Hz, algorithmic latency "
              f"{session.engine.algorithmic_latency_ms:.1f} ms"
              + (f", recording to {options.record}" if options.record else ""), file=sys.stderr)
    interrupted = False
    terminal = is_terminal()
    last_line = float("-inf")
    try:
        session.start()
        while not session.wait(1.0):
            if quiet or not (terminal or time.monotonic() - last_line >= PLAIN_INTERVAL_S):
                continue
            last_line = time.monotonic()
            # a terminal gets one line rewritten each second; a log a plain line now and then
            print(("\r" if terminal else "") + _status_line(session),
                  end="   " if terminal else "\n", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        session.stop()
        stats = session.stats()
        session.close()  # finishes the recording: valid files up to the last block
    if not quiet and terminal:
        print(file=sys.stderr)
    if isinstance(session.error, UserError):  # a device went away: its own one line
        raise UserError(str(session.error)) from None
    if session.error is not None:
        raise UserError(f"the live engine stopped: {type(session.error).__name__}: "
                        f"{session.error}")
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(stats, indent=1) + "\n")
    if interrupted:
        raise KeyboardInterrupt
    if not quiet:
        print(f"crn-live: {stats['seconds']:.1f} s processed, RTF {stats['rtf']}, "
              f"{stats['degradations']} degradations, {stats['xruns']} xruns"
              + (f"; recorded in {options.record}" if options.record else ""))
    return stats


def _status_line(session) -> str:
    """One line of a running session: time, instruments, hop time, RTF, degradations, xruns,
    and how long ago the sound now playing was captured (the delay the window also puts on its
    picture)."""
    s = session.status()
    snapshot = session.vision.snapshot
    seen = {t.track_id for t in snapshot.tracks}
    names = ", ".join([f"{t.class_name} #{t.track_id}" for t in snapshot.tracks]
                      + [f"{o.label} (named)" for o in snapshot.objects
                         if o.track_id not in seen]) or "no instrument yet"
    return (f"{s.seconds:7.1f} s  {names}  hop {s.hop_ms_median:.1f} ms  RTF {s.rtf:.2f}  "
            f"degradations {s.degradations}  xruns {s.xruns}  "
            f"delay {1000.0 * session.playback_delay_s:.0f} ms")


def separate_streaming(video: Path | None, audio: Path, out: Path, objects: tuple = (),
                       model: Path | None = None, detector: Path | None = None,
                       detector_labels: Path | None = None, backend: str = "auto",
                       max_objects: int = 4, instruments: tuple[str, ...] = ()) -> dict:
    """``crn-separate --mode streaming``: the live engine on file sources, unpaced, no
    playback; the recording, trimmed of the synthesis delay, is the output."""
    from crn_live.stream.session import SessionOptions

    options = SessionOptions(camera=str(video) if video is not None else None, mic=str(audio),
                             output=None, backend=backend, model=model, detector=detector,
                             detector_labels=detector_labels, max_objects=max_objects,
                             paced=False, record=out, objects=objects,
                             instruments=tuple(instruments), trim_delay=True)
    return run_headless(options, quiet=True)


console = entry("crn-live", main)
