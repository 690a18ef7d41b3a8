"""TensorRT route: the pure parts of the engine builder and the TensorRT backend (CPU), the fp16
ONNX conversion of the three exported graphs (CPU), and, where TensorRT and an NVIDIA GPU exist,
engines built from the separator step graph against onnxruntime.

fp16 accuracy is checked twice on CPU, because onnxruntime's CPU provider does not compute in
fp16: it has few fp16 kernels and its InsertCastTransformer runs the fp16 nodes in fp32 between
Casts (visible in its optimized graph: ``InsertedPrecisionFreeCast_*`` nodes), so there it only
measures the rounding of the weights and of the tensors at fp32/fp16 boundaries. The fp16
arithmetic itself is checked with ``onnx.reference.ReferenceEvaluator``, which runs every node
in numpy at the tensors' own types (fp16 products accumulated in fp32, like TensorRT's fp16
kernels). Errors over all outputs (max / mean abs; random inputs, seed 0; score maps where both
graphs find the same peaks: ties in flat, sub-threshold regions may fall either way in fp16):

==============  ============================  =================================
graph           onnxruntime (n = 1 and 4)     fp16 arithmetic (reference, n)
==============  ============================  =================================
separator_step  1.7e-3 / 1.0e-4               1.6e-3 / 1.6e-4 (1, silent bins)
detector        6.1e-4 / 2.5e-5               8.0e-4 / 2.9e-5 (1)
visual          3.5e-3 / 6.8e-4               5.5e-3 / 1.5e-3 (2)
==============  ============================  =================================

The bars below sit 2-4x above those (masks are in [0, 1], boxes fractions of the frame; the
embeddings are unnormalized, of magnitude ~1), far below what a wrong conversion gives: without
its epsilon / fp32 rules the separator's masks are off by 0.47 on silent bins.
"""

from __future__ import annotations

import ctypes
import sys
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest

from crn_live.runtime.base import BackendError, TensorSpec
from crn_live.runtime.manifest import GraphEntry, Target
from crn_live.runtime.tensorrt_backend import (
    TRT_DTYPES, TensorRTBackend, check_batch, check_profile_covers, cuda_target, feed_batch,
    host_dtype_name, input_shapes, shape_at_batch, tensorrt_version, torch_dtype_name)
from crn_live.runtime.fp16 import FP16_MAX, convert_model, fp16_unrepresentable, to_fp16
from crn_live.runtime.trt_build import (
    build_engine, fp16_initializer_count, io_specs, onnx_input_shapes, precision_plan,
    profile_shapes, torch_tensorrt_precision_kwargs)

GRAPHS = ("visual", "separator_step", "detector")
NEEDS_GPU = "TensorRT and an NVIDIA GPU are needed: TensorRT is a GPU-only optional extra " \
            "(pip install .[gpu]) and this machine has neither"
#: (max abs, mean abs) error bars of the fp16 graph vs the fp32 graph, per graph and check.
ORT_BARS = {"separator_step": (5e-3, 3e-4), "detector": (2e-3, 1e-4), "visual": (1e-2, 2e-3)}
REFERENCE_BARS = {"separator_step": (5e-3, 5e-4), "detector": (2.5e-3, 1e-4),
                  "visual": (1.5e-2, 4e-3)}


# ---- precision plans and the pure helpers ------------------------------------------------------

def test_precision_plan_follows_the_tensorrt_generation() -> None:
    assert precision_plan(10, "fp16") == {"strongly_typed": False, "builder_fp16_flag": True,
                                          "fp16_onnx": False, "disable_tf32": False}
    assert precision_plan(10, "fp32") == {"strongly_typed": False, "builder_fp16_flag": False,
                                          "fp16_onnx": False, "disable_tf32": True}
    for major in (11, 12):  # strongly typed only: no precision flags, fp16 from the graph
        assert precision_plan(major, "fp16") == {"strongly_typed": True,
                                                 "builder_fp16_flag": False,
                                                 "fp16_onnx": True, "disable_tf32": False}
        assert precision_plan(major, "fp32") == {"strongly_typed": True,
                                                 "builder_fp16_flag": False,
                                                 "fp16_onnx": False, "disable_tf32": True}
    with pytest.raises(ValueError, match="precision"):
        precision_plan(10, "int8")
    with pytest.raises(ValueError, match="TensorRT >= 10"):
        precision_plan(8, "fp32")


