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

Stems folders (real stems without video, :mod:`crn_live.data.stems`) are scored the same way,
class-only: ``mixture``, ``oracle_irm``, ``offline_class`` and ``streaming_class`` (no picture,
no boxes, no detector). :func:`evaluate_reference` scores the reference paper's own samples with
the same metric code, beside the reference model's outputs (see its docstring).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from crn_live.data.clips import Clip, ClipError
from crn_live.data.stems import (
    ReferenceCase,
    StemsError,
    StemsFolder,
    load_photo,
    read_at,
    reference_cases,
)
from crn_live.dsp.masking import oracle_log_masks
from crn_live.separation import Separator, clip_embeddings
from crn_live.training.metrics import audible, bss_eval
from crn_live.vision.average_precision import mean_average_precision
from crn_live.vision.decode import Detections
from crn_live.vision.frames import FrameSet

METRICS = ("sdr", "sir", "sar", "sdri")
#: Methods conditioned on each instrument's class alone (no picture), and their mode.
CLASS_ONLY = {"offline_class": "offline", "streaming_class": "streaming"}
#: Methods that use every instrument's picture (through the guard) even where its class alone
#: would do, and their mode: what the pictures add or cost.
APPEARANCE = {"offline_appearance": "offline", "streaming_appearance": "streaming"}
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
        embeddings = separator.embed_all([(t.class_name, t.crops) for t in scan.tracks])
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
    class_modes = [m for m in methods if m in CLASS_ONLY]
    looks = [m for m in methods if m in APPEARANCE]
    detection = None
    if model_modes or class_modes or looks:
        mix_mag = separator.spectrogram(mix)
    if model_modes:
        embeddings = clip_embeddings(separator, clip)
        for mode in model_modes:
            masks = separator.masks(mix_mag, embeddings, mode)
            estimates[mode] = separator.apply(mix, rate, masks).sources
    if class_modes:
        estimates.update(_class_estimates(separator, mix, classes, methods, mix_mag))
    if looks:
        embeddings = clip_embeddings(separator, clip, only_when_needed=False)
        for method in looks:
            masks = separator.masks(mix_mag, embeddings, APPEARANCE[method])
            estimates[method] = separator.apply(mix, rate, masks).sources
    if model_modes:
        if detector is not None:
            found, detection = _detected_estimates(separator, clip, detector, mix, mix_mag,
                                                   model_modes)
            estimates.update({k: v[:, :n] for k, v in found.items()})
    scores = _score(stems[keep], {m: e[keep] for m, e in estimates.items()}, methods)
    return ClipScores(clip.name, len(clip.slots), int(keep.sum()), classes, scores, detection)


def _score(refs: np.ndarray, estimates: dict[str, np.ndarray],
           methods: tuple[str, ...]) -> dict[str, dict[str, list[float]]]:
    """Per-source metrics of each method's estimates against the audible ``refs``; SDRi
    against the ``mixture`` estimate."""
    base = bss_eval(refs, estimates["mixture"])["sdr"]
    scores = {}
    for method in methods:
        result = bss_eval(refs, estimates[method])
        result["sdri"] = result["sdr"] - base
        scores[method] = {k: [round(float(v), 3) for v in result[k]] for k in METRICS}
    return scores


def _checked(name: str, mix: np.ndarray, stems: np.ndarray) -> None:
    if not (np.isfinite(mix).all() and np.isfinite(stems).all()):
        raise ClipError(f"{name} has non-finite samples (NaN/inf) in its mix or stems")


def _class_estimates(separator: Separator, mix: np.ndarray, classes: tuple[str, ...],
                     methods: tuple[str, ...], mix_mag: np.ndarray | None = None) -> dict:
    """``{method: (sources, samples)}`` of the :data:`CLASS_ONLY` methods in ``methods``."""
    wanted = [m for m in methods if m in CLASS_ONLY]
    if not wanted:
        return {}
    mix_mag = separator.spectrogram(mix) if mix_mag is None else mix_mag
    embeddings = np.stack([separator.embed(c) for c in classes])
    return {m: separator.apply(mix, separator.rate,
                               separator.masks(mix_mag, embeddings, CLASS_ONLY[m])).sources
            for m in wanted}


