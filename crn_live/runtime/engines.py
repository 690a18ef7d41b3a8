"""Building TensorRT engines from the exported ONNX graphs, for this machine's NVIDIA GPU.

:func:`export_verified` exports every graph (:func:`~crn_live.runtime.onnx_export.export_all`)
and refuses one that differs from PyTorch by more than :data:`PARITY_BAR`; :func:`build_all`
builds an engine per graph with an optimization profile for 1..K objects, checks each against
onnxruntime (:func:`verify_engines`) and writes the manifest. TensorRT is imported lazily (the
``[gpu]`` extra); ``python export/build_engines.py`` is the command.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from crn_live.errors import UserError

#: ONNX graphs must match PyTorch this closely (fp32) before any engine is built from them.
PARITY_BAR = 1e-4
#: Engines must match onnxruntime this closely (max abs error on masks / embeddings / boxes).
ENGINE_BARS = {"fp32": 1e-3, "fp16": 3e-2}


def profile_for(graph: str, max_objects: int) -> dict[str, int]:
    """Batch range of a graph's optimization profile: objects 1..K (tuned for 2, or K if
    smaller); the detector sees one frame at a time (up to 2)."""
    if graph == "detector":
        return {"min": 1, "opt": 1, "max": 2}
    return {"min": 1, "opt": min(2, max_objects), "max": max_objects}


@dataclasses.dataclass(frozen=True)
class EngineBuild:
    """What to build: the models (None: the bundled ones), the output folder, precision, the
    profiles' upper bound, the route (``onnx`` parser or ``torch-tensorrt``), workspace GiB."""

    out: Path
    model: Path | None = None
    detector: Path | None = None
    precision: str = "fp16"
    max_objects: int = 4
    via: str = "onnx"
    workspace_gb: float = 4.0


def export_verified(onnx_dir: Path, args: EngineBuild, clip: Path | None = None) -> dict:
    """Export every graph into ``onnx_dir`` and check it against PyTorch; the parity report, or a
    :class:`UserError` when a graph misses :data:`PARITY_BAR`."""
    from crn_live.runtime.onnx_export import export_all

    report = export_all(onnx_dir, args.model, args.detector, args.max_objects, clip)
    name, worst = max(report.items(), key=lambda item: item[1]["max_abs_err"])
    if worst["max_abs_err"] > PARITY_BAR:
        raise UserError(f"{name}.onnx differs from PyTorch by {worst['max_abs_err']:.2e} > "
                        f"{PARITY_BAR:g}: not building")
    return report


def build_target(gpu: str):
    """This machine's TensorRT target, or a one-line :class:`UserError`."""
    from crn_live.runtime.tensorrt_backend import cuda_target, tensorrt_version

    if gpu != "auto":
        if not gpu.isdigit():
            raise UserError(f"--gpu must be a CUDA device index or auto, got {gpu!r}")
        import torch

        if torch.cuda.is_available():
            torch.cuda.set_device(int(gpu))
    version = tensorrt_version()
    target = cuda_target()
    if target is None:
        missing = ("TensorRT is not installed and no NVIDIA GPU is visible" if version is None
                   else f"TensorRT {version} is installed but no NVIDIA GPU is visible")
        raise UserError(f"{missing}: engines need both (pip install .[gpu] on a GPU machine); "
                        f"--onnx-only exports and verifies the ONNX graphs here")
    return target


def build_all(target, onnx_dir: Path, args: "EngineBuild") -> Path:
    """Every engine of ``onnx_dir`` for ``target``, verified, then the manifest."""
    from tqdm import tqdm

    from crn_live.runtime.graphs import model_identity
    from crn_live.runtime.manifest import GraphEntry, Manifest, file_sha256, now_iso, write_manifest
    from crn_live.runtime.trt_build import build_engine, build_with_torch_tensorrt, precision_plan
    from crn_live.separation import BUNDLED_MODEL, Separator
    from crn_live.vision.detector import BUNDLED_DETECTOR, detector_checkpoint

    separator = Separator.load(args.model, "cpu")
    detector = detector_checkpoint(args.detector).model
    models = {"separator": model_identity(args.model or BUNDLED_MODEL, separator.config),
              "detector": model_identity(args.detector or BUNDLED_DETECTOR, detector.config)}
    folder = args.out / target.dir_name
    folder.mkdir(parents=True, exist_ok=True)
    plan = precision_plan(int(target.tensorrt.split(".")[0]), args.precision)
    cache = args.out / f"timing-{target.dir_name}.cache"
    graphs = sorted(p.stem for p in onnx_dir.glob("*.onnx"))
    entries = {}
    for graph in tqdm(graphs, desc="TensorRT engines", unit="engine"):
        profile = profile_for(graph, args.max_objects)
        engine = folder / f"{graph}.engine"
        source = onnx_dir / f"{graph}.onnx"
        if args.via == "torch-tensorrt":
            module, example = _torch_module(graph, separator, detector)
            info = build_with_torch_tensorrt(module, example, engine, precision=args.precision,
                                             min_batch=profile["min"], opt_batch=profile["opt"],
                                             max_batch=profile["max"])
        else:
            if plan["fp16_onnx"]:
                from crn_live.runtime.fp16 import to_fp16

                source = to_fp16(source, onnx_dir / "fp16" / f"{graph}.onnx")
            info = build_engine(source, engine, precision=args.precision,
                                min_batch=profile["min"], opt_batch=profile["opt"],
                                max_batch=profile["max"], timing_cache=cache,
                                workspace_gb=args.workspace_gb, log=tqdm.write)
        entries[graph] = GraphEntry(engine.name, "detector" if graph == "detector"
                                    else "separator", file_sha256(engine),
                                    _specs(info["inputs"]), _specs(info["outputs"]), profile)
    manifest = Manifest(target, args.precision, args.max_objects, models, entries, now_iso(),
                        _version(), {"via": args.via, "precision_plan": plan})
    errors = verify_engines(folder, manifest, onnx_dir, args.max_objects)
    bar = ENGINE_BARS[args.precision]
    manifest.extra["parity_vs_onnxruntime"] = errors
    write_manifest(folder, manifest)
    bad = {g: e for g, e in errors.items() if e["max_abs_err"] > bar}
    if bad:
        raise UserError(f"engines differ from onnxruntime beyond {bar:g}: "
                        f"{json.dumps(bad)} (see {folder}/manifest.json)")
    return folder


