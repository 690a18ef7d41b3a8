"""``--backend auto|tensorrt|onnxruntime|torch``: open every graph a job needs on one backend,
and say in one line which backend runs and why.

``auto`` picks TensorRT when engines built for this GPU, this TensorRT version and exactly these
models exist (``engines/<gpu>-sm<cc>-trt<version>/manifest.json``, :mod:`.manifest`), else
onnxruntime (graphs exported once per checkpoint into a cache folder), else PyTorch. An explicit
choice that cannot run here fails with one line (:class:`~crn_live.runtime.base.BackendError`).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Sequence

from crn_live.runtime.base import BACKEND_CHOICES, Backend, BackendError
from crn_live.runtime.graphs import DETECTOR, detector_specs, model_identity, separator_modules, \
    separator_specs
from crn_live.runtime.manifest import EngineMismatch, check_manifest, read_manifest

#: Where ``build_engines.py`` writes engines and where ``auto`` looks for them.
DEFAULT_ENGINES = Path("engines")
CACHE_ENV = "CRN_LIVE_CACHE"


@dataclasses.dataclass
class Runtime:
    """The opened graphs (``{graph: Backend}``), the backend's name and why it was chosen."""

    backend: str
    reason: str
    graphs: dict[str, Backend]

    def __getitem__(self, graph: str) -> Backend:
        return self.graphs[graph]

    def __contains__(self, graph: str) -> bool:
        return graph in self.graphs

    def describe(self) -> str:
        return f"backend {self.backend}: {self.reason}"


def cache_dir() -> Path:
    """``$CRN_LIVE_CACHE`` or ``~/.cache/crn-live`` (exported ONNX graphs, per checkpoint)."""
    root = os.environ.get(CACHE_ENV) or Path(os.environ.get("XDG_CACHE_HOME",
                                                           Path.home() / ".cache")) / "crn-live"
    return Path(root)


def onnx_graphs(separator, models: dict[str, dict[str, str]], detector=None,
                max_objects: int = 4, folder: Path | None = None) -> dict[str, Path]:
    """ONNX files of every graph of ``separator`` (and ``detector``): exported once per
    checkpoint into the cache, reused afterwards. ``models``: the :func:`model_identity` of
    each (``"separator"``, ``"detector"``), naming the cache folders."""
    from crn_live.runtime.onnx_export import export_detector, export_separator_step, export_visual

    root = Path(folder) if folder is not None else cache_dir() / "onnx"
    identity = models["separator"]
    sep_dir = root / f"separator-{identity['sha256'][:16]}-{identity['config_hash'][:8]}" \
                     f"-k{max_objects}"
    paths = {}
    for graph, module in separator_modules(separator).items():
        path = sep_dir / f"{graph}.onnx"
        if not path.is_file():
            if graph == "visual":
                export_visual(module, separator.config, path, max_objects)
            else:
                export_separator_step(module, path, max_objects)
        paths[graph] = path
    if detector is not None:
        dsha = models["detector"]["sha256"][:16]
        path = root / f"detector-{dsha}" / "detector.onnx"
        if not path.is_file():
            export_detector(detector, path)
        paths[DETECTOR] = path
    return paths