def stems_methods(streaming: bool = False) -> tuple[str, ...]:
    """What a stems folder is scored with: class-only methods (no picture, no video)."""
    return ("mixture", "oracle_irm", "offline_class") + (
        ("streaming_class",) if streaming else ())


def evaluate_stems(separator: Separator, folder: StemsFolder,
                   methods: tuple[str, ...]) -> ClipScores:
    """Score ``methods`` (of mixture, oracle_irm, offline_class, streaming_class) on one stems
    folder at the model rate."""
    rate = separator.rate
    data = folder.load(rate)
    mix, stems = data.mix, data.stems
    _checked(str(folder.folder), mix, stems)
    keep = audible(stems)
    if not keep.any():
        return ClipScores(folder.name, len(stems), 0, data.classes,
                          {m: {k: [] for k in METRICS} for m in methods})
    estimates: dict[str, np.ndarray] = {"mixture": np.repeat(mix[None], len(stems), 0)}
    if "oracle_irm" in methods:
        masks = oracle_log_masks(mix, stems, separator.config.audio)
        estimates["oracle_irm"] = separator.apply(mix, rate, masks).sources
    estimates.update(_class_estimates(separator, mix, data.classes, methods))
    scores = _score(stems[keep], {m: e[keep] for m, e in estimates.items()}, methods)
    return ClipScores(folder.name, len(stems), int(keep.sum()), data.classes, scores)


def summarise(clips: Iterable[ClipScores], methods: tuple[str, ...]) -> dict:
    """Means over all audible sources: overall, by number of sources per clip, and by class."""
    clips = list(clips)

    def means(selected: list[ClipScores]) -> dict:  # a clip not scored with m is left out
        return {m: {k: _mean([v for c in selected if m in c.per_source
                              for v in c.per_source[m][k]])
                    for k in METRICS} for m in methods}

    by_sources = {str(n): {"clips": sum(c.sources == n for c in clips),
                           "methods": means([c for c in clips if c.sources == n])}
                  for n in sorted({c.sources for c in clips})}
    return {"methods": means(clips), "by_sources": by_sources,
            "sources_scored": sum(c.audible for c in clips),
            "silent_sources_skipped": sum(c.sources - c.audible for c in clips)}


def evaluate(separator: Separator, clips: list[Clip | StemsFolder], streaming: bool = False,
             progress: Callable[[ClipScores], None] | None = None, detector=None) -> dict:
    """The ``crn-eval`` report for ``clips``: crn-synth clips and stems folders (these scored
    class-only, :func:`stems_methods`); see the module docstring."""
    modes = ("offline",) + (("streaming",) if streaming else ())
    clip_methods = ("mixture", "oracle_irm") + modes + tuple(f"{m}_class" for m in modes) \
        + tuple(f"{m}_appearance" for m in modes)
    if detector is not None:
        clip_methods += tuple(f"{m}_detected" for m in modes)
    scored = []
    used: list[str] = []
    for clip in clips:
        if isinstance(clip, StemsFolder):
            methods = stems_methods(streaming)
            scored.append(evaluate_stems(separator, clip, methods))
        else:
            methods = clip_methods
            scored.append(evaluate_clip(separator, clip, methods, detector))
        used += [m for m in methods if m not in used]
        if progress is not None:
            progress(scored[-1])
    methods = tuple(m for m in clip_methods + stems_methods(streaming) if m in used)
    report = summarise(scored, methods)
    report["clips"] = [c.as_dict() for c in scored]
    report["model"] = _model_info(separator)
    if detector is not None:
        report["detector"] = detector.describe()
        seen = [c for c in scored if c.detection is not None]  # silent clips are not scanned
        report["detection"] = {
            "sources": sum(c.sources for c in seen),
            "matched_sources": sum(c.detection["matched"] for c in seen),
            "extra_tracks": sum(c.detection["extra_tracks"] for c in seen),
            "mean_slot_iou": _mean([q for c in seen for q, j in zip(
                c.detection["slot_iou"], c.detection["slot_track"]) if j is not None])}
    if detector is not None and "offline_detected" in methods:
        report["detected_minus_true_boxes_sdr"] = round(
            report["methods"]["offline_detected"]["sdr"] - report["methods"]["offline"]["sdr"], 3)
    if streaming and "offline" in methods:
        report["streaming_minus_offline_sdr"] = round(
            report["methods"]["streaming"]["sdr"] - report["methods"]["offline"]["sdr"], 3)
    return report


