"""onnxruntime backend: the CPU default (and CUDA through its execution provider when the
installed onnxruntime has one and a GPU is present)."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np

from crn_live.runtime.base import BackendError, TensorSpec, check_feeds

_DTYPES = {"tensor(float)": "float32", "tensor(int64)": "int64", "tensor(float16)": "float16",
           "tensor(int32)": "int32"}


def providers(prefer_cuda: bool = True) -> list[str]:
    """Execution providers to ask for: CUDA first when available, always CPU."""
    import onnxruntime

    available = onnxruntime.get_available_providers()
    chosen = ["CUDAExecutionProvider"] if prefer_cuda and "CUDAExecutionProvider" in available \
        else []
    return chosen + ["CPUExecutionProvider"]


class OnnxRuntimeBackend:
    """An onnxruntime ``InferenceSession`` on one graph file.

    ``threads``: intra-op threads (default: onnxruntime's choice, one per core). Inputs and
    outputs are read from the graph itself; ``max_batch`` from its metadata when present.
    """

    name = "onnxruntime"

    def __init__(self, path: str | Path, graph: str | None = None, threads: int | None = None,
                 prefer_cuda: bool = True) -> None:
        try:
            import onnxruntime
        except ImportError:  # pragma: no cover - a core dependency
            raise BackendError("onnxruntime is not installed: pip install onnxruntime") from None
        path = Path(path)
        if not path.is_file():
            raise BackendError(f"no ONNX graph at {path}: run python export/build_engines.py "
                               f"--onnx-only")
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        try:
            self.session = onnxruntime.InferenceSession(str(path), options,
                                                        providers=providers(prefer_cuda))
        except Exception as error:  # onnxruntime raises its own Fail/InvalidGraph types
            raise BackendError(f"onnxruntime cannot load {path}: "
                               f"{str(error).splitlines()[0]}") from None
        self.path = path
        self.graph = graph or path.stem
        self.device = "cuda" if self.session.get_providers()[0].startswith("CUDA") else "cpu"
        self.inputs = tuple(_spec(a) for a in self.session.get_inputs())
        self.outputs = tuple(_spec(a) for a in self.session.get_outputs())
        meta = self.session.get_modelmeta().custom_metadata_map
        self.max_batch = int(meta["crn_live.max_objects"]) \
            if "crn_live.max_objects" in meta else None
        self.metadata = dict(meta)
        self._names = [s.name for s in self.outputs]

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        check_feeds(self.inputs, feeds)
        out = self.session.run(self._names, {s.name: feeds[s.name] for s in self.inputs})
        return dict(zip(self._names, out))

    def describe(self) -> str:
        import onnxruntime

        return (f"onnxruntime {onnxruntime.__version__} on {self.device} "
                f"({self.session.get_providers()[0]}, {self.graph})")


def _spec(arg) -> TensorSpec:
    shape = tuple(d if isinstance(d, int) else -1 for d in arg.shape)
    return TensorSpec(arg.name, shape, _DTYPES.get(arg.type, arg.type))
