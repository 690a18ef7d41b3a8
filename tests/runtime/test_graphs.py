"""The graphs crn-live runs (:mod:`crn_live.runtime.graphs`): names and refinement levels, the
tensors of each graph against the config and against real exported graphs in onnxruntime, the
modules behind them, and what engines are tied to."""

from __future__ import annotations

import shutil

import pytest

from crn_live.config import config_hash
from crn_live.runtime.base import TensorSpec
from crn_live.runtime.graphs import (
    DETECTOR,
    STEP,
    VISUAL,
    detector_specs,
    model_identity,
    separator_modules,
    separator_specs,
    step_graph,
    step_levels,
)
from crn_live.runtime.manifest import file_sha256
from crn_live.runtime.onnx_backend import OnnxRuntimeBackend
from crn_live.runtime.select import onnx_graphs
from tests.helpers import tiny_config

LEVELS = [STEP, f"{STEP}_r1", f"{STEP}_r0"]


def test_step_graphs_by_refinement_level() -> None:
    config = tiny_config()
    assert config.refine_iterations == 3 and step_levels(config) == (3, 1, 0)
    assert [step_graph(k, config) for k in step_levels(config)] == LEVELS
    one, none = tiny_config(refine_iterations=1), tiny_config(refine_iterations=0)
    assert step_levels(one) == (1, 0) and [step_graph(k, one) for k in (1, 0)] == [
        STEP, f"{STEP}_r0"]
    assert step_levels(none) == (0,) and step_graph(0, none) == STEP


def test_separator_specs_follow_the_config() -> None:
    config = tiny_config()  # 64 log bins, 16-frame windows, 4-frame chunks, 8-d embeddings
    specs = separator_specs(config)
    assert list(specs) == [VISUAL, *LEVELS]
    assert specs[VISUAL] == ((TensorSpec("crops", (-1, 3, 32, 32)),),
                             (TensorSpec("embeddings", (-1, 8)),))
    window = (-1, 1, 64, 16)
    step = ((TensorSpec("window_log_mix", window), TensorSpec("window_mix_mag", window),
             TensorSpec("embeddings", (-1, 8)), TensorSpec("mixture_ids", (-1,), "int64")),
            (TensorSpec("masks", (-1, 1, 64, 4)),))
    assert all(specs[graph] == step for graph in LEVELS)


def test_modules_share_the_separator_s_weights(separator) -> None:
    modules = separator_modules(separator)
    assert list(modules) == [VISUAL, *LEVELS]
    assert modules[VISUAL] is separator.visual
    assert [modules[g].iterations for g in LEVELS] == [3, 1, 0]
    weights = {p.data_ptr() for p in separator.causal.parameters()}
    for graph in LEVELS:
        assert {p.data_ptr() for p in modules[graph].parameters()} <= weights, graph


def test_specs_are_the_exported_graphs_tensors(separator, tmp_path) -> None:
    """Every exported graph has the specs' outputs and their inputs in order; the step without
    refinement only the inputs it uses (the exporter drops the others)."""
    identity = {"separator": {"sha256": "0" * 64, "config_hash": "1" * 16}}
    paths = onnx_graphs(separator, identity, folder=tmp_path)
    specs = separator_specs(separator.config)
    assert list(paths) == list(specs)
    for graph, path in paths.items():
        backend = OnnxRuntimeBackend(path, graph)
        inputs, outputs = specs[graph]
        assert backend.outputs == outputs, graph
        if graph == f"{STEP}_r0":
            assert [s.name for s in backend.inputs] == ["window_log_mix", "embeddings"]
            assert set(backend.inputs) <= set(inputs)
        else:
            assert backend.inputs == inputs, graph


def test_detector_specs_are_the_exported_detector_s(tmp_path) -> None:
    from crn_live.runtime.onnx_export import export_detector
    from crn_live.vision.detector import detector_checkpoint

    detector = detector_checkpoint(None).model  # the bundled one
    config = detector.config
    inputs, outputs = detector_specs(config)
    h, w = config.output_size
    assert inputs == (TensorSpec("image", (-1, 3, config.input_height, config.input_width)),)
    assert outputs == (TensorSpec("scores", (-1, len(config.classes), h, w)),
                       TensorSpec("boxes", (-1, 4, h, w)))
    backend = OnnxRuntimeBackend(export_detector(detector, tmp_path / "detector.onnx"), DETECTOR)
    assert (backend.inputs, backend.outputs) == (inputs, outputs)


def test_engines_are_tied_to_config_and_file(checkpoint, tmp_path) -> None:
    config = tiny_config()
    identity = model_identity(checkpoint, config)
    assert identity == {"config_hash": config_hash(config), "sha256": file_sha256(checkpoint)}
    copy = tmp_path / "copy.pt"
    shutil.copyfile(checkpoint, copy)
    assert model_identity(copy, config) == identity
    with copy.open("ab") as f:
        f.write(b"\0")
    assert model_identity(copy, config)["sha256"] != identity["sha256"]
    other = model_identity(checkpoint, tiny_config(refine_iterations=1))
    assert other["config_hash"] != identity["config_hash"]
    with pytest.raises(FileNotFoundError):
        model_identity(tmp_path / "absent.pt", config)
