"""Building engines (:mod:`crn_live.runtime.engines`): the batch profile per graph, what to
build, the ONNX parity gate before any engine is built (a real export of the tiny separator and
the bundled detector), and, with TensorRT's two GPU-only parts faked, the whole build: engines
checked against onnxruntime and the manifest written, or refused beyond the bar.

No GPU and no TensorRT exist on this machine or in CI: :func:`build_all` is run with exactly
what cannot exist here replaced (``trt_build.build_engine``, which needs TensorRT and a GPU,
and ``TensorRTBackend``, which deserializes an engine on one): the fake engine runs the same
ONNX graph on onnxruntime under torch-tensorrt's positional tensor names. Everything else is
real: the exported graphs, the precision plan, the model identities, the verification and the
manifest."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import crn_live.runtime.engines as engines
import crn_live.runtime.tensorrt_backend as trt_backend
import crn_live.runtime.trt_build as trt_build
from crn_live.errors import UserError
from crn_live.runtime.base import TensorSpec
from crn_live.runtime.engines import (
    ENGINE_BARS,
    PARITY_BAR,
    EngineBuild,
    build_all,
    build_target,
    export_verified,
    profile_for,
)
from crn_live.runtime.graphs import DETECTOR, STEP, VISUAL, model_identity
from crn_live.runtime.manifest import Target, check_manifest, read_manifest
from crn_live.runtime.onnx_backend import OnnxRuntimeBackend
from crn_live.runtime.tensorrt_backend import tensorrt_version

GRAPHS = {VISUAL, STEP, f"{STEP}_r1", f"{STEP}_r0", DETECTOR}
FAKE_GPU = Target("NVIDIA Fake GPU", "9.0", "10.13.0")


def test_profiles_cover_one_to_k_objects() -> None:
    assert profile_for("separator_step", 4) == {"min": 1, "opt": 2, "max": 4}
    assert profile_for("visual", 1) == {"min": 1, "opt": 1, "max": 1}
    assert profile_for("detector", 8) == {"min": 1, "opt": 1, "max": 2}


def test_engine_build_defaults(tmp_path) -> None:
    build = EngineBuild(out=tmp_path)
    assert (build.model, build.detector, build.precision, build.max_objects, build.via,
            build.workspace_gb) == (None, None, "fp16", 4, "onnx", 4.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        build.precision = "fp32"  # type: ignore[misc]


@pytest.fixture(scope="module")
def tiny_export(checkpoint, tmp_path_factory):
    """``(build, onnx_dir, report)``: the tiny separator's graphs and the bundled detector's,
    exported and verified for 1..2 objects."""
    out = tmp_path_factory.mktemp("engines")
    build = EngineBuild(out=out, model=checkpoint, max_objects=2)
    return build, out / "onnx", export_verified(out / "onnx", build)


def test_a_faithful_export_passes_the_parity_gate(tiny_export) -> None:
    _, onnx_dir, report = tiny_export
    assert set(report) == GRAPHS
    assert all(r["max_abs_err"] <= PARITY_BAR and r["inputs"] == "random"
               for r in report.values())
    assert {p.stem for p in onnx_dir.glob("*.onnx")} == GRAPHS


@pytest.mark.slow
def test_a_graph_above_the_parity_bar_is_refused(checkpoint, tmp_path, monkeypatch) -> None:
    """The same real export against a bar below its errors (they are ~1e-7 .. 1e-5)."""
    monkeypatch.setattr(engines, "PARITY_BAR", 1e-12)
    with pytest.raises(UserError) as caught:
        export_verified(tmp_path / "onnx", EngineBuild(out=tmp_path, model=checkpoint,
                                                        max_objects=2))
    message = str(caught.value)
    assert "differs from PyTorch by" in message and "> 1e-12: not building" in message
    assert "\n" not in message and message.split(".onnx")[0] in GRAPHS


def test_without_tensorrt_no_target_and_one_line() -> None:
    if tensorrt_version() is not None:
        pytest.skip("TensorRT is installed here")
    with pytest.raises(UserError) as caught:
        build_target("auto")
    message = str(caught.value)
    assert "TensorRT is not installed" in message and "--onnx-only" in message
    assert "\n" not in message
    with pytest.raises(UserError, match="--gpu must be a CUDA device index or auto"):
        build_target("first")


class _OnnxAsEngine:
    """Stands in for TensorRTBackend (no GPU here to deserialize an engine on): the graph's
    ONNX file on onnxruntime, under torch-tensorrt's positional names (``arg<k>``,
    ``output<k>``), ``offset`` added to every output; records the batch of every run."""

    name, device = "tensorrt", "cuda:0"
    onnx_dir = None
    offsets: dict[str, float] = {}
    batches: dict[str, list[int]] = {}

    def __init__(self, path, entry, graph) -> None:
        assert path.read_bytes() == f"engine of {graph}".encode()
        self.graph, self.inputs, self.outputs = graph, entry.inputs, entry.outputs
        self.onnx = OnnxRuntimeBackend(self.onnx_dir / f"{graph}.onnx", graph)
        self.batches[graph] = []

    def run(self, feeds):
        named = {s.name: feeds[e.name] for s, e in zip(self.onnx.inputs, self.inputs)}
        self.batches[self.graph].append(len(next(iter(named.values()))))
        out = self.onnx.run(named).values()
        return {f"output{k}": v + np.float32(self.offsets.get(self.graph, 0.0))
                for k, v in enumerate(out)}


def _fake_build_engine(onnx_path, engine_path, *, precision, min_batch, opt_batch, max_batch,
                       timing_cache, workspace_gb, log) -> dict:
    """Stands in for trt_build.build_engine (TensorRT and a GPU build engines): writes a
    placeholder engine; the tensors of the graph under positional names."""
    engine_path.write_bytes(f"engine of {onnx_path.stem}".encode())
    graph = OnnxRuntimeBackend(onnx_path)
    return {"inputs": [TensorSpec(f"arg{k}", s.shape, s.dtype).to_dict()
                       for k, s in enumerate(graph.inputs)],
            "outputs": [TensorSpec(f"output{k}", s.shape, s.dtype).to_dict()
                        for k, s in enumerate(graph.outputs)]}


@pytest.fixture
def fake_tensorrt(tiny_export, monkeypatch):
    _, onnx_dir, _ = tiny_export
    monkeypatch.setattr(trt_build, "build_engine", _fake_build_engine)
    monkeypatch.setattr(trt_backend, "TensorRTBackend", _OnnxAsEngine)
    monkeypatch.setattr(_OnnxAsEngine, "onnx_dir", onnx_dir)
    monkeypatch.setattr(_OnnxAsEngine, "offsets", {})
    monkeypatch.setattr(_OnnxAsEngine, "batches", {})
    return _OnnxAsEngine


def test_build_all_verifies_every_engine_and_writes_the_manifest(tiny_export,
                                                                 fake_tensorrt) -> None:
    from crn_live.separation import Separator
    from crn_live.vision.detector import BUNDLED_DETECTOR, detector_checkpoint

    build, onnx_dir, _ = tiny_export
    folder = build_all(FAKE_GPU, onnx_dir, build)
    assert folder == build.out / FAKE_GPU.dir_name
    manifest = read_manifest(folder)
    assert set(manifest.graphs) == GRAPHS and manifest.precision == "fp16"
    for graph, entry in manifest.graphs.items():
        assert entry.file == f"{graph}.engine" and entry.profile == profile_for(graph, 2)
        assert entry.model == ("detector" if graph == DETECTOR else "separator")
        profile = entry.profile
        assert fake_tensorrt.batches[graph] == [b for b in range(profile["min"],
                                                                 profile["max"] + 1)
                                                for _ in range(2)]
    models = {"separator": model_identity(build.model, Separator.load(build.model).config),
              "detector": model_identity(BUNDLED_DETECTOR,
                                         detector_checkpoint(None).model.config)}
    check_manifest(manifest, FAKE_GPU, models, folder, tuple(GRAPHS))  # no refusal
    assert manifest.extra["precision_plan"]["builder_fp16_flag"]  # TensorRT 10: fp32 graphs
    parity = manifest.extra["parity_vs_onnxruntime"]
    assert set(parity) == GRAPHS and all(e["max_abs_err"] <= 1e-6 for e in parity.values())


def test_engines_beyond_the_bar_are_refused_after_the_manifest(tiny_export,
                                                               fake_tensorrt) -> None:
    build, onnx_dir, _ = tiny_export
    fake_tensorrt.offsets[STEP] = 0.1
    with pytest.raises(UserError) as caught:
        build_all(FAKE_GPU, onnx_dir, build)
    message = str(caught.value)
    assert f"beyond {ENGINE_BARS['fp16']:g}" in message and STEP in message
    assert f"{STEP}_r1" not in message and "manifest.json" in message
    parity = read_manifest(build.out / FAKE_GPU.dir_name).extra["parity_vs_onnxruntime"]
    assert abs(parity[STEP]["max_abs_err"] - 0.1) <= 1e-6
    assert abs(parity[STEP]["mean_abs_err"] - 0.1) <= 1e-6