def open_runtime(choice: str = "auto", separator=None, separator_path: Path | None = None,
                 detector=None, detector_path: Path | None = None,
                 graphs: Sequence[str] | None = None, engines: Path = DEFAULT_ENGINES,
                 threads: int | None = None, max_objects: int = 4,
                 device: str = "cpu") -> Runtime:
    """Open ``graphs`` (default: all of the given models) on the chosen backend.

    ``separator``: a :class:`~crn_live.separation.Separator` loaded from ``separator_path``;
    ``detector``: an :class:`~crn_live.models.detector.InstrumentDetector` from
    ``detector_path`` (optional). ``device`` is the torch backend's device.
    """
    if choice not in BACKEND_CHOICES:
        raise BackendError(f"unknown backend {choice!r}: choose one of "
                           f"{', '.join(BACKEND_CHOICES)}")
    specs = dict(separator_specs(separator.config)) if separator is not None else {}
    if detector is not None:
        specs[DETECTOR] = detector_specs(detector.config)
    wanted = list(graphs) if graphs is not None else list(specs)
    unknown = [g for g in wanted if g not in specs]
    if unknown:
        raise BackendError(f"no model gives graph(s) {', '.join(unknown)}")
    models = {}
    if separator is not None:
        models["separator"] = model_identity(separator_path, separator.config)
    if detector is not None and DETECTOR in wanted:
        models["detector"] = model_identity(detector_path, detector.config)

    why_not_trt = ""
    if choice in ("auto", "tensorrt"):
        try:
            return _tensorrt(engines, models, wanted, specs)
        except BackendError as error:
            if choice == "tensorrt":
                raise
            why_not_trt = str(error).rstrip(".")
    if choice in ("auto", "onnxruntime"):
        from crn_live.runtime.onnx_backend import OnnxRuntimeBackend

        paths = onnx_graphs(separator, models, detector if DETECTOR in wanted else None,
                            max_objects)
        opened = {g: OnnxRuntimeBackend(paths[g], g, threads) for g in wanted}
        first = next(iter(opened.values()))
        what = f"onnxruntime on {first.device} ({first.session.get_providers()[0]})"
        reason = f"{why_not_trt}; using {what}" if why_not_trt else f"{what}, as asked"
        return Runtime("onnxruntime", reason, opened)
    from crn_live.runtime.torch_backend import TorchBackend

    modules = separator_modules(separator) if separator is not None else {}
    if detector is not None:
        modules[DETECTOR] = detector
    opened = {g: TorchBackend(modules[g], g, *specs[g], device=device, max_batch=max_objects)
              for g in wanted}
    import torch

    return Runtime("torch", f"PyTorch {torch.__version__} eager on {device}, as asked", opened)


class Renamed:
    """A backend whose tensors carry other names (a torch-tensorrt engine names its outputs
    ``output0``...), under the graph's names, matched by position."""

    def __init__(self, backend: Backend, inputs: tuple, outputs: tuple) -> None:
        self.backend = backend
        self.name, self.device, self.graph = backend.name, backend.device, backend.graph
        self.inputs, self.outputs = tuple(inputs), tuple(outputs)
        self._in = {s.name: b.name for s, b in zip(inputs, backend.inputs)}
        self._out = {b.name: s.name for s, b in zip(outputs, backend.outputs)}

    def run(self, feeds):
        out = self.backend.run({self._in[k]: v for k, v in feeds.items() if k in self._in})
        return {self._out[k]: v for k, v in out.items()}

    def describe(self) -> str:
        return self.backend.describe()


def _named(backend: Backend, spec: tuple) -> Backend:
    inputs, outputs = spec
    same = [s.name for s in backend.inputs] == [s.name for s in inputs] and \
        [s.name for s in backend.outputs] == [s.name for s in outputs]
    return backend if same else Renamed(backend, inputs, outputs)


def _tensorrt(engines: Path, models: dict, wanted: list[str], specs: dict) -> Runtime:
    """TensorRT backends on the engines built for this machine, or :class:`BackendError`
    saying in one line why not."""
    from crn_live.runtime.tensorrt_backend import TensorRTBackend, cuda_target, tensorrt_version

    target = cuda_target()
    if target is None:
        missing = "TensorRT" if tensorrt_version() is None else "an NVIDIA GPU"
        raise BackendError(f"no TensorRT engines: {missing} is not available here "
                           f"(TensorRT needs an NVIDIA GPU and pip install .[gpu])")
    folder = Path(engines) / target.dir_name
    if not folder.is_dir():
        others = sorted(p.name for p in Path(engines).glob("*-sm*-trt*") if p.is_dir())
        held = f" (it holds only {', '.join(others)})" if others else ""
        raise BackendError(f"no engines for {target.gpu} (sm{target.compute_capability}) with "
                           f"TensorRT {target.tensorrt} in {engines}/{held}: python "
                           f"export/build_engines.py builds them")
    try:
        manifest = read_manifest(folder)
        check_manifest(manifest, target, models, folder, tuple(wanted))
    except EngineMismatch as error:
        raise BackendError(str(error)) from None
    opened = {g: _named(TensorRTBackend(folder / manifest.graphs[g].file, manifest.graphs[g], g),
                        specs[g]) for g in wanted}
    return Runtime("tensorrt", f"TensorRT {target.tensorrt} engines for {target.gpu} "
                               f"({manifest.precision}, {folder})", opened)
