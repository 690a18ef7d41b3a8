"""Running the networks: one :class:`~crn_live.runtime.base.Backend` interface over PyTorch,
onnxruntime and TensorRT, the graphs they run, engine manifests and ``--backend auto``."""

from crn_live.runtime.base import BACKEND_CHOICES, BACKENDS, Backend, BackendError, TensorSpec
from crn_live.runtime.select import Runtime, open_runtime

__all__ = ["BACKENDS", "BACKEND_CHOICES", "Backend", "BackendError", "Runtime", "TensorSpec",
           "open_runtime"]
