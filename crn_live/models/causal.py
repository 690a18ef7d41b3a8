"""Chunked causal CRN: the CRN run over a sliding window of the most recent frames.

One :meth:`ChunkedCausalCRN.step` sees the newest ``context_frames`` frames (ending
``lookahead_frames`` after the newest frame it emits) and returns the final refined masks of
``chunk_frames`` frames::

    window:  [ ........ history ........ | chunk_frames | lookahead_frames ]
             <------------------- context_frames ------------------------->

The cycle refinement is unrolled inside the step, so its graph has no data-dependent control
flow; ``objects`` is the only dynamic axis. :meth:`ChunkedCausalCRN.run_offline` slides the
window by ``chunk_frames`` over a whole sequence, starting from silent history (``mix_mag`` 0,
``log_mix`` = ``log_magnitude(0)``) and flushing with silent lookahead: exactly the windows a
live engine that starts from silence builds. A frame ``t`` changes only the steps whose window
contains it, i.e. masks of frames ``>= chunk_frames * ceil((t - lookahead_frames + 1) /
chunk_frames) - chunk_frames``, never earlier ones.

Algorithmic latency (derivation in :class:`~crn_live.config.ModelConfig`): ``n_fft +
(chunk_frames - 1 + lookahead_frames) * hop`` samples at 11025 Hz:

* small (chunk 2, lookahead 0): 1022 + 1 * 256 = 1278 samples = 115.9 ms;
* base (chunk 4, lookahead 0): 1022 + 3 * 256 = 1790 samples = 162.4 ms.

The context length adds no latency, only compute. Measured ``step`` time of the small config
(ngf 16, 64-frame context, 3 refinement cycles, 5.0 M parameters) on 2 threads of an AMD EPYC
(AVX-512) VM, median of 50 steps, against the 46.4 ms of audio a 2-frame chunk covers:

=============  ======================  ======================
objects        torch 2.13 (eager)      onnxruntime 1.32
=============  ======================  ======================
1              12.2-12.6 ms (27 %)     3.5-4.0 ms (8 %)
2              15.9-16.0 ms (34 %)     6.8-7.3 ms (15 %)
=============  ======================  ======================

Alternatives measured (2 objects, onnxruntime): ngf 24: 16 ms; ngf 32 with 4-frame chunks:
24 ms; 1 refinement cycle instead of 3: 3.5 ms. A 4-frame chunk costs the same per step but
adds 46 ms of latency. The base config takes about 0.5 s per step on this CPU (GPU only).
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from crn_live.config import ModelConfig
from crn_live.models.crn import CRN, log_magnitude

#: Input and output names of the exported step graph (objects is the dynamic axis).
STEP_INPUT_NAMES = ("window_log_mix", "window_mix_mag", "embeddings", "mixture_ids")
STEP_OUTPUT_NAMES = ("masks",)


class ChunkedCausalCRN(nn.Module):
    """A :class:`CRN` applied to fixed ``context_frames`` windows, emitting ``chunk_frames``.

    Holds the CRN as ``self.crn`` (same parameters: weights trained with :class:`CRN` on
    ``context_frames`` windows load directly). ``forward`` is :meth:`step`, for export.
    """

    def __init__(self, config: ModelConfig, crn: CRN | None = None,
                 iterations: int | None = None) -> None:
        super().__init__()
        self.config = config
        self.crn = CRN(config) if crn is None else crn
        #: Refinement cycles of :meth:`forward` (the exported graph); ``None``: the config's.
        self.iterations = iterations

    def with_iterations(self, iterations: int) -> "ChunkedCausalCRN":
        """The same network (shared parameters) whose :meth:`forward` runs ``iterations``
        refinement cycles: the cheaper graphs a live engine falls back to when behind."""
        if not 0 <= iterations <= self.config.refine_iterations:
            raise ValueError(f"iterations must be in 0..{self.config.refine_iterations}")
        return ChunkedCausalCRN(self.config, self.crn, iterations).eval()

    @classmethod
    def from_crn(cls, crn: CRN) -> "ChunkedCausalCRN":
        """Wrap an existing (e.g. trained) CRN; parameters are shared, not copied."""
        return cls(crn.config, crn)

    @property
    def chunk_slice(self) -> slice:
        """Frames of the window whose masks a step emits."""
        end = self.config.context_frames - self.config.lookahead_frames
        return slice(end - self.config.chunk_frames, end)

    def step(
        self,
        window_log_mix: torch.Tensor,
        window_mix_mag: torch.Tensor,
        embeddings: torch.Tensor,
        mixture_ids: torch.Tensor,
        iterations: int | None = None,
    ) -> torch.Tensor:
        """Final masks of the newest chunk.

        ``window_log_mix`` (:func:`~crn_live.models.crn.log_magnitude` of ``window_mix_mag``),
        ``window_mix_mag``: ``(objects, 1, log_bins, context_frames)``; ``embeddings``
        ``(objects, embed_dim)``; ``mixture_ids`` ``(objects,)`` long (all zero for one live
        mixture) -> ``(objects, 1, log_bins, chunk_frames)``. ``iterations`` defaults to
        ``config.refine_iterations`` (fewer: cheaper, when the worker falls behind).
        """
        frames = window_log_mix.shape[-1]
        if not torch.jit.is_tracing() and frames != self.config.context_frames:
            raise ValueError(f"window must have {self.config.context_frames} frames, got {frames}")
        masks = self.crn(window_log_mix, window_mix_mag, embeddings, mixture_ids, iterations)
        return masks[-1][..., self.chunk_slice]

    def forward(
        self,
        window_log_mix: torch.Tensor,
        window_mix_mag: torch.Tensor,
        embeddings: torch.Tensor,
        mixture_ids: torch.Tensor,
    ) -> torch.Tensor:
        """Same as :meth:`step` with :attr:`iterations` cycles (the exported graph)."""
        return self.step(window_log_mix, window_mix_mag, embeddings, mixture_ids,
                         self.iterations)

    def run_offline(
        self,
        log_mix: torch.Tensor,
        mix_mag: torch.Tensor,
        embeddings: torch.Tensor,
        mixture_ids: torch.Tensor,
        iterations: int | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> torch.Tensor:
        """Stream a whole sequence through :meth:`step`, as live processing would.

        ``log_mix``, ``mix_mag``: ``(objects, 1, log_bins, frames)`` (any ``frames >= 1``);
        ``embeddings`` ``(objects, embed_dim)``; ``mixture_ids`` ``(objects,)`` ->
        masks ``(objects, 1, log_bins, frames)``. ``progress(done, total)`` after each step.
        """
        frames = log_mix.shape[-1]
        padded_log, padded_mag = self._pad_for_streaming(log_mix, mix_mag)
        context, chunk = self.config.context_frames, self.config.chunk_frames
        chunks = []
        starts = range(0, frames, chunk)
        for start in starts:
            window = slice(start, start + context)
            chunks.append(self.step(padded_log[..., window], padded_mag[..., window],
                                    embeddings, mixture_ids, iterations))
            if progress is not None:
                progress(len(chunks), len(starts))
        return torch.cat(chunks, dim=-1)[..., :frames]

    def _pad_for_streaming(
        self, log_mix: torch.Tensor, mix_mag: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Silent history on the left, silent lookahead (and chunk rounding) on the right.

        ``(objects, 1, bins, frames)`` -> ``(objects, 1, bins, history + frames + right)``;
        window ``j`` of the padded pair is ``[j*chunk, j*chunk + context)``.
        """
        cfg = self.config
        history = cfg.context_frames - cfg.chunk_frames - cfg.lookahead_frames
        right = cfg.lookahead_frames + (-log_mix.shape[-1]) % cfg.chunk_frames
        silent_log = float(log_magnitude(torch.zeros(())))
        padded_log = F.pad(log_mix, (history, right), value=silent_log)
        padded_mag = F.pad(mix_mag, (history, right), value=0.0)
        return padded_log, padded_mag

    def example_inputs(
        self, objects: int = 1
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Random step inputs for ``objects`` objects of one mixture (tracing, benchmarks)."""
        shape = (objects, 1, self.config.log_bins, self.config.context_frames)
        mix_mag = torch.rand(shape)
        embeddings = torch.randn(objects, self.config.embed_dim)
        return log_magnitude(mix_mag), mix_mag, embeddings, torch.zeros(objects, dtype=torch.long)