def _model_info(separator: Separator) -> dict:
    config = separator.config
    return {"size": config.size, "algorithmic_latency_ms": round(config.algorithmic_latency_ms, 1),
            "refine_iterations": config.refine_iterations,
            "train_step": separator.meta.get("step")}


# ---------------------------------------------------------------------- the reference samples

#: The methods of :func:`evaluate_reference`, in table order, and what each is.
REFERENCE_METHODS = {
    "mixture": "the unprocessed mixture (the SDRi baseline)",
    "oracle_irm": "ideal ratio masks at our model's resolution (the ceiling of our masks)",
    "reference": "the reference model's own outputs (crn_outputK.flac)",
    "offline_class": "ours, class only, offline",
    "streaming_class": "ours, class only, streaming (chunked causal, as live)",
    "offline_photo": "ours, class + the real photo crop through the appearance guard, offline "
                     "(offered for every instrument, as if another shared its class; crn-live "
                     "separates an instrument of a class of its own by its class alone)",
    "streaming_photo": "ours, class + the photo through the guard, streaming",
    "offline_photo_forced": "ours, class + the photo forced in (guard off), offline",
    "streaming_photo_forced": "ours, class + the photo forced in (guard off), streaming",
    "offline_drawn": "ours, class + a drawn player of that class (crn-synth's pictures) "
                     "through the guard, offline",
    "streaming_drawn": "ours, class + a drawn player through the guard, streaming",
}
#: Frames of the drawn scene whose crops make a drawn instrument's appearance.
DRAWN_FRAMES = (0, 25, 50, 75)


def drawn_crops(classes: Sequence[str], crop_size: int, seed: int = 0) -> np.ndarray:
    """``(len(DRAWN_FRAMES), len(classes), S, S, 3)`` uint8 RGB: crops of crn-synth scenes
    each showing one player of a class of ``classes`` (the project's own drawings), at a few
    moments."""
    from crn_live.config import SynthConfig
    from crn_live.data.scene import SceneRenderer, SlotVisual
    from crn_live.data.video import crop_box

    silent = np.zeros(0)
    out = np.zeros((len(DRAWN_FRAMES), len(classes), crop_size, crop_size, 3), np.uint8)
    for k, name in enumerate(classes):
        scene = SceneRenderer([SlotVisual(name, silent, silent)], SynthConfig(), seed + k)
        for row, index in enumerate(DRAWN_FRAMES):
            out[row, k] = crop_box(scene.frame(index), scene.boxes(index)[0], crop_size)
    return out


def readme_reference_sdri(folder: Path) -> dict[str, float]:
    """The reference model's own SDRi per case, as the folder's README (or its parent's)
    states it (``mix2-1 24.9 dB SDRi, mix2-2 21.2, ...``); {} when none is found."""
    import re

    for readme in (folder / "README.md", folder.parent / "README.md"):
        if readme.is_file():
            text = " ".join(readme.read_text(errors="replace").split())
            found = {name: float(value) for name, value in re.findall(
                r"\b((?:mix|duet)\d+-\d+)\s+(-?\d+(?:\.\d+)?)", text)}
            if found:
                return found
    return {}


