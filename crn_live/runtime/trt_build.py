"""Build TensorRT engines: from an ONNX graph with the TensorRT Python API (:func:`build_engine`),
or from a PyTorch module with Torch-TensorRT (:func:`build_with_torch_tensorrt`).

Used by ``export/build_engines.py``; TensorRT and Torch-TensorRT are imported lazily (they are the
GPU-only ``[gpu]`` extra), so this module imports anywhere and its pure parts
(:func:`precision_plan`, :func:`profile_shapes`, :func:`onnx_input_shapes`) are tested on CPU.

TensorRT API used (NVIDIA "TensorRT Python API" reference: Builder, IBuilderConfig,
IOptimizationProfile, OnnxParser, Runtime, ICudaEngine; and the 10.x -> 11.x migration guide):

* ``trt.Builder(logger)``, ``builder.create_network(flags)`` with
  ``1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)`` for strongly typed networks
  (the flag is deprecated and ignored in TensorRT 11, where every network is strongly typed;
  it is only passed where it exists);
* ``trt.OnnxParser(network, logger).parse_from_file(path)`` (external weights resolve beside the
  file), ``parser.num_errors`` / ``parser.get_error(i)``;
* ``builder.create_builder_config()``, ``config.set_memory_pool_limit(
  trt.MemoryPoolType.WORKSPACE, bytes)``, ``config.set_flag(trt.BuilderFlag.FP16)`` (TensorRT 10
  only: TensorRT 11 removed it, see :func:`precision_plan`), ``config.clear_flag(
  trt.BuilderFlag.TF32)`` for fp32 engines where the flag exists (TF32 would round convolution
  inputs to 10 mantissa bits, about fp16's error);
* ``builder.create_optimization_profile()``, ``profile.set_shape(name, min, opt, max)``,
  ``config.add_optimization_profile(profile)``;
* ``config.create_timing_cache(bytes)``, ``config.set_timing_cache(cache, ignore_mismatch=False)``,
  ``config.get_timing_cache().serialize()``;
* ``builder.build_serialized_network(network, config)`` (``None`` on failure), then
  ``trt.Runtime(logger).deserialize_cuda_engine`` to report the engine's I/O tensors.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence

from crn_live.data.files import write_bytes_atomic
from crn_live.runtime.base import TensorSpec
from crn_live.runtime.tensorrt_backend import TRT_DTYPES

PRECISIONS = ("fp16", "fp32")
MIN_TRT_MAJOR = 10


def precision_plan(trt_major: int, precision: str) -> dict:
    """How to build a ``precision`` engine with TensorRT ``trt_major``.

    * TensorRT 10: a weakly typed network from the fp32 graph; ``BuilderFlag.FP16`` lets the
      builder pick fp16 kernels (``builder_fp16_flag``);
    * TensorRT >= 11: every network is strongly typed and the precision flags are gone
      (migration guide: "BuilderFlag.FP16 -> strong typing"), so an fp16 engine needs an fp16
      graph (``fp16_onnx``: convert it first with :func:`crn_live.runtime.fp16.to_fp16`).

    ``disable_tf32`` keeps fp32 engines at fp32 accuracy. ``ValueError`` for another precision
    or a TensorRT older than 10 (the runtime needs its name-based API and int64 I/O).
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if trt_major < MIN_TRT_MAJOR:
        raise ValueError(f"TensorRT {trt_major} is too old: crn-live needs TensorRT >= "
                         f"{MIN_TRT_MAJOR}")
    fp16 = precision == "fp16"
    strong = trt_major >= 11
    return {"strongly_typed": strong, "builder_fp16_flag": fp16 and not strong,
            "fp16_onnx": fp16 and strong, "disable_tf32": not fp16}


def onnx_input_shapes(onnx_path: Path) -> dict[str, tuple[int, ...]]:
    """``{input name: shape}`` of an ONNX graph, ``-1`` for symbolic or unknown dims (the
    weights are not loaded)."""
    import onnx

    model = onnx.load(str(onnx_path), load_external_data=False)
    initializers = {i.name for i in model.graph.initializer}
    shapes = {}
    for value in model.graph.input:
        if value.name in initializers:
            continue
        dims = value.type.tensor_type.shape.dim
        shapes[value.name] = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in dims)
    return shapes


