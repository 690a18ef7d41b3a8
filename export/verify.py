"""Parity of every available backend against PyTorch, and the SDR difference it makes.

For each clip, the separator runs streaming (chunk by chunk from silence, as live) on PyTorch
(the reference) and on each other backend; the report gives per backend the max / mean abs
error of the masks against PyTorch and the mean SDR of the separated sources against the clip's
stems, with its difference to PyTorch's (``sdr_delta_db``; FP16 TensorRT must stay within
0.1 dB). Backends: ``onnxruntime`` (fp32 graph), ``onnxruntime-fp16`` (the FP16 copy of the
graph a strongly typed TensorRT 11 build uses, run on onnxruntime's CPU kernels: what FP16
weights and activations alone cost), ``tensorrt`` (engines of ``--engines`` built for this
GPU). One that cannot run here is listed with the reason instead of figures.

Usage: ``python export/verify.py --clip data/test3/test-00001 [--clip ...] --json OUT``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np

if __package__ in (None, ""):  # run as a script: python export/verify.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crn_live.errors import UserError  # noqa: E402 - after the path set-up above

PROG = "verify.py"
FP16_SDR_BAR_DB = 0.1


def _backends(separator, model: Path, engines: Path, scratch: Path) -> tuple[dict, dict]:
    """``({name: step backend}, {name: why not})`` for every backend besides torch."""
    from crn_live.runtime.base import BackendError
    from crn_live.runtime.graphs import STEP
    from crn_live.runtime.onnx_backend import OnnxRuntimeBackend
    from crn_live.runtime.select import open_runtime

    opened, missing = {}, {}
    runtime = open_runtime("onnxruntime", separator, model, graphs=[STEP])
    opened["onnxruntime"] = runtime[STEP]
    try:
        from crn_live.runtime.fp16 import to_fp16

        half = to_fp16(runtime[STEP].path, scratch / "separator_step_fp16.onnx")
        opened["onnxruntime-fp16"] = OnnxRuntimeBackend(half, "separator_step_fp16")
    except (ImportError, BackendError) as error:
        missing["onnxruntime-fp16"] = str(error)
    try:
        opened["tensorrt"] = open_runtime("tensorrt", separator, model, graphs=[STEP],
                                          engines=engines)[STEP]
    except BackendError as error:
        missing["tensorrt"] = str(error)
    return opened, missing


def verify(clips: list[Path], model: Path | None, engines: Path) -> dict:
    from crn_live.data.clips import open_clip
    from crn_live.runtime.step import stream_masks
    from crn_live.separation import BUNDLED_MODEL, Separator, clip_embeddings
    from crn_live.training.metrics import audible, bss_eval

    path = Path(model or BUNDLED_MODEL)
    separator = Separator.load(path, "cpu")
    rate = separator.rate
    with tempfile.TemporaryDirectory(prefix="crn-verify-") as tmp:
        backends, missing = _backends(separator, path, engines, Path(tmp))
        errors = {name: [] for name in backends}
        sdr = {name: [] for name in ("torch", *backends)}
        for folder in clips:
            clip = open_clip(folder)
            mix, stems = clip.mix(rate), clip.stems(rate)
            n = min(len(mix), stems.shape[-1])
            mix, stems = mix[:n], stems[:, :n]
            keep = audible(stems)
            embeddings = clip_embeddings(separator, clip)
            mag = separator.spectrogram(mix)
            reference = separator.masks(mag, embeddings, "streaming")
            masks = {"torch": reference}
            for name, backend in backends.items():
                masks[name] = stream_masks(backend, separator.config, mag, embeddings)
                diff = np.abs(masks[name] - reference)
                errors[name].append((float(diff.max()), float(diff.mean())))
            for name, m in masks.items():
                sources = separator.apply(mix, rate, m).sources[:, :n]
                sdr[name] += bss_eval(stems[keep], sources[keep])["sdr"].tolist()
    torch_sdr = float(np.mean(sdr["torch"]))
    report = {"reference": "torch (fp32, CPU)", "clips": [str(c) for c in clips],
              "sources": len(sdr["torch"]), "torch_sdr_db": round(torch_sdr, 4), "backends": {},
              "unavailable": missing, "fp16_sdr_bar_db": FP16_SDR_BAR_DB}
    for name in backends:
        mean_sdr = float(np.mean(sdr[name]))
        report["backends"][name] = {
            "masks_max_abs_err": max(e[0] for e in errors[name]),
            "masks_mean_abs_err": float(np.mean([e[1] for e in errors[name]])),
            "sdr_db": round(mean_sdr, 4), "sdr_delta_db": round(mean_sdr - torch_sdr, 4),
            "sdr_max_abs_delta_db": round(float(np.max(np.abs(
                np.asarray(sdr[name]) - np.asarray(sdr["torch"])))), 4)}
    return report


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--clip", type=Path, action="append", required=True,
                   help="crn-synth clip folder (repeatable)")
    p.add_argument("--model", type=Path, help="separator checkpoint (default: bundled)")
    p.add_argument("--engines", type=Path, default=Path("engines"),
                   help="folder build_engines.py wrote (engines/)")
    p.add_argument("--json", type=Path, required=True, help="where to write the report")
    args = p.parse_args(argv)
    try:
        report = verify(args.clip, args.model, args.engines)
    except UserError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1) + "\n")
    print(f"torch: mean SDR {report['torch_sdr_db']:.3f} dB over {report['sources']} sources")
    for name, r in report["backends"].items():
        print(f"{name:>17}: masks max abs err {r['masks_max_abs_err']:.2e}, SDR "
              f"{r['sdr_db']:.3f} dB ({r['sdr_delta_db']:+.4f} dB vs torch)")
    for name, why in report["unavailable"].items():
        print(f"{name:>17}: not run: {why}")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
