"""``crn-synth``: generate the synthetic audio-visual corpus."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Sequence

from crn_live.cli.common import (entry, non_negative_float, positive_float, positive_int,
                                 progress_bar, unit_float)
from crn_live.errors import UserError


def parser() -> argparse.ArgumentParser:
    from crn_live.instruments import CLASSES

    p = argparse.ArgumentParser(
        prog="crn-synth",
        description="Generate synthetic audio-visual ensemble clips (mix, stems, video, meta) "
                    "rendered with a General MIDI SoundFont.",
        epilog=f"classes: {', '.join(CLASSES)}")
    p.add_argument("--out", type=Path, required=True, help="output folder (one folder per clip)")
    p.add_argument("--clips", type=positive_int, required=True, help="number of clips")
    p.add_argument("--sources", type=positive_int, default=2, help="instruments per clip (2)")
    p.add_argument("--seconds", type=positive_float, default=10.0, help="clip length (10)")
    p.add_argument("--seed", type=int, default=0, help="corpus seed (0): same seed, same bytes")
    p.add_argument("--split", choices=("train", "val", "test"), default="train",
                   help="train uses only Bach and Palestrina scores; val/test the held-out ones")
    p.add_argument("--soundfont",
                   help="comma-separated SoundFonts each stem draws one from: .sf2/.sf3 files, "
                        "fluidr3, sf_gmbank, opl3, black_pearl, red_zeppelin (drum kits), "
                        "timgm6mb, or the palettes 'training' (all but TimGM6mb) and 'held-out' "
                        "(TimGM6mb); default fluidr3. The MuseScore General fonts are refused "
                        "(reserved for held-out evaluation)")
    p.add_argument("--scores", type=Path, help="render your own MIDI/MusicXML folder instead "
                                               "of the music21 corpus")
    p.add_argument("--music", choices=("procedural", "scores", "both"), default="both",
                   help="procedural music, real scores, or both (default)")
    p.add_argument("--classes", help="comma-separated instrument classes to draw from (all)")
    p.add_argument("--no-reverb", action="store_true", help="dry stems (no room)")
    p.add_argument("--room", choices=("ism", "simple"), default="ism",
                   help="rooms by pyroomacoustics' image-source method (default) or the old "
                        "hand-made room")
    p.add_argument("--expression", type=unit_float, default=1.0,
                   help="how much players shape their notes, 0 (as written) to 1 (default)")
    p.add_argument("--no-microphone", action="store_true",
                   help="no microphone/preamp colouring (EQ, low-cut, compression)")
    p.add_argument("--no-noise", action="store_true", help="no microphone noise floor")
    p.add_argument("--level-spread", type=non_negative_float, default=10.0,
                   help="each stem's level within +-DB of the others (10)")
    p.add_argument("--size", default="320x240", help="video frame size WxH (320x240)")
    p.add_argument("--start-index", type=int, default=0, help="index of the first clip (0)")
    p.add_argument("--workers", type=positive_int, default=1, help="parallel processes (1)")
    p.add_argument("--resume", action="store_true",
                   help="skip clips already complete (finish an interrupted run)")
    return p


def synth_request(args: argparse.Namespace):
    """Validate ``crn-synth`` arguments into a :class:`CorpusRequest` (UserError otherwise)."""
    from crn_live.config import SynthConfig
    from crn_live.data.soundfonts import resolve
    from crn_live.data.synth import CorpusRequest
    from crn_live.instruments import CLASSES, parse_class_list

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
                         music=args.music, level_spread_db=args.level_spread,
                         reverb_probability=0.0 if args.no_reverb else 0.8, room=args.room,
                         expression=args.expression, microphone=not args.no_microphone,
                         noise_floor=not args.no_noise)
    return CorpusRequest(out=args.out, clips=args.clips, split=args.split, seed=args.seed,
                         config=config, soundfonts=resolve(args.soundfont),
                         classes=classes, scores=args.scores, start_index=args.start_index)


def main(argv: Sequence[str] | None = None) -> int:
    from crn_live.data.synth import prepare, run

    args = parser().parse_args(argv)
    request = synth_request(args)
    if args.soundfont is None and request.soundfonts[0].key == "timgm6mb":
        print("crn-synth: note: FluidR3_GM not found, using the lighter TimGM6mb "
              "(apt-get install fluid-soundfont-gm for the default)", file=sys.stderr)
    prepared = prepare(request, resume=args.resume)
    started = time.perf_counter()
    with progress_bar(total=len(prepared.todo), unit="clip", desc="crn-synth") as bar:
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
          f"soundfonts {', '.join(f.key for f in request.soundfonts)})")
    return 0



console = entry("crn-synth", main)
