"""ONNX export of crn-live's networks, each checked with ``onnx.checker`` and against PyTorch in
onnxruntime.

Graphs written so far:

* ``detector.onnx``: ``image (frames, 3, H, W)`` RGB float in ``[0, 1]`` -> ``scores (frames,
  C, h, w)`` (non-zero only at score-map peaks) and ``boxes (frames, 4, h, w)`` in input pixels;
  static sizes, the number of frames a dynamic batch. The detector config travels in the graph's
  metadata.

Usage: ``python export/export_onnx.py --out engines/onnx [--detector CKPT]``; writes the graphs
and ``parity.json`` (``{graph: {"max_abs_err": x, "mean_abs_err": y}}``, fp32 vs PyTorch).
Uses the TorchScript exporter (``dynamo=False``): the dynamo one needs ``onnxscript``.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

OPSET = 17


def export_detector(model, path: Path) -> Path:
    """Write an :class:`~crn_live.models.detector.InstrumentDetector` (eval mode, CPU) to
    ``path`` with its config in the metadata; checked by ``onnx.checker``."""
    import onnx
    import torch

    from crn_live.config import config_hash, to_dict
    from crn_live.models.detector import OUTPUT_NAMES
    from crn_live.vision.detector import CONFIG_KEY, HASH_KEY

    c = model.config
    model = model.cpu().eval()
    example = torch.rand(1, 3, c.input_height, c.input_width)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation and tracer notices
        torch.onnx.export(model, (example,), str(partial), dynamo=False, opset_version=OPSET,
                          input_names=["image"], output_names=list(OUTPUT_NAMES),
                          dynamic_axes={n: {0: "frames"} for n in ("image", *OUTPUT_NAMES)})
    graph = onnx.load(str(partial))
    for key, value in ((CONFIG_KEY, json.dumps(to_dict(c))), (HASH_KEY, config_hash(c))):
        entry = graph.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(graph, full_check=True)
    onnx.save(graph, str(partial))
    partial.replace(path)
    return path


def detector_parity(model, path: Path, images: np.ndarray) -> dict:
    """Max / mean abs difference of ``boxes`` and of the score maps (before the peak test:
    ties may fall either way) between PyTorch and onnxruntime on ``images (n, 3, H, W)``."""
    import onnxruntime
    import torch

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst, means = 0.0, []
    for image in images:
        with torch.no_grad():
            want_scores, want_boxes = (t.numpy() for t in model(torch.from_numpy(image[None])))
        got_scores, got_boxes = session.run(["scores", "boxes"], {"image": image[None]})
        # scores are zero off-peak; compare where both graphs found the same peaks
        same_peaks = (want_scores > 0) == (got_scores > 0)
        errors = np.concatenate([np.abs(got_boxes - want_boxes).ravel(),
                                 np.abs(got_scores - want_scores)[same_peaks].ravel()])
        worst = max(worst, float(errors.max()))
        means.append(float(errors.mean()))
    return {"max_abs_err": worst, "mean_abs_err": float(np.mean(means))}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="export_onnx.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path("engines/onnx"), help="output folder")
    p.add_argument("--detector", type=Path, help="detector checkpoint (default: bundled)")
    args = p.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from crn_live.errors import UserError
    from crn_live.vision.detector import BUNDLED_DETECTOR

    try:
        from crn_live.models import load_checkpoint

        checkpoint = load_checkpoint(args.detector or BUNDLED_DETECTOR)
        if checkpoint.kind != "detector":
            raise UserError(f"{args.detector} holds a {checkpoint.kind}, not a detector")
        path = export_detector(checkpoint.model, args.out / "detector.onnx")
        c = checkpoint.config
        rng = np.random.default_rng(0)
        images = rng.random((4, 3, c.input_height, c.input_width), dtype=np.float32)
        parity = {"detector": detector_parity(checkpoint.model, path, images)}
    except UserError as error:
        print(f"export_onnx.py: error: {error}", file=sys.stderr)
        return 2
    (args.out / "parity.json").write_text(json.dumps(parity, indent=1) + "\n")
    print(f"wrote {path}; parity vs PyTorch: {json.dumps(parity)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
