"""The graphs crn-live runs, by name, with their tensors: one place for export, engines and
backends to agree on.

* ``visual``: ``crops (objects, 3, S, S)`` float RGB in ``[0, 1]`` -> ``embeddings``;
* ``separator_step``: one hop of the chunked causal separator with all its refinement cycles;
  ``separator_step_r<k>``: the same with only ``k`` cycles (cheaper; the live engine falls back
  to them when a hop misses its deadline), for ``k`` in :func:`step_levels`;
* ``detector``: ``image (frames, 3, H, W)`` -> ``scores``, ``boxes``.
"""

from __future__ import annotations

from pathlib import Path

from crn_live.config import DetectorConfig, ModelConfig, config_hash
from crn_live.runtime.base import TensorSpec
from crn_live.runtime.manifest import file_sha256

VISUAL = "visual"
STEP = "separator_step"
DETECTOR = "detector"


def step_graph(iterations: int, config: ModelConfig) -> str:
    """Graph name of the step with ``iterations`` refinement cycles."""
    return STEP if iterations == config.refine_iterations else f"{STEP}_r{iterations}"


def step_levels(config: ModelConfig) -> tuple[int, ...]:
    """Refinement cycles of the step graphs, most first: all, one, none (``(3, 1, 0)``)."""
    return tuple(sorted({config.refine_iterations, min(1, config.refine_iterations), 0},
                        reverse=True))


def separator_specs(config: ModelConfig) -> dict[str, tuple[tuple[TensorSpec, ...],
                                                             tuple[TensorSpec, ...]]]:
    """``{graph: (inputs, outputs)}`` of the visual encoder and every step level."""
    window = (-1, 1, config.log_bins, config.context_frames)
    step = ((TensorSpec("window_log_mix", window), TensorSpec("window_mix_mag", window),
             TensorSpec("embeddings", (-1, config.embed_dim)),
             TensorSpec("mixture_ids", (-1,), "int64")),
            (TensorSpec("masks", (-1, 1, config.log_bins, config.chunk_frames)),))
    specs = {VISUAL: ((TensorSpec("crops", (-1, 3, config.crop_size, config.crop_size)),),
                      (TensorSpec("embeddings", (-1, config.embed_dim)),))}
    for k in step_levels(config):
        specs[step_graph(k, config)] = step
    return specs


def detector_specs(config: DetectorConfig) -> tuple[tuple[TensorSpec, ...],
                                                     tuple[TensorSpec, ...]]:
    h, w = config.output_size
    return ((TensorSpec("image", (-1, 3, config.input_height, config.input_width)),),
            (TensorSpec("scores", (-1, len(config.classes), h, w)),
             TensorSpec("boxes", (-1, 4, h, w))))


def separator_modules(separator) -> dict:
    """``{graph: torch module}`` of a :class:`~crn_live.separation.Separator` (shared weights):
    each module's ``forward`` takes the graph's inputs in order."""
    modules = {VISUAL: separator.visual}
    for k in step_levels(separator.config):
        modules[step_graph(k, separator.config)] = separator.causal.with_iterations(k)
    return modules


def model_identity(path: str | Path, config) -> dict[str, str]:
    """What engines built from a checkpoint are tied to: its config hash and file hash."""
    return {"config_hash": config_hash(config), "sha256": file_sha256(path)}
