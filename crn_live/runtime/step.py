"""The separator step through any backend: one window in, the newest chunk's masks out; and a
whole recording streamed window by window (what a live engine computes, for parity reports)."""

from __future__ import annotations

from typing import Callable

import numpy as np

from crn_live.config import ModelConfig
from crn_live.models.crn import MIX_EPS
from crn_live.runtime.base import Backend

#: ``log_magnitude`` of digital silence: the network input of silent history.
SILENT_LOG = float(np.log(np.float32(MIX_EPS)))


def step_feeds(window_mag: np.ndarray, embeddings: np.ndarray,
               mixture_ids: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Step inputs for ``window_mag (objects, 1, log_bins, context)`` float32 (one mixture
    repeated per object), ``embeddings (objects, embed_dim)``."""
    window_mag = np.ascontiguousarray(window_mag, np.float32)
    ids = np.zeros(len(embeddings), np.int64) if mixture_ids is None else mixture_ids
    return {"window_log_mix": np.log(window_mag + np.float32(MIX_EPS)),
            "window_mix_mag": window_mag,
            "embeddings": np.ascontiguousarray(embeddings, np.float32), "mixture_ids": ids}


def stream_masks(backend: Backend, config: ModelConfig, mix_mag: np.ndarray,
                 embeddings: np.ndarray,
                 progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Masks ``(objects, log_bins, frames)`` of one mixture ``mix_mag (log_bins, frames)``,
    computed chunk by chunk from silence exactly like
    :meth:`~crn_live.models.ChunkedCausalCRN.run_offline`, on ``backend``."""
    objects, frames = len(embeddings), mix_mag.shape[-1]
    context, chunk = config.context_frames, config.chunk_frames
    history = context - chunk - config.lookahead_frames
    right = config.lookahead_frames + (-frames) % chunk
    padded = np.zeros((config.log_bins, history + frames + right), np.float32)
    padded[:, history:history + frames] = mix_mag
    out = np.zeros((objects, config.log_bins, frames + (-frames) % chunk), np.float32)
    starts = range(0, frames, chunk)
    for n, start in enumerate(starts):
        window = np.broadcast_to(padded[None, None, :, start:start + context],
                                 (objects, 1, config.log_bins, context))
        masks = backend.run(step_feeds(window, embeddings))["masks"]
        out[:, :, start:start + chunk] = masks[:, 0]
        if progress is not None:
            progress(n + 1, len(starts))
    return out[..., :frames]
