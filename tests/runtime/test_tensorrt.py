"""The TensorRT backend (:mod:`crn_live.runtime.tensorrt_backend`): its pure helpers and its run
loop on a simulated engine (CPU), and, where TensorRT and an NVIDIA GPU exist, engines built from
the bundled separator step graph against onnxruntime. (Engine building:
tests/runtime/test_trt_build.py; the fp16 graphs: tests/runtime/test_fp16.py.)"""

from __future__ import annotations

import ctypes
import sys

import numpy as np
import onnxruntime
import pytest

from crn_live.runtime.base import BackendError, TensorSpec
from crn_live.runtime.manifest import GraphEntry, Target
from crn_live.runtime.tensorrt_backend import (
    TRT_DTYPES, TensorRTBackend, check_batch, check_profile_covers, cuda_target, feed_batch,
    host_dtype_name, input_shapes, shape_at_batch, tensorrt_version, torch_dtype_name)
from crn_live.runtime.trt_build import build_engine, precision_plan
from tests.runtime.bundled_graphs import graph_feeds

NEEDS_GPU = "TensorRT and an NVIDIA GPU are needed: TensorRT is a GPU-only optional extra " \
            "(pip install .[gpu]) and this machine has neither"

# ---- the pure helpers -----------------------------------------------------------------------

def test_tensorrt_types_map_to_torch_and_host_types() -> None:
    import torch

    assert torch_dtype_name("HALF") == "float16"
    assert torch_dtype_name("DataType.FLOAT") == "float32"  # str() of a pybind11 enum
    assert torch_dtype_name("INT64") == "int64" and torch_dtype_name("BOOL") == "bool"
    for name in TRT_DTYPES.values():
        assert isinstance(getattr(torch, name), torch.dtype)
    with pytest.raises(BackendError, match="INT4"):
        torch_dtype_name("INT4")
    assert host_dtype_name("float16") == host_dtype_name("bfloat16") == "float32"
    assert host_dtype_name("int64") == "int64" and host_dtype_name("int32") == "int32"


def test_batch_range_and_shapes() -> None:
    profile = {"min": 1, "opt": 3, "max": 4}
    for batch in (1, 4):
        check_batch(batch, profile)
    for batch in (0, 5):
        with pytest.raises(ValueError, match="outside"):
            check_batch(batch, profile)
    specs = (TensorSpec("window_mix_mag", (-1, 1, 256, 64)), TensorSpec("embeddings", (-1, 128)),
             TensorSpec("mixture_ids", (-1,), "int64"))
    feeds = {"window_mix_mag": np.zeros((3, 1, 256, 64), np.float32),
             "embeddings": np.zeros((3, 128), np.float32), "mixture_ids": np.zeros(3, np.int64)}
    assert feed_batch(specs, feeds) == 3
    assert input_shapes(specs, 3) == {"window_mix_mag": (3, 1, 256, 64),
                                      "embeddings": (3, 128), "mixture_ids": (3,)}
    with pytest.raises(ValueError, match="disagree"):
        feed_batch(specs, {**feeds, "mixture_ids": np.zeros(2, np.int64)})
    assert shape_at_batch((2, 5), 3) == (2, 5)  # a static input keeps its shape
    with pytest.raises(ValueError, match="dynamic axis"):
        shape_at_batch((-1, 3, -1, 8), 2)
    check_profile_covers("x", (1, 8), profile)
    with pytest.raises(BackendError, match="1..2.*1..4"):
        check_profile_covers("x", (1, 2), profile)


def test_without_tensorrt_the_backend_says_so_in_one_line(tmp_path) -> None:
    if tensorrt_version() is not None:
        pytest.skip("TensorRT is installed here")
    assert cuda_target() is None
    entry = GraphEntry("separator_step.engine", "separator", "0" * 64,
                       (TensorSpec("x", (-1, 4)),), (TensorSpec("y", (-1, 4)),),
                       {"min": 1, "opt": 1, "max": 4})
    with pytest.raises(BackendError) as error:
        TensorRTBackend(tmp_path / "separator_step.engine", entry, "separator_step")
    assert "pip install .[gpu]" in str(error.value) and "\n" not in str(error.value)


# ---- the backend's run loop against a simulated TensorRT (CPU memory, no CUDA) ----------------