def _photo_conditions(separator: Separator, case: ReferenceCase) -> tuple[list, list]:
    """Per instrument: its condition with the photo through the guard, and forced in."""
    guarded, forced = [], []
    for cls, photo in zip(case.stems.classes, case.photos):
        crops = None if photo is None else load_photo(photo, separator.config.crop_size)[None]
        guarded.append(separator.describe(cls, crops))  # as if needed: through the guard
        forced.append(separator.describe(cls, crops, guard=False))
    return guarded, forced


def evaluate_case(separator: Separator, case: ReferenceCase) -> tuple[ClipScores, dict]:
    """Every :data:`REFERENCE_METHODS` on one case at the model rate, and what the photos did."""
    rate = separator.rate
    data = case.stems.load(rate)
    outputs = [read_at(p, rate) for p in case.outputs]
    n = min([data.stems.shape[-1]] + [len(o) for o in outputs])
    mix, stems = data.mix[:n], data.stems[:, :n]
    reference = np.stack([o[:n] for o in outputs])
    _checked(str(case.stems.folder), mix, stems)
    methods = tuple(REFERENCE_METHODS)
    keep = audible(stems)
    guarded, forced = _photo_conditions(separator, case)
    drawn_pictures = drawn_crops(data.classes, separator.config.crop_size)
    drawn = [separator.describe(cls, drawn_pictures[:, k]) for k, cls in enumerate(data.classes)]
    extra = {"instruments": list(case.instruments), "stem_gain": data.stem_gain,
             "drawn_used_through_guard": [d.used_appearance for d in drawn],
             "seconds": round(n / rate, 3), "audible": [bool(k) for k in keep],
             "photos": [{"instrument": name, "class": cls,
                         "photo": photo.name if photo is not None else None,
                         "used_through_guard": g.used_appearance,
                         "class_confidence": None if np.isnan(g.confidence)
                         else round(float(g.confidence), 4),
                         "guard_reason": g.reason}
                        for name, cls, photo, g in zip(case.instruments, data.classes,
                                                       case.photos, guarded)]}
    if not keep.any():
        return ClipScores(case.name, len(stems), 0, data.classes,
                          {m: {k: [] for k in METRICS} for m in methods}), extra
    estimates: dict[str, np.ndarray] = {"mixture": np.repeat(mix[None], len(stems), 0),
                                        "reference": reference}
    estimates["oracle_irm"] = separator.apply(
        mix, rate, oracle_log_masks(mix, stems, separator.config.audio)).sources
    mix_mag = separator.spectrogram(mix)
    estimates.update(_class_estimates(separator, mix, data.classes, methods, mix_mag))
    for suffix, conditions in (("photo", guarded), ("photo_forced", forced), ("drawn", drawn)):
        embeddings = np.stack([c.embedding for c in conditions])
        for mode in ("offline", "streaming"):
            estimates[f"{mode}_{suffix}"] = separator.apply(
                mix, rate, separator.masks(mix_mag, embeddings, mode)).sources
    scores = _score(stems[keep], {m: e[keep] for m, e in estimates.items()}, methods)
    return ClipScores(case.name, len(stems), int(keep.sum()), data.classes, scores), extra


def evaluate_reference(separator: Separator, folder: Path,
                       progress: Callable[[ClipScores], None] | None = None) -> dict:
    """crn-live beside the reference model on the reference paper's own samples.

    ``folder``: a reference sample folder (:func:`crn_live.data.stems.reference_cases`). Each
    case with true stems is scored with :data:`REFERENCE_METHODS` by the very metric code of
    :func:`evaluate` (BSS Eval at the model rate, SDRi against the mixture); cases without stems
    are listed under ``skipped``. ``readme_reference_sdri`` of a case is what the folder's README
    says the reference scores there, to check our measurement of its outputs against.
    """
    folder = Path(folder)
    cases, skipped = reference_cases(folder)
    if not cases:
        raise StemsError(f"{folder}: no case with true stems to score")
    stated = readme_reference_sdri(folder)
    methods = tuple(REFERENCE_METHODS)
    scored, rows = [], []
    for case in cases:
        scores, extra = evaluate_case(separator, case)
        scored.append(scores)
        rows.append(scores.as_dict() | extra
                    | {"readme_reference_sdri": stated.get(case.name)})
        if progress is not None:
            progress(scores)
    report = summarise(scored, methods)
    report.update({"reference_folder": str(folder), "rate": separator.rate,
                   "method_descriptions": dict(REFERENCE_METHODS), "cases": rows,
                   "skipped": skipped, "model": _model_info(separator)})
    return report


