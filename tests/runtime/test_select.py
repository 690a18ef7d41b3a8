"""``--backend auto`` and explicit choices: which backend opens, and the one-line reason.

No GPU and no TensorRT exist on this machine or in CI, so the TensorRT cases fake exactly two
things that cannot exist here: the CUDA target (``cuda_target``) and the engine runner
(``TensorRTBackend``). Everything else is real: the engine folder, its manifest, the hashes of
the real bundled checkpoints, the refusals and the onnxruntime fallback with real graphs.
"""

from __future__ import annotations

import numpy as np
import pytest

import crn_live.runtime.tensorrt_backend as trt_backend
from crn_live.runtime.base import BackendError
from crn_live.runtime.graphs import STEP, model_identity
from crn_live.runtime.manifest import GraphEntry, Manifest, Target, write_manifest
from crn_live.runtime.select import CACHE_ENV, open_runtime
from crn_live.runtime.step import step_feeds
from crn_live.separation import BUNDLED_MODEL, Separator

HERE = Target("NVIDIA H100 80GB HBM3", "9.0", "10.13.0")


@pytest.fixture(scope="module")
def separator() -> Separator:
    return Separator.load()


@pytest.fixture(autouse=True)
def cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path_factory.getbasetemp() / "runtime-cache"))


def _feeds(separator, n: int = 2) -> dict:
    c = separator.config
    rng = np.random.default_rng(n)
    return step_feeds(rng.random((n, 1, c.log_bins, c.context_frames), np.float32) * 2,
                      rng.standard_normal((n, c.embed_dim), np.float32))


def test_auto_without_tensorrt_uses_onnxruntime_and_says_why(separator) -> None:
    runtime = open_runtime("auto", separator, BUNDLED_MODEL, graphs=[STEP])
    assert runtime.backend == "onnxruntime"
    assert "TensorRT" in runtime.reason and "onnxruntime on cpu" in runtime.reason
    assert "\n" not in runtime.describe()
    out = runtime[STEP].run(_feeds(separator))
    assert out["masks"].shape == (2, 1, 256, 2)


def test_explicit_choices(separator) -> None:
    with pytest.raises(BackendError, match="TensorRT") as caught:
        open_runtime("tensorrt", separator, BUNDLED_MODEL, graphs=[STEP])
    assert "\n" not in str(caught.value)
    with pytest.raises(BackendError, match="unknown backend"):
        open_runtime("cuda", separator, BUNDLED_MODEL)
    with pytest.raises(BackendError, match="no model gives graph"):
        open_runtime("torch", separator, BUNDLED_MODEL, graphs=["detector"])
    torch_rt = open_runtime("torch", separator, BUNDLED_MODEL)
    onnx_rt = open_runtime("onnxruntime", separator, BUNDLED_MODEL)
    assert set(torch_rt.graphs) == set(onnx_rt.graphs) == {
        "visual", STEP, f"{STEP}_r1", f"{STEP}_r0"}
    for graph in (STEP, f"{STEP}_r1", f"{STEP}_r0"):
        feeds = _feeds(separator, 3)
        diff = np.abs(torch_rt[graph].run(feeds)["masks"] - onnx_rt[graph].run(feeds)["masks"])
        assert diff.max() <= 1e-4, graph


class _FakeEngine:
    """Stands in for TensorRTBackend: no GPU here to deserialize an engine on."""

    name = "tensorrt"

    def __init__(self, path, entry, graph) -> None:
        from crn_live.runtime.graphs import separator_specs

        self.path, self.entry, self.graph = path, entry, graph
        self.inputs, self.outputs = separator_specs(Separator.load().config)[graph]
        self.device = "cuda:0"


def _engines(root, target: Target, separator, sha: str | None = None) -> None:
    folder = root / target.dir_name
    folder.mkdir(parents=True)
    (folder / f"{STEP}.engine").write_bytes(b"engine")
    from crn_live.runtime.manifest import file_sha256

    identity = model_identity(BUNDLED_MODEL, separator.config)
    if sha is not None:
        identity["sha256"] = sha
    entry = GraphEntry(f"{STEP}.engine", "separator", file_sha256(folder / f"{STEP}.engine"),
                       (), (), {"min": 1, "opt": 2, "max": 4})
    write_manifest(folder, Manifest(target, "fp16", 4, {"separator": identity}, {STEP: entry}))


@pytest.fixture
def gpu_here(monkeypatch):
    monkeypatch.setattr(trt_backend, "cuda_target", lambda: HERE)
    monkeypatch.setattr(trt_backend, "TensorRTBackend", _FakeEngine)


def test_auto_picks_matching_engines(tmp_path, separator, gpu_here) -> None:
    _engines(tmp_path, HERE, separator)
    runtime = open_runtime("auto", separator, BUNDLED_MODEL, graphs=[STEP], engines=tmp_path)
    assert runtime.backend == "tensorrt" and isinstance(runtime[STEP], _FakeEngine)
    assert "TensorRT 10.13.0" in runtime.reason and "fp16" in runtime.reason


def test_engine_tensors_named_otherwise_are_renamed_by_position(tmp_path, separator, gpu_here,
                                                                monkeypatch) -> None:
    """A torch-tensorrt engine calls its output ``output0``: the runtime still hands the
    engine's outputs over under the graph's names."""
    from crn_live.runtime.base import TensorSpec
    from crn_live.runtime.graphs import separator_specs
    from crn_live.runtime.select import Renamed

    class Positional:
        """Stands in for TensorRTBackend on a torch-tensorrt engine (tensors named by
        position); no GPU here to deserialize an engine on."""

        name, device = "tensorrt", "cuda:0"
        inputs = tuple(TensorSpec(f"arg{k}", s.shape, s.dtype) for k, s in
                       enumerate(separator_specs(separator.config)[STEP][0]))
        outputs = (TensorSpec("output0", (-1, 1, 256, 2)),)

        def __init__(self, path, entry, graph) -> None:
            self.graph = graph

        def run(self, feeds):
            assert sorted(feeds) == ["arg0", "arg1", "arg2", "arg3"]
            return {"output0": feeds["arg1"][..., :2]}

    monkeypatch.setattr(trt_backend, "TensorRTBackend", Positional)
    _engines(tmp_path, HERE, separator)
    backend = open_runtime("tensorrt", separator, BUNDLED_MODEL, graphs=[STEP],
                           engines=tmp_path)[STEP]
    assert isinstance(backend, Renamed)
    assert backend.inputs == separator_specs(separator.config)[STEP][0]
    out = backend.run(_feeds(separator))
    assert list(out) == ["masks"] and out["masks"].shape == (2, 1, 256, 2)


@pytest.mark.parametrize("built_for, sha, words", [
    (Target("NVIDIA A100-SXM4-80GB", "8.0", "10.13.0"), None, "holds only nvidia-a100"),
    (HERE, "0" * 64, "another separator (weights"),
])
def test_auto_falls_back_from_foreign_engines(tmp_path, separator, gpu_here, built_for, sha,
                                             words) -> None:
    _engines(tmp_path, built_for, separator, sha)
    runtime = open_runtime("auto", separator, BUNDLED_MODEL, graphs=[STEP], engines=tmp_path)
    assert runtime.backend == "onnxruntime"
    assert words in runtime.reason and "using onnxruntime" in runtime.reason
    with pytest.raises(BackendError, match=words.replace("(", r"\(")):
        open_runtime("tensorrt", separator, BUNDLED_MODEL, graphs=[STEP], engines=tmp_path)
