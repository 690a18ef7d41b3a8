"""TensorRT backend: one serialized engine (``export/build_engines.py``) run on a CUDA GPU.

TensorRT is an optional, GPU-only extra (``pip install .[gpu]``): it is imported lazily, and
:func:`tensorrt_version` / :func:`cuda_target` answer ``None`` where it (or CUDA) is missing.

:class:`TensorRTBackend` follows the TensorRT >= 10 name-based runtime API (the same in
TensorRT 11; NVIDIA's "Python API" reference, ``ICudaEngine`` / ``IExecutionContext``, and the
8.x -> 10.x / 10.x -> 11.x migration guides):

* ``trt.Runtime(logger).deserialize_cuda_engine(bytes)``, ``engine.create_execution_context()``;
* ``engine.num_io_tensors``, ``get_tensor_name(i)``, ``get_tensor_mode(name)``
  (``trt.TensorIOMode.INPUT``), ``get_tensor_dtype(name)``, ``get_tensor_shape(name)`` and
  ``get_tensor_profile_shape(name, 0)`` (min / opt / max of profile 0);
* ``context.set_input_shape(name, shape)`` (only when the batch changes),
  ``context.get_tensor_shape(name)`` for the outputs, ``context.set_tensor_address(name, ptr)``
  (once: the buffers never move) and ``context.execute_async_v3(stream_handle)``.

Device memory is torch CUDA tensors allocated once at the profile's largest batch, host memory
pinned torch tensors (``pin_memory=True``), so copies are asynchronous on the backend's own
``torch.cuda.Stream``. An engine whose I/O is fp16 (a strongly typed build from an fp16 graph
without float32 I/O) still takes and returns float32 arrays: the cast runs on the GPU.

CUDA graphs: the first call with a batch size runs the engine (the warm-up that also flushes
TensorRT's deferred shape updates), then captures one ``execute_async_v3`` into a
``torch.cuda.CUDAGraph`` (``torch.cuda.graph(g, stream=..., capture_error_mode="thread_local")``)
that later calls of that batch size replay. An engine that cannot be captured (TensorRT refuses
some, e.g. with data-dependent shapes) runs without a graph; :attr:`cuda_graph_sizes` lists the
batch sizes that replay a graph, :attr:`cuda_graph_failures` why the others do not.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Mapping

import numpy as np

from crn_live.runtime.base import BackendError, TensorSpec, check_feeds
from crn_live.runtime.manifest import GraphEntry, Target

INSTALL = "install the GPU extra: pip install .[gpu]"

#: ``trt.DataType`` member name -> torch / numpy dtype name.
TRT_DTYPES = {"FLOAT": "float32", "HALF": "float16", "BF16": "bfloat16", "INT8": "int8",
              "INT32": "int32", "INT64": "int64", "BOOL": "bool", "UINT8": "uint8",
              "FP8": "float8_e4m3fn"}
FLOAT_DTYPES = ("float32", "float16", "bfloat16", "float8_e4m3fn")


@functools.lru_cache(maxsize=1)
def tensorrt_version() -> str | None:
    """The installed TensorRT's version (``"10.13.0.35"``), ``None`` where it is not
    importable (never raises)."""
    try:
        import tensorrt
    except Exception:  # ImportError, or a broken install (missing libnvinfer)
        return None
    version = getattr(tensorrt, "__version__", None)
    return str(version) if version else None


def cuda_target(device_index: int = 0) -> Target | None:
    """The :class:`~crn_live.runtime.manifest.Target` engines are built for here: CUDA GPU name,
    compute capability (``"9.0"``) and TensorRT version; ``None`` without CUDA or TensorRT."""
    version = tensorrt_version()
    if version is None:
        return None
    try:
        import torch

        if not torch.cuda.is_available():
            return None
        name = torch.cuda.get_device_name(device_index)
        major, minor = torch.cuda.get_device_capability(device_index)
    except Exception:
        return None
    return Target(name, f"{major}.{minor}", version)


# ---- pure helpers (no TensorRT, no GPU) --------------------------------------------------------

def torch_dtype_name(trt_dtype_name: str) -> str:
    """torch / numpy dtype name of a ``trt.DataType`` member name (``"HALF"`` -> ``"float16"``);
    :class:`BackendError` for types this backend cannot exchange (INT4, FP4, ...)."""
    try:
        return TRT_DTYPES[trt_dtype_name.split(".")[-1].upper()]
    except KeyError:
        raise BackendError(f"TensorRT tensors of type {trt_dtype_name} are not supported by "
                           f"crn-live's TensorRT backend") from None


def host_dtype_name(engine_dtype: str) -> str:
    """The dtype callers exchange for an engine tensor: float32 for every float type, the
    engine's own integer / bool type otherwise."""
    return "float32" if engine_dtype in FLOAT_DTYPES else engine_dtype