class _FakeEngine:
    """``y = 2 * x[..., :2] + ids`` with TensorRT's name-based API over raw pointers."""

    def __init__(self, out_dtype: str, capture_fails: bool) -> None:
        self.io = {"x": ("in", (-1, 3, 4), "FLOAT"), "ids": ("in", (-1,), "INT64"),
                   "y": ("out", (-1, 3, 2), out_dtype)}
        self.num_io_tensors, self.capture_fails, self.capturing = 3, capture_fails, None
        self.contexts: list[_FakeContext] = []  # every context the backend created

    def get_tensor_name(self, i):
        return list(self.io)[i]

    def get_tensor_mode(self, name):
        return self.io[name][0]

    def get_tensor_dtype(self, name):
        return type("DataType", (), {"name": self.io[name][2]})()

    def get_tensor_shape(self, name):
        return self.io[name][1]

    def get_tensor_profile_shape(self, name, profile):
        rest = self.io[name][1][1:]
        return [(1, *rest), (2, *rest), (4, *rest)]

    def create_execution_context(self):
        self.contexts.append(_FakeContext(self))
        return self.contexts[-1]


class _FakeContext:
    TYPES = {"FLOAT": (ctypes.c_float, np.float32), "HALF": (ctypes.c_uint16, np.float16),
             "INT64": (ctypes.c_int64, np.int64)}

    def __init__(self, engine) -> None:
        self.engine, self.shapes, self.addresses, self.kernel_runs = engine, {}, {}, 0

    def _view(self, name, count):
        ctype, dtype = self.TYPES[self.engine.io[name][2]]
        array = (ctype * count).from_address(self.addresses[name])
        return np.ctypeslib.as_array(array).view(dtype)

    def set_input_shape(self, name, shape):
        self.shapes[name] = tuple(shape)
        return True

    def get_tensor_shape(self, name):
        return (self.shapes["x"][0], 3, 2)

    def set_tensor_address(self, name, address):
        self.addresses[name] = address
        return True

    def execute_async_v3(self, stream):
        def kernel(b=self.shapes["x"][0]):  # the shapes of the enqueue are baked in
            x = self._view("x", b * 12).reshape(b, 3, 4)
            y = 2 * x[:, :, :2] + self._view("ids", b)[:, None, None]
            self._view("y", b * 6)[:] = y.ravel()
            self.kernel_runs += 1

        if self.engine.capturing is None:
            kernel()
        elif self.engine.capture_fails:
            raise RuntimeError("operation not permitted when stream is capturing")
        else:
            self.engine.capturing.kernels.append(kernel)
        return True


@pytest.mark.parametrize("out_dtype,capture_fails", [("FLOAT", False), ("HALF", False),
                                                     ("FLOAT", True)])
def test_backend_run_loop_on_a_simulated_engine(tmp_path, monkeypatch, out_dtype,
                                                capture_fails) -> None:
    """Buffers sliced to the batch, shapes set only when the batch changes, fp16 outputs cast
    to float32, one CUDA graph per batch size replayed later (or plain runs where capture
    fails), with TensorRT and torch.cuda replaced by CPU stand-ins."""
    import contextlib
    import types

    import torch

    engine = _FakeEngine(out_dtype, capture_fails)
    trt = types.SimpleNamespace(
        __version__="10.99", TensorIOMode=types.SimpleNamespace(INPUT="in"),
        Logger=type("Logger", (), {"WARNING": 2, "__init__": lambda self, level: None}),
        Runtime=lambda logger: types.SimpleNamespace(deserialize_cuda_engine=lambda b: engine))

    captured: list = []  # every CUDA graph the backend made, kept or not

    class Graph:
        def __init__(self) -> None:
            self.kernels, self.replays = [], 0
            captured.append(self)

        def replay(self) -> None:
            self.replays += 1
            for kernel in self.kernels:
                kernel()

    @contextlib.contextmanager
    def capture(graph, stream=None, capture_error_mode="global"):
        engine.capturing = graph
        try:
            yield
        finally:
            engine.capturing = None

    cuda = types.SimpleNamespace(
        is_available=lambda: True, CUDAGraph=Graph, graph=capture,
        Stream=lambda device: types.SimpleNamespace(cuda_stream=1, synchronize=lambda: None),
        device=lambda d: contextlib.nullcontext(), stream=lambda s: contextlib.nullcontext(),
        synchronize=lambda d=None: None, get_device_name=lambda d=None: "simulated GPU")
    fake_torch = types.SimpleNamespace(
        cuda=cuda, device=lambda name: torch.device("cpu"),
        empty=lambda shape, dtype, device=None, pin_memory=False: torch.empty(shape, dtype=dtype),
        float32=torch.float32, float16=torch.float16, int64=torch.int64)
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    monkeypatch.setitem(sys.modules, "torch", fake_torch)
    (tmp_path / "g.engine").write_bytes(b"plan")
    entry = GraphEntry("g.engine", "m", "", (TensorSpec("x", (-1, 3, 4)),
                                             TensorSpec("ids", (-1,), "int64")),
                       (TensorSpec("y", (-1, 3, 2)),), {"min": 1, "opt": 2, "max": 4})
    backend = TensorRTBackend(tmp_path / "g.engine", entry, "g")
    monkeypatch.setitem(sys.modules, "torch", torch)
    rng = np.random.default_rng(0)
    tolerance = 1e-2 if out_dtype == "HALF" else 1e-6
    for _ in range(2):
        for batch in (1, 3, 4, 2, 3):
            x = rng.random((batch, 3, 4), dtype=np.float32)
            ids = rng.integers(0, 3, batch).astype(np.int64)
            y = backend.run({"x": x, "ids": ids})["y"]
            assert y.dtype == np.float32 and y.shape == (batch, 3, 2)
            assert np.abs(y - (2 * x[:, :, :2] + ids[:, None, None])).max() <= tolerance
    (context,) = engine.contexts
    assert context.kernel_runs == 10
    if capture_fails:
        assert backend.cuda_graph_sizes == () and set(backend.cuda_graph_failures) == {1, 2, 3, 4}
        assert sum(g.replays for g in captured) == 0
    else:
        assert backend.cuda_graph_sizes == (1, 2, 3, 4) and not backend.cuda_graph_failures
        assert len(captured) == 4 and sum(g.replays for g in captured) == 6
    with pytest.raises(ValueError, match="outside"):
        backend.run({"x": np.zeros((5, 3, 4), np.float32), "ids": np.zeros(5, np.int64)})
    with pytest.raises(ValueError, match="int64"):
        backend.run({"x": np.zeros((2, 3, 4), np.float32), "ids": np.zeros(2, np.int32)})


