"""Separation quality of a model on clip folders, beside the mixture and the oracle mask.

For every clip (its own ensemble mix, 2 or 3 instruments), at the model rate, with BSS Eval
(:func:`crn_live.training.metrics.bss_eval`, sources in slot order):

* ``mixture`` - the unprocessed mixture as every source's estimate (the SDRi baseline);
* ``oracle_irm`` - ideal ratio masks on the model's log bins, limited to [0, 1] and applied
  through the same unwarp / mixture-phase path as the model: the ceiling of any mask the model
  can output (:func:`crn_live.dsp.masking.oracle_log_masks`);
* ``offline`` - the model on half-overlapping windows, masks averaged (the reference);
* ``streaming`` - the chunked causal model, the very windows of a live run, chunk by chunk;
* with a detector, ``offline_detected`` / ``streaming_detected`` - the same, but the objects are
  what the detector + tracker found in the video (:func:`crn_live.vision.video.track_video`),
  not the clip's boxes. Each clip instrument is paired with the track of its class that overlaps
  its boxes most (Hungarian on mean IoU, at least :data:`MIN_MATCH_IOU`); an instrument no
  track found gets the residual (what the app would leave in "everything else"), and extra
  tracks are separated too, taking their share of the mixture, as they would live.

Object embeddings come from crops of each instrument's boxes, two per second of video. Sources
silent in a clip have no defined SDR and are left out (and counted).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable, Iterable

import numpy as np

from crn_live.data.clips import Clip, ClipError
from crn_live.dsp.masking import oracle_log_masks
from crn_live.separation import Separator, clip_embeddings
from crn_live.training.metrics import audible, bss_eval
from crn_live.vision.average_precision import mean_average_precision
from crn_live.vision.decode import Detections
from crn_live.vision.frames import FrameSet

METRICS = ("sdr", "sir", "sar", "sdri")
#: Mean IoU over the video a track needs with an instrument's boxes to stand for it.
MIN_MATCH_IOU = 0.3


@dataclasses.dataclass(frozen=True)
class ClipScores:
    """Per-source metrics of each method for one clip."""

    clip: str
    sources: int
    audible: int
    classes: tuple[str, ...]
    per_source: dict[str, dict[str, list[float]]]  # method -> metric -> values (audible only)
    detection: dict | None = None

    def as_dict(self) -> dict:
        out = {"clip": self.clip, "sources": self.sources, "audible_sources": self.audible,
               "classes": list(self.classes),
               "methods": {m: {k: _mean(v) for k, v in scores.items()}
                           for m, scores in self.per_source.items()},
               "per_source": self.per_source}
        if self.detection is not None:
            out["detection"] = self.detection
        return out


def match_tracks(clip: Clip, tracks: list) -> tuple[list[int | None], list[float]]:
    """For each slot of ``clip``, the index of the track standing for it (or None), and the
    mean IoU of that pairing over the frames where the track was visible."""
    from scipy.optimize import linear_sum_assignment

    from crn_live.vision.decode import box_iou

    iou = np.zeros((len(clip.slots), len(tracks)))
    for i, slot in enumerate(clip.slots):
        for j, track in enumerate(tracks):
            if track.class_name != slot.class_name:
                continue
            frames = [f for f in track.boxes if f < len(slot.boxes)]
            if frames:
                iou[i, j] = float(np.mean([box_iou(slot.boxes[f], track.boxes[f])[0, 0]
                                           for f in frames]))
    pairs: list[int | None] = [None] * len(clip.slots)
    quality = [0.0] * len(clip.slots)
    if tracks:
        for i, j in zip(*linear_sum_assignment(-iou)):
            if iou[i, j] >= MIN_MATCH_IOU:
                pairs[i], quality[i] = int(j), round(float(iou[i, j]), 3)
    return pairs, quality


def _detected_estimates(separator: Separator, clip: Clip, detector, mix: np.ndarray,
                        mix_mag: np.ndarray, modes: list[str]) -> tuple[dict, dict]:
    """``{f"{mode}_detected": (slots, samples)}`` and the clip's detection summary."""
    from crn_live.vision.video import track_video

    scan = track_video(clip.folder / "video.mp4", detector, separator.config.crop_size)
    pairs, quality = match_tracks(clip, scan.tracks)
    estimates = {}
    for mode in modes:
        if not scan.tracks:  # nothing found: everything stays in the residual, the mixture
            estimates[f"{mode}_detected"] = np.repeat(mix[None], len(clip.slots), 0)
            continue
        embeddings = np.stack([separator.embed(t.crops) for t in scan.tracks])
        result = separator.apply(mix, separator.rate,
                                 separator.masks(mix_mag, embeddings, mode))
        estimates[f"{mode}_detected"] = np.stack([
            result.sources[j] if j is not None else result.residual for j in pairs])
    summary = {"tracks": [{"class": t.class_name, "score": round(t.score, 3),
                           "frames": len(t.boxes)} for t in scan.tracks],
               "slot_track": pairs, "slot_iou": quality,
               "matched": sum(j is not None for j in pairs),
               "extra_tracks": len(scan.tracks) - sum(j is not None for j in pairs)}
    return estimates, summary