def test_torch_tensorrt_settings_follow_its_release() -> None:
    new = ["enabled_precisions", "use_explicit_typing", "enable_autocast",
           "autocast_low_precision_type", "disable_tf32"]
    assert torch_tensorrt_precision_kwargs(new, "fp16") == {
        "use_explicit_typing": True, "enable_autocast": True,
        "autocast_low_precision_type": "float16"}
    assert torch_tensorrt_precision_kwargs(new, "fp32") == {"use_explicit_typing": True,
                                                            "disable_tf32": True}
    old = ["enabled_precisions", "disable_tf32"]
    assert torch_tensorrt_precision_kwargs(old, "fp16") == {"enabled_precisions": {"float16"}}
    assert torch_tensorrt_precision_kwargs(old, "fp32") == {"enabled_precisions": {"float32"},
                                                            "disable_tf32": True}


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


def test_engine_io_becomes_what_callers_exchange() -> None:
    """An engine with fp16 I/O (a strongly typed build of an fp16 graph) is still fed and read
    as float32 (the backend casts on the GPU); integer tensors keep their type."""
    rows = [{"name": "window_mix_mag", "mode": "input", "shape": [-1, 1, 256, 64],
             "dtype": "float16"},
            {"name": "mixture_ids", "mode": "input", "shape": [-1], "dtype": "int64"},
            {"name": "masks", "mode": "output", "shape": [-1, 1, 256, 2], "dtype": "float16"}]
    inputs, outputs = io_specs(rows)
    assert [TensorSpec.from_dict(d) for d in inputs] == [
        TensorSpec("window_mix_mag", (-1, 1, 256, 64)), TensorSpec("mixture_ids", (-1,), "int64")]
    assert outputs == [{"name": "masks", "shape": [-1, 1, 256, 2], "dtype": "float32"}]


def test_without_tensorrt_everything_says_so_in_one_line(tmp_path) -> None:
    if tensorrt_version() is not None:
        pytest.skip("TensorRT is installed here")
    assert cuda_target() is None
    entry = GraphEntry("separator_step.engine", "separator", "0" * 64,
                       (TensorSpec("x", (-1, 4)),), (TensorSpec("y", (-1, 4)),),
                       {"min": 1, "opt": 1, "max": 4})
    with pytest.raises(BackendError) as error:
        TensorRTBackend(tmp_path / "separator_step.engine", entry, "separator_step")
    assert "pip install .[gpu]" in str(error.value) and "\n" not in str(error.value)
    with pytest.raises(RuntimeError) as error:
        build_engine(tmp_path / "g.onnx", tmp_path / "g.engine", precision="fp32", min_batch=1,
                     opt_batch=1, max_batch=4, timing_cache=None)
    assert "pip install .[gpu]" in str(error.value) and "\n" not in str(error.value)


# ---- the backend's run loop against a simulated TensorRT (CPU memory, no CUDA) ----------------

class _FakeEngine:
    """``y = 2 * x[..., :2] + ids`` with TensorRT's name-based API over raw pointers."""

    def __init__(self, out_dtype: str, capture_fails: bool) -> None:
        self.io = {"x": ("in", (-1, 3, 4), "FLOAT"), "ids": ("in", (-1,), "INT64"),
                   "y": ("out", (-1, 3, 2), out_dtype)}
        self.num_io_tensors, self.capture_fails, self.capturing = 3, capture_fails, None

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
        return _FakeContext(self)


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

    class Graph:
        def __init__(self) -> None:
            self.kernels, self.replays = [], 0

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
    context = backend._context
    assert context.kernel_runs == 10
    if capture_fails:
        assert backend.cuda_graph_sizes == () and set(backend.cuda_graph_failures) == {1, 2, 3, 4}
    else:
        assert backend.cuda_graph_sizes == (1, 2, 3, 4) and not backend.cuda_graph_failures
        assert sum(g.replays for g in backend._graphs.values()) == 6
    with pytest.raises(ValueError, match="outside"):
        backend.run({"x": np.zeros((5, 3, 4), np.float32), "ids": np.zeros(5, np.int64)})
    with pytest.raises(ValueError, match="int64"):
        backend.run({"x": np.zeros((2, 3, 4), np.float32), "ids": np.zeros(2, np.int32)})


