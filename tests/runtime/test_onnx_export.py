"""export/export_onnx.py: the bundled separator's visual encoder and per-hop step, and the bundled
detector, as ONNX graphs that pass onnx.checker and match PyTorch in onnxruntime (<= 1e-4, fp32)
on random inputs and on a real clip's crops, spectrogram and frames."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest

from crn_live.runtime.onnx_export import MAX_OBJECTS_KEY, MODEL_HASH_KEY, export_all


@pytest.fixture(scope="module")
def exported(clip_sets, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("onnx")
    clip = sorted(p for p in clip_sets[3].iterdir() if p.is_dir())[0]
    return out, export_all(out, max_objects=4, clip=clip)


def test_every_graph_matches_pytorch(exported) -> None:
    out, report = exported
    assert set(report) == {"visual", "separator_step", "separator_step_r1",
                           "separator_step_r0", "detector"}
    for name, result in report.items():
        assert result["max_abs_err"] <= 1e-4, name
        assert result["inputs"] == "random + clip"
        graph = onnx.load(str(out / f"{name}.onnx"))
        onnx.checker.check_model(graph, full_check=True)
    assert json.loads((out / "parity.json").read_text()) == report


def test_step_graph_takes_one_to_max_objects(exported) -> None:
    out, _ = exported
    graph = onnx.load(str(out / "separator_step.onnx"))
    meta = {p.key: p.value for p in graph.metadata_props}
    assert meta[MAX_OBJECTS_KEY] == "4" and len(meta[MODEL_HASH_KEY]) == 16
    session = onnxruntime.InferenceSession(str(out / "separator_step.onnx"),
                                           providers=["CPUExecutionProvider"])
    shapes = {i.name: i.shape for i in session.get_inputs()}
    bins, frames = shapes["window_mix_mag"][2:]
    rng = np.random.default_rng(0)
    for n in (1, 2, 3, 4):
        mag = rng.random((n, 1, bins, frames), dtype=np.float32)
        (masks,) = session.run(["masks"], {
            "window_log_mix": np.log1p(mag), "window_mix_mag": mag,
            "embeddings": rng.standard_normal((n, shapes["embeddings"][1])).astype(np.float32),
            "mixture_ids": np.zeros(n, np.int64)})
        assert masks.shape[:3] == (n, 1, bins) and np.all((masks >= 0) & (masks <= 1))


def test_cheaper_step_graphs_run_fewer_cycles(exported) -> None:
    """The fallback graphs are the step with 1 and 0 refinement cycles: their masks differ from
    the full step's on the same window, and each matches PyTorch run with that many cycles."""
    from crn_live.runtime.graphs import separator_modules
    from crn_live.separation import Separator

    out, report = exported
    separator = Separator.load()
    modules = separator_modules(separator)
    assert [modules[g].iterations for g in ("separator_step_r1", "separator_step_r0")] == [1, 0]
    rng = np.random.default_rng(1)
    mag = rng.random((2, 1, 256, 64), dtype=np.float32) * 3
    feed = {"window_log_mix": np.log(mag + np.float32(1e-10)), "window_mix_mag": mag,
            "embeddings": rng.standard_normal((2, 128)).astype(np.float32),
            "mixture_ids": np.zeros(2, np.int64)}
    masks = {}
    for name in ("separator_step", "separator_step_r1", "separator_step_r0"):
        session = onnxruntime.InferenceSession(str(out / f"{name}.onnx"),
                                               providers=["CPUExecutionProvider"])
        used = {i.name for i in session.get_inputs()}
        masks[name] = session.run(["masks"], {k: v for k, v in feed.items() if k in used})[0]
        meta = {p.key: p.value for p in onnx.load(str(out / f"{name}.onnx")).metadata_props}
        cycles = modules[name].iterations
        assert meta["crn_live.refine_iterations"] == str(3 if cycles is None else cycles)
    assert np.abs(masks["separator_step"] - masks["separator_step_r0"]).max() > 1e-3
    assert np.abs(masks["separator_step_r1"] - masks["separator_step_r0"]).max() > 1e-3