def evaluate_clip(separator: Separator, clip: Clip, methods: tuple[str, ...],
                  detector=None) -> ClipScores:
    """Score ``methods`` (of mixture, oracle_irm, offline, streaming, and their ``_detected``
    forms with a ``detector``) on one clip."""
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
    detection = None
    if model_modes:
        embeddings = clip_embeddings(separator, clip)
        mix_mag = separator.spectrogram(mix)
        for mode in model_modes:
            masks = separator.masks(mix_mag, embeddings, mode)
            estimates[mode] = separator.apply(mix, rate, masks).sources
        if detector is not None:
            found, detection = _detected_estimates(separator, clip, detector, mix, mix_mag,
                                                   model_modes)
            estimates.update({k: v[:, :n] for k, v in found.items()})
    refs = stems[keep]
    base = bss_eval(refs, estimates["mixture"][keep])["sdr"]
    scores = {}
    for method in methods:
        result = bss_eval(refs, estimates[method][keep])
        result["sdri"] = result["sdr"] - base
        scores[method] = {k: [round(float(v), 3) for v in result[k]] for k in METRICS}
    return ClipScores(clip.name, len(clip.slots), int(keep.sum()), classes, scores, detection)


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
             progress: Callable[[ClipScores], None] | None = None, detector=None) -> dict:
    """The ``crn-eval`` report for ``clips`` (see the module docstring)."""
    methods = ("mixture", "oracle_irm", "offline") + (("streaming",) if streaming else ())
    if detector is not None:
        methods += tuple(f"{m}_detected" for m in methods if m in ("offline", "streaming"))
    scored = []
    for clip in clips:
        scored.append(evaluate_clip(separator, clip, methods, detector))
        if progress is not None:
            progress(scored[-1])
    report = summarise(scored, methods)
    report["clips"] = [c.as_dict() for c in scored]
    config = separator.config
    report["model"] = {"size": config.size, "algorithmic_latency_ms":
                       round(config.algorithmic_latency_ms, 1),
                       "refine_iterations": config.refine_iterations,
                       "train_step": separator.meta.get("step")}
    if detector is not None:
        report["detector"] = detector.describe()
        seen = [c for c in scored if c.detection is not None]  # silent clips are not scanned
        report["detection"] = {
            "sources": sum(c.sources for c in seen),
            "matched_sources": sum(c.detection["matched"] for c in seen),
            "extra_tracks": sum(c.detection["extra_tracks"] for c in seen),
            "mean_slot_iou": _mean([q for c in seen for q, j in zip(
                c.detection["slot_iou"], c.detection["slot_track"]) if j is not None])}
        report["detected_minus_true_boxes_sdr"] = round(
            report["methods"]["offline_detected"]["sdr"] - report["methods"]["offline"]["sdr"], 3)
    if streaming:
        report["streaming_minus_offline_sdr"] = round(
            report["methods"]["streaming"]["sdr"] - report["methods"]["offline"]["sdr"], 3)
    return report


def evaluate_detection(detector, frames: FrameSet, batch: int = 8,
                       progress: Callable[[int, int], None] | None = None) -> dict:
    """mAP@0.5 and mAP@0.5:0.95 (COCO-style) of a detector on frames in their own pixels.

    ``detector``: anything with ``classes`` and ``detect`` (or ``detect_batch``) returning
    :class:`~crn_live.vision.decode.Detections` whose labels index ``detector.classes``, which
    must be the classes ``frames`` were labelled with. Also reports detection frames per second
    of this run (preprocessing and decoding included).
    """
    found: list[Detections] = []
    started = time.perf_counter()
    for start in range(0, len(frames.images), batch):
        chunk = list(frames.images[start:start + batch])
        if hasattr(detector, "detect_batch"):
            found.extend(detector.detect_batch(chunk))
        else:
            found.extend(detector.detect(image) for image in chunk)
        if progress is not None:
            progress(len(found), len(frames.images))
    seconds = time.perf_counter() - started
    report = mean_average_precision(found, frames.truths, detector.classes)
    report["frames"] = len(frames.images)
    report["objects"] = int(sum(int((~t.ignore).sum()) for t in frames.truths))
    report["ignored_objects"] = int(sum(int(t.ignore.sum()) for t in frames.truths))
    report["frames_per_second"] = round(len(found) / max(seconds, 1e-9), 1)
    return report


def _mean(values: list[float]) -> float:
    return round(float(np.mean(values)), 3) if values else float("nan")