# ---- the exported graphs, their profiles and their fp16 versions --------------------------------

@pytest.fixture(scope="module")
def graphs(tmp_path_factory) -> dict[str, dict[str, Path]]:
    """The bundled models' graphs, fp32 and fp16: ``{name: {"fp32": path, "fp16": path}}``."""
    from crn_live.runtime.onnx_export import export_all

    out = tmp_path_factory.mktemp("trt_onnx")
    export_all(out, max_objects=4)
    return {name: {"fp32": out / f"{name}.onnx",
                   "fp16": to_fp16(out / f"{name}.onnx", out / f"{name}_fp16.onnx")}
            for name in GRAPHS}


def _feeds(name: str, n: int, rng: np.random.Generator, silence: bool = False) -> dict:
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


def _errors(want: list, got: list, names: list[str]) -> tuple[float, float]:
    """Max and mean abs difference over all outputs (score maps where both find the same
    peaks)."""
    diffs = []
    for name, w, g in zip(names, want, got):
        assert g.dtype == np.float32 and g.shape == w.shape and np.all(np.isfinite(g)), name
        d = np.abs(g - w)
        diffs.append(d[(w > 0) == (g > 0)] if name == "scores" else d.ravel())
    d = np.concatenate(diffs)
    return float(d.max()), float(d.mean())


def test_profile_shapes_of_the_real_graphs(graphs) -> None:
    shapes = onnx_input_shapes(graphs["separator_step"]["fp32"])
    assert shapes == {"window_log_mix": (-1, 1, 256, 64), "window_mix_mag": (-1, 1, 256, 64),
                      "embeddings": (-1, 128), "mixture_ids": (-1,)}
    profile = profile_shapes(shapes, 1, 3, 4)
    assert profile["window_mix_mag"] == ((1, 1, 256, 64), (3, 1, 256, 64), (4, 1, 256, 64))
    assert profile["mixture_ids"] == ((1,), (3,), (4,))
    assert profile_shapes(onnx_input_shapes(graphs["detector"]["fp32"]), 1, 1, 8) == {
        "image": ((1, 3, 240, 320), (1, 3, 240, 320), (8, 3, 240, 320))}
    with pytest.raises(ValueError, match="min <= opt <= max"):
        profile_shapes(shapes, 2, 1, 4)
    with pytest.raises(ValueError, match="besides the batch"):
        profile_shapes({"x": (-1, 3, -1)}, 1, 1, 2)
    assert fp16_initializer_count(graphs["separator_step"]["fp32"]) == 0
    assert fp16_initializer_count(graphs["separator_step"]["fp16"]) > 0


def test_fp16_constants_clamp_and_epsilons_are_spotted() -> None:
    from crn_live.runtime.fp16 import _fp16_array

    a = _fp16_array(np.array([1e6, -1e6, 1e-10, -1e-10, 0.0, 0.5], np.float32))
    assert a.dtype == np.float16 and a[0] == FP16_MAX and a[1] == -FP16_MAX
    assert a[2] > 0 and a[3] < 0 and a[4] == 0 and a[5] == 0.5
    assert fp16_unrepresentable(np.float32(1e-10)) and fp16_unrepresentable(np.float32(1e5))
    assert not fp16_unrepresentable(np.float32(1e-3))
    assert not fp16_unrepresentable(np.full(1000, 1e-10, np.float32))  # weights, not an eps