def check_batch(batch: int, profile: Mapping[str, int]) -> None:
    """``ValueError`` unless ``profile["min"] <= batch <= profile["max"]``."""
    if not profile["min"] <= batch <= profile["max"]:
        raise ValueError(f"batch {batch} outside the engine's profile "
                         f"{profile['min']}..{profile['max']}")


def feed_batch(specs: tuple[TensorSpec, ...], feeds: Mapping[str, np.ndarray]) -> int:
    """The batch size shared by every input with a dynamic axis 0 (``ValueError`` if they
    differ or none has one)."""
    sizes = {s.name: int(np.shape(feeds[s.name])[0]) for s in specs
             if s.shape and s.shape[0] == -1}
    if not sizes:
        raise ValueError("no input has a dynamic batch axis")
    if len(set(sizes.values())) != 1:
        raise ValueError("inputs disagree on the batch size: "
                         + ", ".join(f"{k} {v}" for k, v in sizes.items()))
    return next(iter(sizes.values()))


def shape_at_batch(shape: tuple[int, ...], batch: int) -> tuple[int, ...]:
    """``shape`` with its dynamic axis 0 (``-1``) set to ``batch``; ``ValueError`` where another
    axis is dynamic (the engines here have one dynamic axis)."""
    shape = tuple(int(d) for d in shape)
    if any(d < 0 for d in shape[1:]):
        raise ValueError(f"shape {shape} has a dynamic axis besides the batch")
    return (batch, *shape[1:]) if shape and shape[0] == -1 else shape


def input_shapes(specs: tuple[TensorSpec, ...], batch: int) -> dict[str, tuple[int, ...]]:
    """``{input name: shape}`` to give ``context.set_input_shape`` for ``batch``."""
    return {s.name: shape_at_batch(s.shape, batch) for s in specs}


def check_profile_covers(name: str, engine_range: tuple[int, int],
                         profile: Mapping[str, int]) -> None:
    """:class:`BackendError` unless the engine's batch range for input ``name`` covers the
    manifest's ``profile`` min..max."""
    low, high = engine_range
    if low > profile["min"] or high < profile["max"]:
        raise BackendError(f"engine input {name} takes batches {low}..{high}, the manifest says "
                           f"{profile['min']}..{profile['max']}: rebuild it with: "
                           f"python export/build_engines.py")


def _import_tensorrt():
    try:
        import tensorrt
    except Exception as error:
        raise BackendError(f"TensorRT is not available ({type(error).__name__}: "
                           f"{str(error).splitlines()[0] if str(error) else 'no module'}): "
                           f"{INSTALL}") from None
    return tensorrt


