"""``crn-eval``: score a separator (BSS Eval) or a detector (mAP) on clip folders and stems
folders, or a separator beside the reference model on its own samples (``--reference``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

from crn_live.cli.common import (
    entry,
    load_separator,
    open_detector,
    positive_int,
    progress_bar,
    write_json,
)
from crn_live.errors import UserError

#: Where ``--reference`` looks without a folder: beside the source checkout (the folder holding
#: pyproject.toml above the package), then relative to the current directory.
REFERENCE_SUBPATH = Path("..") / "shared" / "realdata" / "crn_paper_samples"


def reference_candidates() -> list[Path]:
    """The folders ``--reference`` without a value tries, in order."""
    import crn_live

    found = []
    checkout = Path(crn_live.__file__).resolve().parents[1]
    if (checkout / "pyproject.toml").is_file():
        found.append((checkout / REFERENCE_SUBPATH).resolve())
    found.append((Path.cwd() / REFERENCE_SUBPATH).resolve())
    return list(dict.fromkeys(found))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="crn-eval",
        description="Separation: SDR / SIR / SAR / SDRi (BSS Eval) of a separator on crn-synth "
                    "clip folders (and class-only on stems folders of real recordings), beside "
                    "the unprocessed mixture and the oracle ideal ratio mask. --reference: the "
                    "same beside the reference model on its own samples (JSON + a Markdown "
                    "table). Detection (--task detector): mAP@0.5 and mAP@0.5:0.95 of a detector "
                    "on the clips' video frames.",
        epilog="examples: crn-eval --data data/test2 --data data/test3 --streaming --detect "
               "--json results/eval.json; crn-eval --task detector --data data/test2 --json "
               "results/detector.json; crn-eval --reference --json /tmp/reference.json")
    p.add_argument("--task", choices=("separation", "detector"), default="separation",
                   help="what to score (separation)")
    p.add_argument("--data", type=Path, action="append",
                   help="folder of clips (repeatable), e.g. crn-synth --split test output; or "
                        "a stems folder (stems.json, see crn_live/data/stems.py) or a folder of "
                        "them, scored class-only")
    p.add_argument("--reference", nargs="?", const="", metavar="DIR",
                   help="score the reference paper's sample folder (index.json, mixK-N/) beside "
                        "the reference model's outputs; default DIR: "
                        f"{REFERENCE_SUBPATH} from the source checkout, else from the current "
                        "directory. Also writes the tables beside --json (.md)")
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
    p.add_argument("--frames-per-clip", type=positive_int, default=10,
                   help="detector task: video frames scored per clip (10)")
    p.add_argument("--json", type=Path, required=True, help="where to write the report")
    p.add_argument("--limit", type=positive_int, help="only the first N clips of each folder")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, auto")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from crn_live.data.stems import StemsFolder, find_data
    from crn_live.training.evaluate import evaluate

    p = parser()
    args = p.parse_args(argv)
    if args.reference is not None:
        return _eval_reference(args)
    if not args.data:
        p.error("give --data FOLDER (repeatable) or --reference [DIR]")
    clips = [c for d in args.data for c in find_data(d)[:args.limit]]
    if args.task == "detector":
        if any(isinstance(c, StemsFolder) for c in clips):
            raise UserError("stems folders have no video: --task detector takes crn-synth "
                            "clip folders only")
        return _eval_detector(args, clips)
    separator = load_separator(args.model, args.device)
    detector = open_detector(args.detector, args.detector_labels, args.device) if args.detect \
        else None
    with progress_bar(total=len(clips), unit="clip", desc="crn-eval") as bar:
        report = evaluate(separator, clips, args.streaming, progress=lambda _c: bar.update(),
                          detector=detector)
    report["data"] = [str(d) for d in args.data]
    report["checkpoint"] = str(args.model) if args.model else "bundled"
    write_json(args.json, report)
    for method, m in report["methods"].items():
        print(f"{method:>22}: SDR {m['sdr']:6.2f}  SIR {m['sir']:6.2f}  SAR {m['sar']:6.2f}  "
              f"SDRi {m['sdri']:5.2f} dB")
    if detector is not None:
        d = report["detection"]
        print(f"detected and tracked {d['matched_sources']} of {d['sources']} instruments "
              f"({d['extra_tracks']} extra tracks)")
    print(f"{report['sources_scored']} sources in {len(clips)} clips; wrote {args.json}")
    return 0


def find_reference(given: Path | str) -> Path:
    """The ``--reference`` folder (``""``: the default places, :func:`reference_candidates`);
    UserError (one line) naming where it looked when absent."""
    if given != "":
        given = Path(given)
        if not (given / "index.json").is_file():
            raise UserError(f"no reference sample folder at {given} (no index.json there); "
                            "point --reference at the folder holding index.json and mix2-1/")
        return given
    tried = reference_candidates()
    for folder in tried:
        if (folder / "index.json").is_file():
            return folder
    raise UserError(f"reference samples not found (looked for "
                    f"{' and '.join(str(t / 'index.json') for t in tried)}); they are not "
                    "shipped: point at a copy with --reference DIR")


def _eval_reference(args) -> int:
    from crn_live.training.evaluate import evaluate_reference, reference_markdown

    if args.data or args.task != "separation" or args.detect:
        raise UserError("--reference scores its own folder, class- and photo-conditioned: "
                        "leave out --data, --task and --detect")
    folder = find_reference(args.reference)
    separator = load_separator(args.model, args.device)
    with progress_bar(total=None, unit="case", desc="crn-eval reference") as bar:
        report = evaluate_reference(separator, folder, progress=lambda _c: bar.update())
    report["checkpoint"] = str(args.model) if args.model else "bundled"
    write_json(args.json, report)
    table = args.json.with_suffix(".md")
    table.write_text(reference_markdown(report))
    for case in report["cases"]:
        m, stated = case["methods"], case["readme_reference_sdri"]
        used = sum(p["used_through_guard"] for p in case["photos"])
        print(f"{case['clip']:>8}: SDRi reference "
              f"{'-' if stated is None else f'{stated:.1f}'} (its README) / "
              f"{m['reference']['sdri']:.1f} measured; ours class offline "
              f"{m['offline_class']['sdri']:.1f}, streaming {m['streaming_class']['sdri']:.1f}; "
              f"photo {m['offline_photo']['sdri']:.1f} ({used}/{len(case['photos'])} photos "
              f"used), photo forced {m['offline_photo_forced']['sdri']:.1f} dB")
    skipped = ", ".join(s["case"] for s in report["skipped"])
    print(f"{report['sources_scored']} instruments in {len(report['cases'])} cases"
          + (f" (not scored, no true stems: {skipped})" if skipped else "")
          + f"; wrote {args.json} and {table}")
    return 0


def _eval_detector(args: argparse.Namespace, clips: list) -> int:
    from crn_live.training.evaluate import evaluate_detection
    from crn_live.vision.frames import load_frames

    if args.streaming or args.detect or args.detector:
        raise UserError("--streaming, --detect and --detector are for separation; with --task "
                        "detector give the detector as --model")
    detector = open_detector(args.model, args.detector_labels, args.device, threshold=0.01,
                         max_detections=100)
    with progress_bar(total=len(clips), unit="clip", desc="reading frames") as bar:
        frames = load_frames(clips, args.frames_per_clip, detector.classes, seed=0,
                             progress=lambda done, _total: bar.update(done - bar.n))
    with progress_bar(total=len(frames.images), unit="frame", desc="crn-eval detector") as bar:
        report = evaluate_detection(detector, frames,
                                    progress=lambda done, _total: bar.update(done - bar.n))
    report.update({"data": [str(d) for d in args.data], "clips": len(clips),
                   "detector": detector.describe(),
                   "checkpoint": str(args.model) if args.model else "bundled"})
    write_json(args.json, report)
    for name, c in report["per_class"].items():
        if c["objects"]:
            print(f"{name:>10}: AP@0.5 {c['ap50']:.3f}  AP@0.5:0.95 {c['ap50_95']:.3f}  "
                  f"({c['objects']} objects)")
    print(f"mAP@0.5 {report['map50']:.3f}, mAP@0.5:0.95 {report['map50_95']:.3f} on "
          f"{report['frames']} frames of {len(clips)} clips; wrote {args.json}")
    return 0



console = entry("crn-eval", main)