def _specs(tensors) -> tuple:
    from crn_live.runtime.base import TensorSpec

    return tuple(TensorSpec(t["name"], tuple(t["shape"]), t["dtype"]) for t in tensors)


def _torch_module(graph: str, separator, detector):
    """The PyTorch module and example inputs of ``graph`` (the torch-tensorrt route)."""
    import torch

    from crn_live.runtime.graphs import DETECTOR, VISUAL, separator_modules

    c = separator.config
    if graph == DETECTOR:
        d = detector.config
        return detector.eval(), (torch.rand(1, 3, d.input_height, d.input_width),)
    module = separator_modules(separator)[graph]
    if graph == VISUAL:
        return module, (torch.rand(2, 3, c.crop_size, c.crop_size),)
    return module, module.example_inputs(2)


def verify_engines(folder: Path, manifest, onnx_dir: Path, max_objects: int) -> dict:
    """Max / mean abs error of each engine against onnxruntime on random inputs at every batch
    size of its profile (each size twice: the second run replays a CUDA graph)."""
    from crn_live.runtime.onnx_backend import OnnxRuntimeBackend
    from crn_live.runtime.tensorrt_backend import TensorRTBackend

    rng = np.random.default_rng(0)
    errors = {}
    for graph, entry in manifest.graphs.items():
        reference = OnnxRuntimeBackend(onnx_dir / f"{graph}.onnx", graph)
        engine = TensorRTBackend(folder / entry.file, entry, graph)
        worst, means = 0.0, []
        for batch in range(entry.profile["min"], entry.profile["max"] + 1):
            feeds = _random_inputs(reference.inputs, batch, rng)
            want = reference.run(feeds)
            for _ in range(2):  # tensors by position: torch-tensorrt names outputs output0...
                got = list(engine.run(_by_position(feeds, reference, engine)).values())
                diff = np.concatenate([np.abs(g.astype(np.float32) - w).ravel()
                                       for g, w in zip(got, want.values())])
                worst = max(worst, float(diff.max()))
                means.append(float(diff.mean()))
        errors[graph] = {"max_abs_err": worst, "mean_abs_err": float(np.mean(means))}
    return errors


def _by_position(feeds: dict, reference, engine) -> dict:
    """``feeds`` (named as the ONNX graph's inputs) under the engine's input names."""
    names = dict(zip((s.name for s in reference.inputs), (s.name for s in engine.inputs)))
    return {names[k]: v for k, v in feeds.items() if k in names}


def _random_inputs(specs, batch: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    from crn_live.models.crn import MIX_EPS

    feeds = {}
    for s in specs:
        shape = (batch,) + tuple(s.shape[1:])
        if s.dtype == "int64":
            feeds[s.name] = np.zeros(shape, np.int64)
        elif s.name == "window_log_mix":
            continue
        else:
            feeds[s.name] = rng.random(shape, dtype=np.float32)
    if "window_mix_mag" in feeds:
        feeds["window_mix_mag"] *= 3
        feeds["window_log_mix"] = np.log(feeds["window_mix_mag"] + np.float32(MIX_EPS))
    elif any(s.name == "window_log_mix" for s in specs):  # the no-refinement step
        feeds["window_log_mix"] = np.log(rng.random((batch,) + tuple(specs[0].shape[1:]),
                                                    dtype=np.float32) * 3 + np.float32(MIX_EPS))
    return feeds


def _version() -> str:
    from crn_live import __version__

    return __version__