class TensorRTBackend:
    """One TensorRT engine behind the :class:`~crn_live.runtime.base.Backend` interface.

    ``run`` returns numpy views of pinned host buffers that the next ``run`` overwrites: copy
    them if they must outlive it.
    """

    name = "tensorrt"

    def __init__(self, engine_path: Path, entry: GraphEntry, graph: str, device_index: int = 0,
                 cuda_graphs: bool = True) -> None:
        trt = _import_tensorrt()
        import torch

        if not torch.cuda.is_available():
            raise BackendError("TensorRT needs an NVIDIA GPU and CUDA, and torch sees none")
        profile = dict(entry.profile)
        if not 1 <= profile["min"] <= profile.get("opt", profile["min"]) <= profile["max"]:
            raise BackendError(f"{graph}: invalid batch profile {profile} in the manifest")
        self.graph, self.engine_path, self.profile = graph, Path(engine_path), profile
        self.inputs, self.outputs = tuple(entry.inputs), tuple(entry.outputs)
        self.device = f"cuda:{device_index}"
        self.cuda_graphs = cuda_graphs
        self.cuda_graph_failures: dict[int, str] = {}
        self._torch = torch
        self._dev = torch.device(self.device)
        self._graphs: dict[int, object] = {}
        self._shape_batch = 0
        self._out_shapes: dict[int, dict[str, tuple[int, ...]]] = {}
        try:
            blob = self.engine_path.read_bytes()
        except OSError as error:
            raise BackendError(f"cannot read {self.engine_path}: {error.strerror}") from None
        with torch.cuda.device(self._dev):
            self._stream = torch.cuda.Stream(device=self._dev)
            self._logger = trt.Logger(trt.Logger.WARNING)
            self._runtime = trt.Runtime(self._logger)
            self._engine = self._runtime.deserialize_cuda_engine(blob)
            if self._engine is None:
                raise BackendError(f"TensorRT {trt.__version__} cannot load "
                                   f"{self.engine_path} (built with another version or for "
                                   f"another GPU?): rebuild it with: "
                                   f"python export/build_engines.py")
            self._context = self._engine.create_execution_context()
            if self._context is None:
                raise BackendError(f"TensorRT could not create an execution context for "
                                   f"{self.engine_path} (GPU out of memory?)")
            self._allocate(trt)

    # -- set-up ----------------------------------------------------------------------------------
    def _allocate(self, trt) -> None:
        torch, engine, context = self._torch, self._engine, self._context
        names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
        is_input = {n: engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT for n in names}
        want_in, want_out = [s.name for s in self.inputs], [s.name for s in self.outputs]
        have_in = [n for n in names if is_input[n]]
        have_out = [n for n in names if not is_input[n]]
        if sorted(want_in) != sorted(have_in) or not set(want_out) <= set(have_out):
            raise BackendError(f"{self.engine_path} has inputs {have_in} and outputs "
                               f"{have_out}, the manifest says {want_in} -> {want_out}: "
                               f"rebuild it with: python export/build_engines.py")
        self._engine_dtypes = {n: torch_dtype_name(engine.get_tensor_dtype(n).name)
                               for n in names}
        top = self.profile["max"]
        for spec in self.inputs:
            shape = tuple(engine.get_tensor_shape(spec.name))
            if len(shape) != len(spec.shape) or any(
                    want not in (-1, got) for want, got in zip(spec.shape[1:], shape[1:])):
                raise BackendError(f"{self.engine_path}: input {spec.name} has shape {shape}, "
                                   f"the manifest says {spec.shape}")
            if shape and shape[0] == -1:
                low, _, high = engine.get_tensor_profile_shape(spec.name, 0)
                check_profile_covers(spec.name, (int(low[0]), int(high[0])), self.profile)
            context.set_input_shape(spec.name, shape_at_batch(shape, top))
        self._shape_batch = top
        self._out_shapes[top] = {n: tuple(context.get_tensor_shape(n)) for n in have_out}
        shapes = {**{s.name: shape_at_batch(tuple(engine.get_tensor_shape(s.name)), top)
                     for s in self.inputs}, **self._out_shapes[top]}
        host_dtypes = {s.name: s.dtype for s in self.inputs}
        self._device_buf, self._staging, self._host, self._host_np = {}, {}, {}, {}
        for name in names:
            engine_dtype = getattr(torch, self._engine_dtypes[name])
            host_name = host_dtypes.get(name, host_dtype_name(self._engine_dtypes[name]))
            host_dtype = getattr(torch, host_name)
            buf = torch.empty(shapes[name], dtype=engine_dtype, device=self._dev)
            self._device_buf[name] = buf
            if host_dtype != engine_dtype:  # cast on the GPU, copy the caller's type
                self._staging[name] = torch.empty(shapes[name], dtype=host_dtype,
                                                  device=self._dev)
            self._host[name] = torch.empty(shapes[name], dtype=host_dtype, pin_memory=True)
            self._host_np[name] = self._host[name].numpy().reshape(-1)
            if not context.set_tensor_address(name, buf.data_ptr()):
                raise BackendError(f"TensorRT refused the buffer of {name} in "
                                   f"{self.engine_path}")
        self._names_out = have_out

    # -- Backend interface -----------------------------------------------------------------------
    @property
    def cuda_graph_sizes(self) -> tuple[int, ...]:
        """Batch sizes whose step replays a captured CUDA graph."""
        return tuple(sorted(self._graphs))

    def describe(self) -> str:
        graphs = (f"CUDA graphs for batches {list(self.cuda_graph_sizes)}" if self.cuda_graphs
                  else "no CUDA graphs")
        return (f"tensorrt {tensorrt_version()} on {self.device} "
                f"({self._torch.cuda.get_device_name(self._dev)}), graph {self.graph} "
                f"({self.engine_path.name}, batch {self.profile['min']}..{self.profile['max']}, "
                f"{graphs})")

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Outputs for ``feeds`` as float32 numpy views of pinned buffers reused by the next
        call. ``ValueError`` for a batch outside the manifest's profile."""
        torch = self._torch
        check_feeds(self.inputs, feeds)
        batch = feed_batch(self.inputs, feeds)
        check_batch(batch, self.profile)
        with torch.cuda.device(self._dev), torch.cuda.stream(self._stream):
            for spec in self.inputs:
                array = np.ascontiguousarray(feeds[spec.name])
                self._host_np[spec.name][:array.size] = array.reshape(-1)
                self._to_device(spec.name, array.size)
            shapes = self._enqueue(batch)
            results = {}
            for name in self._names_out:
                size = int(np.prod(shapes[name]))
                self._to_host(name, size)
                results[name] = self._host_np[name][:size].reshape(shapes[name])
            self._stream.synchronize()
        return {s.name: results[s.name] for s in self.outputs}

    # -- internals -------------------------------------------------------------------------------
    def _to_device(self, name: str, size: int) -> None:
        host = self._host[name].view(-1)[:size]
        device = self._device_buf[name].view(-1)[:size]
        staging = self._staging.get(name)
        if staging is None:
            device.copy_(host, non_blocking=True)
        else:
            staging = staging.view(-1)[:size]
            staging.copy_(host, non_blocking=True)
            device.copy_(staging)

    def _to_host(self, name: str, size: int) -> None:
        host = self._host[name].view(-1)[:size]
        device = self._device_buf[name].view(-1)[:size]
        staging = self._staging.get(name)
        if staging is not None:
            staging = staging.view(-1)[:size]
            staging.copy_(device)
            device = staging
        host.copy_(device, non_blocking=True)

    def _enqueue(self, batch: int) -> dict[str, tuple[int, ...]]:
        """Run the engine for ``batch`` on the backend's stream (replaying its CUDA graph when
        there is one); the output shapes."""
        graph = self._graphs.get(batch)
        if graph is not None:
            graph.replay()
            return self._out_shapes[batch]
        if self._shape_batch != batch:
            for name, shape in input_shapes(self.inputs, batch).items():
                if not self._context.set_input_shape(name, shape):
                    raise BackendError(f"TensorRT refused shape {shape} for {name}")
            self._shape_batch = batch
            self._out_shapes.setdefault(batch, {
                n: tuple(self._context.get_tensor_shape(n)) for n in self._names_out})
        if not self._context.execute_async_v3(self._stream.cuda_stream):
            raise BackendError(f"TensorRT failed to run {self.engine_path.name} "
                               f"(batch {batch}); see the TensorRT log above")
        if self.cuda_graphs and batch not in self.cuda_graph_failures:
            self._capture(batch)
        return self._out_shapes[batch]

    def _capture(self, batch: int) -> None:
        """Capture one ``execute_async_v3`` for ``batch`` (shapes already set and flushed by the
        warm-up run); remember a failure and run without a graph from then on."""
        torch = self._torch
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph, stream=self._stream, capture_error_mode="thread_local"):
                ok = self._context.execute_async_v3(self._stream.cuda_stream)
            if not ok:
                raise RuntimeError("execute_async_v3 returned False while capturing")
        except Exception as error:
            self.cuda_graph_failures[batch] = f"{type(error).__name__}: {error}".splitlines()[0]
            torch.cuda.synchronize(self._dev)
            return
        self._graphs[batch] = graph

    def close(self) -> None:
        """Free the CUDA graphs, the context and the buffers (the backend is unusable after)."""
        self._graphs.clear()
        for attr in ("_context", "_engine", "_runtime"):
            if hasattr(self, attr):
                setattr(self, attr, None)
        self._device_buf, self._staging, self._host, self._host_np = {}, {}, {}, {}
