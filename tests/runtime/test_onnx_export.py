"""ONNX export (:mod:`crn_live.runtime.onnx_export`): the tiny model's per-hop step with a
dynamic objects axis, and the bundled separator's visual encoder and per-hop step and the
bundled detector, as ONNX graphs that pass onnx.checker and match PyTorch in onnxruntime
(<= 1e-4, fp32) on random inputs and on a real clip's crops, spectrogram and frames.

The exporter is the legacy TorchScript one (``dynamo=False``): the dynamo exporter needs
``onnxscript``, which is not a dependency."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
import torch

from crn_live.models import STEP_INPUT_NAMES, STEP_OUTPUT_NAMES, ChunkedCausalCRN
from crn_live.runtime.onnx_export import (
    MAX_OBJECTS_KEY,
    MODEL_HASH_KEY,
    detector_parity,
    export_all,
    export_detector,
    export_separator_step,
)
from tests.helpers import lively, tiny_config, tiny_detector

# ---- the tiny model's step --------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_step(tmp_path_factory: pytest.TempPathFactory) -> tuple[ChunkedCausalCRN, Path]:
    """The tiny chunked causal CRN (2 refinement cycles, unit-gain weights) and its step graph
    for 1..4 objects."""
    model = lively(ChunkedCausalCRN(tiny_config(refine_iterations=2)))
    path = tmp_path_factory.mktemp("onnx") / "step.onnx"
    return model, export_separator_step(model, path, max_objects=4)


@pytest.mark.parametrize("mixture_ids", [[0], [0, 0, 1]])
def test_onnxruntime_matches_torch(
    tiny_step: tuple[ChunkedCausalCRN, Path], mixture_ids: list[int]
) -> None:
    model, path = tiny_step
    inputs = list(model.example_inputs(len(mixture_ids)))
    inputs[3] = torch.tensor(mixture_ids)
    with torch.no_grad():
        expected = model(*inputs).numpy()
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == list(STEP_INPUT_NAMES)
    assert [o.name for o in session.get_outputs()] == list(STEP_OUTPUT_NAMES)
    assert all(a.shape[0] == "objects" for a in (*session.get_inputs(), *session.get_outputs()))
    feed = {name: tensor.numpy() for name, tensor in zip(STEP_INPUT_NAMES, inputs)}
    (got,) = session.run(list(STEP_OUTPUT_NAMES), feed)
    assert got.shape == expected.shape == (len(mixture_ids), 1, 64, 4)
    assert np.abs(got - expected).max() <= 1e-4


# ---- the bundled models' graphs, checked on a real clip too ---------------------------------

@pytest.fixture(scope="module")
def exported(clip_sets, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("onnx")
    clip = sorted(p for p in clip_sets[3].iterdir() if p.is_dir())[0]
    return out, export_all(out, max_objects=4, clip=clip)


@pytest.mark.slow  # with the clip set and the export they share: > 3 s
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


@pytest.mark.slow  # with the clip set and the export they share: > 3 s
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


@pytest.mark.slow  # with the clip set and the export they share: > 3 s
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


def test_a_tiny_detector_graph_matches_torch(tmp_path) -> None:
    """The detector's graph with random weights and BatchNorm statistics (not only the bundled
    weights) against PyTorch in onnxruntime."""
    detector = tiny_detector()
    graph = export_detector(detector, tmp_path / "detector.onnx")
    onnx.checker.check_model(onnx.load(str(graph)), full_check=True)
    images = np.random.default_rng(1).random((3, 3, 64, 96), dtype=np.float32)
    assert detector_parity(detector, graph, images)["max_abs_err"] <= 1e-4
