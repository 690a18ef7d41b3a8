"""The bundled models' exported graphs and inputs for them, shared by the fp16, engine-builder
and TensorRT tests (the session fixture ``bundled_graphs`` of ``conftest.py`` exports them
once)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from crn_live.runtime.fp16 import to_fp16
from crn_live.runtime.onnx_export import export_detector, export_separator_step, export_visual

GRAPHS = ("visual", "separator_step", "detector")


def export_bundled(out: Path) -> dict[str, dict[str, Path]]:
    """The bundled models' graphs in ``out`` (as ``export_all(out, max_objects=4)`` writes
    them), fp32 and fp16: ``{name: {"fp32": path, "fp16": path}}`` for each of
    :data:`GRAPHS`."""
    from crn_live.separation import Separator
    from crn_live.vision.detector import detector_checkpoint

    separator = Separator.load(None, "cpu")
    export_visual(separator.visual, separator.config, out / "visual.onnx", 4)
    export_separator_step(separator.causal, out / "separator_step.onnx", 4)
    export_detector(detector_checkpoint(None).model, out / "detector.onnx")
    return {name: {"fp32": out / f"{name}.onnx",
                   "fp16": to_fp16(out / f"{name}.onnx", out / f"{name}_fp16.onnx")}
            for name in GRAPHS}


def graph_feeds(name: str, n: int, rng: np.random.Generator,
                silence: bool = False) -> dict[str, np.ndarray]:
    """Random inputs of the bundled graph ``name`` for ``n`` objects (frames for the detector);
    ``silence``: the separator's 40 lowest bins silent."""
    if name == "visual":
        return {"crops": rng.random((n, 3, 96, 96), dtype=np.float32)}
    if name == "detector":
        return {"image": rng.random((n, 3, 240, 320), dtype=np.float32)}
    mag = rng.random((n, 1, 256, 64), dtype=np.float32) * 3
    if silence:  # silent low bins: the mixture-consistency division must stay finite
        mag[:, :, :40] = 0
    return {"window_log_mix": np.log1p(mag), "window_mix_mag": mag,
            "embeddings": rng.standard_normal((n, 128)).astype(np.float32),
            "mixture_ids": (np.arange(n) // 2).astype(np.int64)}