def profile_shapes(inputs: Mapping[str, Sequence[int]], min_batch: int, opt_batch: int,
                   max_batch: int) -> dict[str, tuple[tuple[int, ...], ...]]:
    """``{name: (min, opt, max shape)}`` for every input whose dim 0 is dynamic (``-1``), the
    other dims as the graph gives them. ``ValueError`` for a bad batch range or another dynamic
    dim."""
    if not 1 <= min_batch <= opt_batch <= max_batch:
        raise ValueError(f"need 1 <= min <= opt <= max batch, got {min_batch}, {opt_batch}, "
                         f"{max_batch}")
    out = {}
    for name, shape in inputs.items():
        shape = tuple(int(d) for d in shape)
        if not shape or shape[0] != -1:
            continue
        if any(d < 0 for d in shape[1:]):
            raise ValueError(f"input {name} {shape} has a dynamic dim besides the batch")
        rest = shape[1:]
        out[name] = tuple((b, *rest) for b in (min_batch, opt_batch, max_batch))
    return out


def fp16_initializer_count(onnx_path: Path) -> int:
    """How many float16 initializers or Constant tensors the graph holds (0: an fp32 graph)."""
    import onnx

    model = onnx.load(str(onnx_path), load_external_data=False)
    half = onnx.TensorProto.FLOAT16
    count = sum(i.data_type == half for i in model.graph.initializer)
    for node in model.graph.node:
        if node.op_type == "Constant":
            count += sum(a.t.data_type == half for a in node.attribute if a.name == "value")
    return count


def _trt_major(version: str) -> int:
    return int(str(version).split(".")[0])


def _dtype_name(trt_dtype) -> str:
    name = getattr(trt_dtype, "name", str(trt_dtype)).split(".")[-1].upper()
    return TRT_DTYPES.get(name, name.lower())


def engine_io(engine, trt) -> list[dict]:
    """``[{"name", "mode": "input"|"output", "shape", "dtype"}]`` of a deserialized engine
    (``-1`` on dynamic dims, numpy dtype names)."""
    rows = []
    for i in range(engine.num_io_tensors):
        name = engine.get_tensor_name(i)
        mode = "input" if engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT else "output"
        rows.append({"name": name, "mode": mode,
                     "shape": [int(d) for d in engine.get_tensor_shape(name)],
                     "dtype": _dtype_name(engine.get_tensor_dtype(name))})
    return rows


def io_specs(rows: Sequence[Mapping]) -> tuple[list[dict], list[dict]]:
    """(inputs, outputs) of :func:`engine_io` rows as callers exchange them, in
    :meth:`TensorSpec.to_dict` form (``{"name", "shape", "dtype"}``; ``TensorSpec.from_dict``
    reads them back): float tensors are float32 whatever the engine's type (the backend casts
    on the GPU)."""
    def spec(row: Mapping) -> dict:
        dtype = row["dtype"]
        dtype = "float32" if dtype.startswith(("float", "bfloat")) else dtype
        return TensorSpec(row["name"], tuple(row["shape"]), dtype).to_dict()

    return ([spec(r) for r in rows if r["mode"] == "input"],
            [spec(r) for r in rows if r["mode"] == "output"])


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, data)


def _one_line(text: str, limit: int = 400) -> str:
    line = " | ".join(s.strip() for s in str(text).splitlines() if s.strip())
    return line if len(line) <= limit else line[:limit - 3] + "..."


