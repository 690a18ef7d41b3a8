"""One small interface for running a network: named numpy inputs -> named numpy outputs.

Every backend (:mod:`~crn_live.runtime.torch_backend`, :mod:`~crn_live.runtime.onnx_backend`,
:mod:`~crn_live.runtime.tensorrt_backend`) runs one *graph* (``visual``, ``separator_step``,
``separator_step_r1``, ``detector``, ...) and exposes the same three things:

* ``inputs`` / ``outputs``: :class:`TensorSpec` per name (``-1`` marks the dynamic batch axis);
* ``run(feeds) -> {name: array}``: float32 / int64 numpy arrays in, float32 numpy arrays out.
  Outputs may be views of buffers the backend reuses: copy them before the next ``run`` if they
  must outlive it;
* ``describe()``: one line naming the backend, its device and graph.

No Qt and no devices here.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping, Protocol, runtime_checkable

import numpy as np

from crn_live.errors import UserError

#: Names of the backends, fastest first (the order ``--backend auto`` tries them).
BACKENDS = ("tensorrt", "onnxruntime", "torch")
BACKEND_CHOICES = ("auto",) + BACKENDS


class BackendError(UserError):
    """A backend cannot run here (missing package, no GPU, refused engine); one line."""


@dataclasses.dataclass(frozen=True)
class TensorSpec:
    """A named tensor: ``shape`` with ``-1`` on the dynamic batch axis, numpy ``dtype`` name."""

    name: str
    shape: tuple[int, ...]
    dtype: str = "float32"

    def to_dict(self) -> dict:
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype}

    @classmethod
    def from_dict(cls, data: Mapping) -> "TensorSpec":
        return cls(str(data["name"]), tuple(int(d) for d in data["shape"]),
                   str(data.get("dtype", "float32")))

    def check(self, array: np.ndarray, max_batch: int | None = None) -> None:
        """Raise ``ValueError`` unless ``array`` fits this spec (and ``max_batch``)."""
        if array.dtype != np.dtype(self.dtype):
            raise ValueError(f"{self.name} must be {self.dtype}, got {array.dtype}")
        if array.ndim != len(self.shape) or any(
                want not in (-1, got) for want, got in zip(self.shape, array.shape)):
            raise ValueError(f"{self.name} must have shape {self.shape}, got {array.shape}")
        if max_batch is not None and self.shape and self.shape[0] == -1 \
                and not 1 <= array.shape[0] <= max_batch:
            raise ValueError(f"{self.name}: batch {array.shape[0]} outside 1..{max_batch}")


@runtime_checkable
class Backend(Protocol):
    """What the engine, the benchmarks and the parity report use."""

    name: str
    device: str
    graph: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Outputs for ``feeds`` (every input name, batch within the graph's range)."""
        ...

    def describe(self) -> str:
        """One line: backend, device, graph."""
        ...


def check_feeds(specs: tuple[TensorSpec, ...], feeds: Mapping[str, np.ndarray],
                max_batch: int | None = None) -> None:
    """Every spec has a matching array in ``feeds`` (names, dtypes, shapes, batch range)."""
    missing = [s.name for s in specs if s.name not in feeds]
    if missing:
        raise ValueError(f"missing inputs: {', '.join(missing)}")
    for spec in specs:
        spec.check(np.asarray(feeds[spec.name]), max_batch)