@pytest.mark.parametrize("name", GRAPHS)
def test_fp16_graph_is_valid_and_typed(graphs, name) -> None:
    fp32, fp16 = (onnx.load(str(graphs[name][k])) for k in ("fp32", "fp16"))
    onnx.checker.check_model(fp16, full_check=True)
    io = lambda m: [(v.name, v.type.tensor_type.elem_type)  # noqa: E731
                    for v in (*m.graph.input, *m.graph.output)]
    assert io(fp16) == io(fp32)  # float32 (and int64) at the boundaries
    _, kept = convert_model(fp32)
    consumers: dict[str, set[str]] = {}
    for node in fp32.graph.node:
        for x in node.input:
            consumers.setdefault(x, set()).add(node.name)
    converted = {i.name: i.data_type for i in fp16.graph.initializer}
    for init in fp32.graph.initializer:
        if init.data_type == onnx.TensorProto.FLOAT and not consumers[init.name] <= set(kept):
            assert converted[init.name] == onnx.TensorProto.FLOAT16, init.name
    ops = {n.name: n.op_type for n in fp32.graph.node}
    heavy = {"Conv", "ConvTranspose", "Gemm", "BatchNormalization"}
    assert not heavy & {ops[k] for k in kept}  # the bulk of the work runs in fp16
    if name == "separator_step":  # window_mix_mag + 1e-10 and what follows stay fp32
        assert "/crn/Add" in kept and "/crn/Div" in kept and "/crn/MatMul" in kept


@pytest.mark.parametrize("name", GRAPHS)
def test_fp16_graph_matches_fp32_in_onnxruntime(graphs, name) -> None:
    rng = np.random.default_rng(0)
    fp32, fp16 = (onnxruntime.InferenceSession(str(graphs[name][k]),
                                               providers=["CPUExecutionProvider"])
                  for k in ("fp32", "fp16"))
    names = [o.name for o in fp32.get_outputs()]
    worst, means = 0.0, []
    for n in (1, 4):
        feeds = _feeds(name, n, rng)
        err = _errors(fp32.run(names, feeds), fp16.run(names, feeds), names)
        worst, means = max(worst, err[0]), means + [err[1]]
    print(f"{name}: onnxruntime fp16 vs fp32 max {worst:.2e} mean {np.mean(means):.2e}")
    assert worst <= ORT_BARS[name][0] and np.mean(means) <= ORT_BARS[name][1]


@pytest.mark.parametrize("name", GRAPHS)
def test_fp16_arithmetic_stays_close(graphs, name) -> None:
    """The fp16 graph executed in fp16 (onnx's reference evaluator, slow: one small batch), the
    separator's with silent bins."""
    from onnx.reference import ReferenceEvaluator

    rng = np.random.default_rng(0)
    n = {"visual": 2, "separator_step": 1, "detector": 1}[name]
    feeds = _feeds(name, n, rng, silence=True)
    session = onnxruntime.InferenceSession(str(graphs[name]["fp32"]),
                                           providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # exp overflow inside its Sigmoid
        got = ReferenceEvaluator(str(graphs[name]["fp16"])).run(names, feeds)
    worst, mean = _errors(session.run(names, feeds), got, names)
    print(f"{name}: fp16 arithmetic vs fp32 max {worst:.2e} mean {mean:.2e}")
    assert worst <= REFERENCE_BARS[name][0] and mean <= REFERENCE_BARS[name][1]


# ---- engines, where TensorRT and a GPU exist ---------------------------------------------------

@pytest.mark.skipif(cuda_target() is None, reason=NEEDS_GPU)
@pytest.mark.parametrize("precision,tolerance", [("fp32", 1e-3), ("fp16", 2e-2)])
def test_engine_matches_onnxruntime(graphs, tmp_path, precision, tolerance) -> None:
    target = cuda_target()
    assert isinstance(target, Target)
    plan = precision_plan(int(target.tensorrt.split(".")[0]), precision)
    graph = graphs["separator_step"]["fp16" if plan["fp16_onnx"] else "fp32"]
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
    session = onnxruntime.InferenceSession(str(graphs["separator_step"]["fp32"]),
                                           providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feeds = {n: [_feeds("separator_step", n, rng) for _ in range(2)] for n in (1, 2, 3, 4)}
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
        backend.run(_feeds("separator_step", 5, rng))
    assert backend.describe().startswith("tensorrt")
    backend.close()
