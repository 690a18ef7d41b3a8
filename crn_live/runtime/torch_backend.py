"""The reference backend: a PyTorch module run eagerly (CPU or CUDA)."""

from __future__ import annotations

from typing import Mapping

import numpy as np

from crn_live.runtime.base import TensorSpec, check_feeds


class TorchBackend:
    """Runs ``module(*inputs in spec order)`` under ``torch.no_grad`` on ``device``."""

    name = "torch"

    def __init__(self, module, graph: str, inputs: tuple[TensorSpec, ...],
                 outputs: tuple[TensorSpec, ...], device: str = "cpu",
                 max_batch: int | None = None) -> None:
        import torch

        self.device = str(torch.device(device))
        self.module = module.to(self.device).eval()
        self.graph, self.inputs, self.outputs = graph, tuple(inputs), tuple(outputs)
        self.max_batch = max_batch

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        import torch

        check_feeds(self.inputs, feeds, self.max_batch)
        with torch.no_grad():
            args = [torch.from_numpy(np.ascontiguousarray(feeds[s.name])).to(self.device)
                    for s in self.inputs]
            out = self.module(*args)
        out = out if isinstance(out, (tuple, list)) else (out,)
        return {s.name: t.detach().cpu().numpy() for s, t in zip(self.outputs, out)}

    def describe(self) -> str:
        import torch

        return f"torch {torch.__version__} eager on {self.device} ({self.graph})"
