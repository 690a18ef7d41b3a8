"""Separation quality of a model on clip folders, beside the mixture and the oracle mask.

For every clip (its own ensemble mix, 2 or 3 instruments), at the model rate, with BSS Eval
(:func:`crn_live.metrics.bss_eval`, sources in slot order):

* ``mixture`` - the unprocessed mixture as every source's estimate (the SDRi baseline);
* ``oracle_irm`` - ideal ratio masks on the model's log bins, limited to [0, 1] and applied
  through the same unwarp / mixture-phase path as the model: the ceiling of any mask the model
  can output (:func:`crn_live.dsp.masking.oracle_log_masks`);
* ``offline`` - the model on half-overlapping windows, masks averaged (the reference);
* ``streaming`` - the chunked causal model, the very windows of a live run, chunk by chunk.

Object embeddings come from crops of each instrument's boxes, two per second of video. Sources
silent in a clip have no defined SDR and are left out (and counted).
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Iterable

import numpy as np

from crn_live.data.clips import Clip, ClipError, spaced_frames
from crn_live.dsp.masking import oracle_log_masks
from crn_live.metrics import audible, bss_eval
from crn_live.separation import Separator

METRICS = ("sdr", "sir", "sar", "sdri")


@dataclasses.dataclass(frozen=True)
class ClipScores:
    """Per-source metrics of each method for one clip."""

    clip: str
    sources: int
    audible: int
    classes: tuple[str, ...]
    per_source: dict[str, dict[str, list[float]]]  # method -> metric -> values (audible only)

    def as_dict(self) -> dict:
        return {"clip": self.clip, "sources": self.sources, "audible_sources": self.audible,
                "classes": list(self.classes),
                "methods": {m: {k: _mean(v) for k, v in scores.items()}
                            for m, scores in self.per_source.items()},
                "per_source": self.per_source}


def clip_embeddings(separator: Separator, clip: Clip) -> np.ndarray:
    """``(slots, embed_dim)``: each slot's mean embedding over crops two per second."""
    crops = clip.crops(spaced_frames(int(clip.meta["n_frames"]), clip.fps),
                       separator.config.crop_size)
    return np.stack([separator.embed(crops[:, k]) for k in range(len(clip.slots))])


def evaluate_clip(separator: Separator, clip: Clip, methods: tuple[str, ...]) -> ClipScores:
    """Score ``methods`` (of mixture, oracle_irm, offline, streaming) on one clip."""
    rate = separator.rate
    mix = clip.mix(rate)
    stems = clip.stems(rate)
    n = min(len(mix), stems.shape[-1])
    mix, stems = mix[:n], stems[:, :n]
    if not (np.isfinite(mix).all() and np.isfinite(stems).all()):
        raise ClipError(f"{clip.folder} has non-finite samples (NaN/inf) in its mix or stems: "
                        f"regenerate it with this crn-synth")
    keep = audible(stems)
    classes = tuple(s.class_name for s in clip.slots)
    empty = {m: {k: [] for k in METRICS} for m in methods}
    if not keep.any():
        return ClipScores(clip.name, len(clip.slots), 0, classes, empty)
    estimates: dict[str, np.ndarray] = {"mixture": np.repeat(mix[None], len(stems), 0)}
    if "oracle_irm" in methods:
        masks = oracle_log_masks(mix, stems, separator.config.audio)
        estimates["oracle_irm"] = separator.apply(mix, rate, masks).sources
    model_modes = [m for m in methods if m in ("offline", "streaming")]
    if model_modes:
        embeddings = clip_embeddings(separator, clip)
        mix_mag = separator.spectrogram(mix)
        for mode in model_modes:
            masks = separator.masks(mix_mag, embeddings, mode)
            estimates[mode] = separator.apply(mix, rate, masks).sources
    refs = stems[keep]
    base = bss_eval(refs, estimates["mixture"][keep])["sdr"]
    scores = {}
    for method in methods:
        result = bss_eval(refs, estimates[method][keep])
        result["sdri"] = result["sdr"] - base
        scores[method] = {k: [round(float(v), 3) for v in result[k]] for k in METRICS}
    return ClipScores(clip.name, len(clip.slots), int(keep.sum()), classes, scores)


def summarise(clips: Iterable[ClipScores], methods: tuple[str, ...]) -> dict:
    """Means over all audible sources: overall, by number of sources per clip, and by class."""
    clips = list(clips)

    def means(selected: list[ClipScores]) -> dict:
        return {m: {k: _mean([v for c in selected for v in c.per_source[m][k]])
                    for k in METRICS} for m in methods}

    by_sources = {str(n): {"clips": sum(c.sources == n for c in clips),
                           "methods": means([c for c in clips if c.sources == n])}
                  for n in sorted({c.sources for c in clips})}
    return {"methods": means(clips), "by_sources": by_sources,
            "sources_scored": sum(c.audible for c in clips),
            "silent_sources_skipped": sum(c.sources - c.audible for c in clips)}


def evaluate(separator: Separator, clips: list[Clip], streaming: bool = False,
             progress: Callable[[ClipScores], None] | None = None) -> dict:
    """The ``crn-eval`` report for ``clips`` (see the module docstring)."""
    methods = ("mixture", "oracle_irm", "offline") + (("streaming",) if streaming else ())
    scored = []
    for clip in clips:
        scored.append(evaluate_clip(separator, clip, methods))
        if progress is not None:
            progress(scored[-1])
    report = summarise(scored, methods)
    report["clips"] = [c.as_dict() for c in scored]
    config = separator.config
    report["model"] = {"size": config.size, "algorithmic_latency_ms":
                       round(config.algorithmic_latency_ms, 1),
                       "refine_iterations": config.refine_iterations,
                       "train_step": separator.meta.get("step")}
    if streaming:
        report["streaming_minus_offline_sdr"] = round(
            report["methods"]["streaming"]["sdr"] - report["methods"]["offline"]["sdr"], 3)
    return report


def _mean(values: list[float]) -> float:
    return round(float(np.mean(values)), 3) if values else float("nan")