# ---- engines, where TensorRT and a GPU exist ---------------------------------------------------

@pytest.mark.skipif(cuda_target() is None, reason=NEEDS_GPU)
@pytest.mark.parametrize("precision,tolerance", [("fp32", 1e-3), ("fp16", 2e-2)])
def test_engine_matches_onnxruntime(bundled_graphs, tmp_path, precision, tolerance) -> None:
    target = cuda_target()
    assert isinstance(target, Target)
    plan = precision_plan(int(target.tensorrt.split(".")[0]), precision)
    graph = bundled_graphs["separator_step"]["fp16" if plan["fp16_onnx"] else "fp32"]
    built = build_engine(graph, tmp_path / "separator_step.engine", precision=precision,
                         min_batch=1, opt_batch=3, max_batch=4,
                         timing_cache=tmp_path / "timing.cache", log=lambda line: None)
    assert (tmp_path / "timing.cache").is_file()
    inputs, outputs = (tuple(TensorSpec.from_dict(d) for d in built[k])
                       for k in ("inputs", "outputs"))
    assert [s.name for s in inputs] == ["window_log_mix", "window_mix_mag", "embeddings",
                                        "mixture_ids"]
    assert [(s.name, s.dtype) for s in outputs] == [("masks", "float32")]
    entry = GraphEntry("separator_step.engine", "separator", "", inputs, outputs,
                       built["profile"])
    backend = TensorRTBackend(tmp_path / "separator_step.engine", entry, "separator_step")
    session = onnxruntime.InferenceSession(str(bundled_graphs["separator_step"]["fp32"]),
                                           providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feeds = {n: [graph_feeds("separator_step", n, rng) for _ in range(2)] for n in (1, 2, 3, 4)}
    want = {n: [session.run(["masks"], f)[0] for f in feeds[n]] for n in feeds}
    for sweep in range(2):  # sweep 0: run + capture, then replay; sweep 1: replays only
        for n in (1, 2, 3, 4):
            for k in (0, 1):
                got = backend.run(feeds[n][k])["masks"]
                assert got.shape == want[n][k].shape
                assert np.abs(got - want[n][k]).max() <= tolerance, (sweep, n, k)
    print(f"{precision}: CUDA graphs for {backend.cuda_graph_sizes}, "
          f"not for {backend.cuda_graph_failures}")
    assert set(backend.cuda_graph_sizes) | set(backend.cuda_graph_failures) == {1, 2, 3, 4}
    with pytest.raises(ValueError, match="outside"):
        backend.run(graph_feeds("separator_step", 5, rng))
    assert backend.describe().startswith("tensorrt")
    backend.close()