def _cell(value: float | None, digits: int = 1) -> str:
    return "-" if value is None or np.isnan(value) else f"{value:.{digits}f}"


def reference_markdown(report: dict) -> str:
    """The tables of an :func:`evaluate_reference` report, in Markdown."""
    ours = [m for m in REFERENCE_METHODS if m not in ("mixture", "oracle_irm", "reference")]
    lines = ["# crn-live beside the reference model on its own samples", "",
             (f"Folder `{report['reference_folder']}`; checkpoint "
              f"`{report.get('checkpoint', '?')}` (size {report['model']['size']}, step "
              f"{report['model']['train_step'] or '-'}); BSS Eval (mir_eval, "
              f"`crn_live.training.metrics`) at {report['rate']} Hz; dB; means over "
              "instruments. SDRi = SDR - the mixture's SDR."), "",
             "## SDRi per case", "",
             ("| case | instruments | reference (its README) | reference (measured) | "
              "oracle IRM | " + " | ".join(m.replace("_", " ") for m in ours)
              + " | photos used |"),
             "|---" * (6 + len(ours)) + "|"]
    for case in report["cases"]:
        m = case["methods"]
        used = sum(p["used_through_guard"] for p in case["photos"])
        lines.append(f"| {case['clip']} | {', '.join(case['instruments'])} | "
                     f"{_cell(case['readme_reference_sdri'])} | {_cell(m['reference']['sdri'])} | "
                     f"{_cell(m['oracle_irm']['sdri'])} | "
                     + " | ".join(_cell(m[k]["sdri"]) for k in ours)
                     + f" | {used}/{len(case['photos'])} |")
    overall = report["methods"]
    lines.append(f"| **all** | {report['sources_scored']} instruments | | "
                 f"**{_cell(overall['reference']['sdri'])}** | "
                 f"{_cell(overall['oracle_irm']['sdri'])} | "
                 + " | ".join(f"**{_cell(overall[k]['sdri'])}**" for k in ours) + " | |")
    lines += ["", "## Per instrument (SDR / SDRi)", "",
              "| case | instrument (class) | photo used | mixture SDR | reference | "
              + " | ".join(m.replace("_", " ") for m in ours) + " |",
              "|---" * (5 + len(ours)) + "|"]
    for case in report["cases"]:
        k = 0
        for i, photo in enumerate(case["photos"]):
            if not case["audible"][i]:
                continue
            per = {m: (v["sdr"][k], v["sdri"][k]) for m, v in case["per_source"].items()}

            def pair(method: str, per: dict = per) -> str:
                return f"{_cell(per[method][0])} / {_cell(per[method][1])}"

            lines.append(f"| {case['clip']} | {photo['instrument']} ({photo['class']}) | "
                         f"{'yes' if photo['used_through_guard'] else 'no'} | "
                         f"{_cell(per['mixture'][0])} | {pair('reference')} | "
                         + " | ".join(pair(m) for m in ours) + " |")
            k += 1
    lines += ["", "## Means over all instruments", "",
              "| method | SDR | SIR | SAR | SDRi |", "|---|---|---|---|---|"]
    for method, values in overall.items():
        lines.append(f"| {method} ({REFERENCE_METHODS[method]}) | "
                     + " | ".join(_cell(values[x], 2) for x in METRICS) + " |")
    if report["skipped"]:
        lines += ["", "Not scored (no true stems): " + "; ".join(
            f"{s['case']} ({', '.join(s['instruments'])})" for s in report["skipped"]) + "."]
    return "\n".join(lines) + "\n"


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
