"""``crn-train``: train the separator (mix-and-separate, resumable, DDP) or the detector."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from crn_live.cli.common import entry, positive_float, positive_int, progress_bar, torch_device
from crn_live.errors import UserError


def parser() -> argparse.ArgumentParser:
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
    p.add_argument("--steps", type=positive_int,
                   help="optimiser steps (separator 4000, detector 3000)")
    p.add_argument("--batch", type=positive_int,
                   help="mixtures (separator, 8) or frames (detector, 16) per step")
    p.add_argument("--lr", type=positive_float,
                   help="peak learning rate (separator 5e-4, detector 2e-3)")
    p.add_argument("--causal-weight", type=float, default=1.0,
                   help="weight of the loss on the frames a streaming step emits (1.0)")
    p.add_argument("--visual-weight", type=float, default=0.5,
                   help="weight of the instrument-class loss on the object embeddings (0.5)")
    p.add_argument("--appearance-dropout", type=_share, default=0.5,
                   help="share of objects trained on their class alone, the picture dropped "
                        "(0.5): the class alone must separate, a picture only adds")
    p.add_argument("--val-every", type=positive_int, default=250, help="steps between "
                   "validations (250)")
    p.add_argument("--frames-per-clip", type=positive_int, default=10,
                   help="detector: video frames taken from each training clip (10)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto (cuda if present), cpu, cuda, cuda:N")
    p.add_argument("--init", type=Path, help="start from this checkpoint's weights")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--bundle", type=Path,
                   help="also write the best model as a half-precision separator checkpoint here")
    p.add_argument("--check-replicas", type=Path, help=argparse.SUPPRESS)
    return p


def model_config(size: str, changes: Path | None, task: str = "separator"):
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


def main(argv: Sequence[str] | None = None) -> int:
    from crn_live.training.train import Run, TrainConfig, setup_distributed, train

    args = parser().parse_args(argv)
    if args.task == "detector":
        return _train_detector(args)
    args.steps, args.batch, args.lr = args.steps or 4000, args.batch or 8, args.lr or 5e-4
    device = torch_device(args.device)
    rank, world = setup_distributed(device)
    if device == "cuda" and world > 1:
        device = f"cuda:{rank % max(1, __import__('torch').cuda.device_count())}"
    clips, val = _training_clips(args)
    model = model_config(args.size, args.config)
    config = TrainConfig(steps=args.steps, batch=args.batch, lr=args.lr, seed=args.seed,
                         causal_weight=args.causal_weight, visual_weight=args.visual_weight,
                         appearance_dropout=args.appearance_dropout, val_every=args.val_every)
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
    bar = progress_bar(total=args.steps, unit="step", desc="crn-train", disable=rank != 0)
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
    from crn_live.data.clips import find_clips
    from crn_live.training.train_detector import DetectorRun, DetectorTrainConfig, train_detector

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
    device = torch_device(args.device)
    run = DetectorRun(out=args.out, model=model_config(args.size, args.config, "detector"),
                      train=config, clips=clips, val_clips=val, device=device,
                      data_names=tuple(str(p) for p in args.data), init=args.init)
    print(f"crn-train: detector on {len(clips)} training clips x {config.frames_per_clip} "
          f"frames, {len(val)} validation clips, on {device}", file=sys.stderr)
    loading = progress_bar(total=len(clips), unit="clip", desc="reading frames")
    bar = progress_bar(total=config.steps, unit="step", desc="crn-train detector", delay=0.1)
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



console = entry("crn-train", main)


def _share(text: str) -> float:
    """An argparse type: a number in ``[0, 1]``."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 1")
    return value