def build_engine(onnx_path: Path, engine_path: Path, *, precision: str, min_batch: int,
                 opt_batch: int, max_batch: int, timing_cache: Path | None,
                 workspace_gb: float = 4.0, log: Callable[[str], object] = print) -> dict:
    """Build ``engine_path`` from the ONNX graph ``onnx_path`` for batches min..max (optimized
    for ``opt_batch``) at ``precision``, reusing / updating the ``timing_cache`` file.

    With TensorRT >= 11 an fp16 engine needs an fp16 graph (:func:`crn_live.runtime.fp16.to_fp16`;
    ``RuntimeError`` otherwise). Returns ``{"engine", "tensorrt", "precision", "plan",
    "seconds", "bytes", "profile", "io", "inputs", "outputs"}``: ``io`` the engine's own tensor
    types, ``inputs`` / ``outputs`` the tensors callers exchange as ``TensorSpec.to_dict()``
    dicts (float32 floats; ``-1`` on the batch axis).
    Every failure is a ``RuntimeError`` with a one-line message.
    """
    try:
        import tensorrt as trt
    except Exception as error:
        raise RuntimeError(f"TensorRT is not importable ({type(error).__name__}): install the "
                           f"GPU extra: pip install .[gpu]") from None
    onnx_path, engine_path = Path(onnx_path), Path(engine_path)
    plan = precision_plan(_trt_major(trt.__version__), precision)
    if plan["fp16_onnx"] and fp16_initializer_count(onnx_path) == 0:
        raise RuntimeError(f"TensorRT {trt.__version__} builds strongly typed networks only: "
                           f"an fp16 engine needs an fp16 graph, and {onnx_path.name} is fp32 "
                           f"(convert it with python -m crn_live.runtime.fp16)")
    shapes = profile_shapes(onnx_input_shapes(onnx_path), min_batch, opt_batch, max_batch)
    start = time.perf_counter()
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    flags = 0
    strong_flag = getattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED", None)
    if plan["strongly_typed"] and strong_flag is not None:
        flags |= 1 << int(strong_flag)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
        raise RuntimeError(f"TensorRT's ONNX parser refused {onnx_path.name}: "
                           f"{_one_line('; '.join(errors) or 'no error reported')}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gb * (1 << 30)))
    if plan["builder_fp16_flag"]:
        config.set_flag(trt.BuilderFlag.FP16)
    tf32 = getattr(trt.BuilderFlag, "TF32", None)
    if plan["disable_tf32"] and tf32 is not None:
        config.clear_flag(tf32)
    profile = builder.create_optimization_profile()
    for i in range(network.num_inputs):
        tensor = network.get_input(i)
        if tensor.name in shapes:
            profile.set_shape(tensor.name, *shapes[tensor.name])
        elif any(int(d) < 0 for d in tensor.shape):
            raise RuntimeError(f"input {tensor.name} {tuple(tensor.shape)} of {onnx_path.name} "
                               f"has a dynamic dim the profile cannot fill")
    config.add_optimization_profile(profile)
    cache_bytes = b""
    if timing_cache is not None and Path(timing_cache).is_file():
        cache_bytes = Path(timing_cache).read_bytes()
    cache = config.create_timing_cache(cache_bytes)
    config.set_timing_cache(cache, ignore_mismatch=False)
    log(f"building {engine_path.name} ({precision}, batch {min_batch}/{opt_batch}/{max_batch}, "
        f"TensorRT {trt.__version__}{', strongly typed' if plan['strongly_typed'] else ''})")
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise RuntimeError(f"TensorRT could not build {engine_path.name} from {onnx_path.name} "
                           f"(see the TensorRT log above)")
    data = bytes(serialized)
    if timing_cache is not None:
        _write_atomic(Path(timing_cache), bytes(config.get_timing_cache().serialize()))
    _write_atomic(engine_path, data)
    seconds = time.perf_counter() - start
    engine = trt.Runtime(logger).deserialize_cuda_engine(data)
    if engine is None:
        raise RuntimeError(f"TensorRT cannot load the engine it just built: {engine_path}")
    rows = engine_io(engine, trt)
    inputs, outputs = io_specs(rows)
    log(f"built {engine_path.name} in {seconds:.0f} s ({len(data) / 2**20:.1f} MiB)")
    return {"engine": str(engine_path), "tensorrt": str(trt.__version__), "precision": precision,
            "plan": plan, "seconds": seconds, "bytes": len(data),
            "profile": {"min": min_batch, "opt": opt_batch, "max": max_batch},
            "io": rows, "inputs": inputs, "outputs": outputs}


def torch_tensorrt_precision_kwargs(setting_names: Sequence[str], precision: str) -> dict:
    """Torch-TensorRT compile settings for ``precision``, given the field names of
    ``torch_tensorrt.dynamo.CompilationSettings`` (they changed across releases):

    * releases with autocast (``enable_autocast``; ``enabled_precisions`` is deprecated there):
      a strongly typed build (``use_explicit_typing=True``), fp16 through Torch-TensorRT's
      rule-based autocast (``enable_autocast=True, autocast_low_precision_type=float16``);
    * older releases: ``enabled_precisions={float16}`` / ``{float32}`` (weak typing).

    fp32 builds also set ``disable_tf32=True``. Values are dtype *names*; the caller maps them.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    names = set(setting_names)
    fp16 = precision == "fp16"
    kwargs: dict = {}
    if "enable_autocast" in names and "use_explicit_typing" in names:
        kwargs["use_explicit_typing"] = True
        if fp16:
            kwargs["enable_autocast"] = True
            kwargs["autocast_low_precision_type"] = "float16"
    else:
        kwargs["enabled_precisions"] = {"float16" if fp16 else "float32"}
    if not fp16 and "disable_tf32" in names:
        kwargs["disable_tf32"] = True
    return kwargs


def build_with_torch_tensorrt(module, example_inputs: Sequence, engine_path: Path, *,
                              precision: str, min_batch: int, opt_batch: int,
                              max_batch: int) -> dict:
    """A serialized TensorRT engine of ``module.forward`` via Torch-TensorRT's dynamo frontend,
    loadable by :class:`~crn_live.runtime.tensorrt_backend.TensorRTBackend`.

    Every example input's dim 0 is the batch, shared by all inputs: the module is exported with
    one ``torch.export.Dim("batch", min, max)`` (``torch_tensorrt.dynamo.trace``, which
    ``convert_method_to_trt_engine(ir="dynamo")`` runs, gives each input its own Dim in most
    releases, and ``torch.export`` then refuses the equal batches), and the program goes to
    ``torch_tensorrt.dynamo.convert_exported_program_to_serialized_trt_engine`` (what
    ``convert_method_to_trt_engine`` calls after its trace; it returns the engine bytes). Where
    that function is missing, ``torch_tensorrt.convert_method_to_trt_engine(module, "forward",
    arg_inputs=[torch_tensorrt.Input(min_shape, opt_shape, max_shape, dtype)], ir="dynamo")``
    is used. The engine's tensors are named after the ``forward`` arguments and Torch-TensorRT's
    outputs (``output0``...): the returned ``inputs`` / ``outputs`` say which. ``module`` is
    moved to ``cuda:0`` and put in eval mode.
    """
    try:
        import torch
        import torch_tensorrt
    except Exception as error:
        raise RuntimeError(f"Torch-TensorRT is not importable ({type(error).__name__}): "
                           f"pip install torch-tensorrt matching torch "
                           f"(it is not part of crn-live's extras)") from None
    import inspect

    import tensorrt as trt

    engine_path = Path(engine_path)
    if not 1 <= min_batch <= opt_batch <= max_batch:
        raise ValueError(f"need 1 <= min <= opt <= max batch, got {min_batch}, {opt_batch}, "
                         f"{max_batch}")
    settings = getattr(torch_tensorrt.dynamo, "CompilationSettings", None)
    names = [f.name for f in dataclasses.fields(settings)] if settings is not None else []
    kwargs = torch_tensorrt_precision_kwargs(names, precision)
    if "autocast_low_precision_type" in kwargs:
        kwargs["autocast_low_precision_type"] = torch.float16
    if "enabled_precisions" in kwargs:
        kwargs["enabled_precisions"] = {getattr(torch, n) for n in kwargs["enabled_precisions"]}
    device = torch.device("cuda:0")
    module = module.eval().to(device)
    examples = [torch.as_tensor(x).to(device) for x in example_inputs]
    specs = [torch_tensorrt.Input(min_shape=(min_batch, *x.shape[1:]),
                                  opt_shape=(opt_batch, *x.shape[1:]),
                                  max_shape=(max_batch, *x.shape[1:]), dtype=x.dtype)
             for x in examples]
    start = time.perf_counter()
    convert = getattr(torch_tensorrt.dynamo,
                      "convert_exported_program_to_serialized_trt_engine", None)
    try:
        if convert is not None:
            # trace at a batch > 1: torch.export specializes dims of size 1
            trace_batch = max(2, opt_batch) if max_batch >= 2 else 1
            args = tuple(x[:1].expand(trace_batch, *x.shape[1:]).contiguous()
                         if x.shape[0] != trace_batch else x for x in examples)
            dynamic = None
            if max_batch >= 2:
                batch = torch.export.Dim("batch", min=min_batch, max=max_batch)
                params = list(inspect.signature(module.forward).parameters)[:len(args)]
                dynamic = {p: {0: batch} for p in params}
            with torch.no_grad():
                program = torch.export.export(module, args, dynamic_shapes=dynamic,
                                              strict=False)
                blob = convert(program, arg_inputs=specs, **kwargs)
        else:
            blob = torch_tensorrt.convert_method_to_trt_engine(
                module, "forward", arg_inputs=specs, ir="dynamo", **kwargs)
    except Exception as error:
        raise RuntimeError(f"Torch-TensorRT could not build {engine_path.name}: "
                           f"{_one_line(f'{type(error).__name__}: {error}')}") from None
    if not blob:
        raise RuntimeError(f"Torch-TensorRT returned no engine for {engine_path.name} "
                           f"(see its log above)")
    data = bytes(blob)
    _write_atomic(engine_path, data)
    seconds = time.perf_counter() - start
    engine = trt.Runtime(trt.Logger(trt.Logger.WARNING)).deserialize_cuda_engine(data)
    if engine is None:
        raise RuntimeError(f"TensorRT {trt.__version__} cannot load the engine Torch-TensorRT "
                           f"built: {engine_path}")
    rows = engine_io(engine, trt)
    inputs, outputs = io_specs(rows)
    return {"engine": str(engine_path), "tensorrt": str(trt.__version__),
            "torch_tensorrt": str(getattr(torch_tensorrt, "__version__", "?")),
            "precision": precision, "settings": {k: str(v) for k, v in kwargs.items()},
            "seconds": seconds, "bytes": len(data),
            "profile": {"min": min_batch, "opt": opt_batch, "max": max_batch},
            "io": rows, "inputs": inputs, "outputs": outputs}
