"""Mean average precision of detections (COCO-style: 101-point interpolated AP per class).

Ground truth per image is :class:`GroundTruth`: boxes, labels and an ``ignore`` flag for objects
that are mostly hidden (a detection matched to one is neither a hit nor a false alarm, and
missing it costs nothing), as COCO does for its "crowd" regions.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from crn_live.vision.decode import Detections, box_iou

IOU_THRESHOLDS = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))  # 0.50:0.05:0.95
RECALL_POINTS = np.linspace(0.0, 1.0, 101)


@dataclasses.dataclass(frozen=True)
class GroundTruth:
    """Objects of one image: ``boxes (n, 4)``, ``labels (n,)``, ``ignore (n,)`` bool."""

    boxes: np.ndarray
    labels: np.ndarray
    ignore: np.ndarray


def class_ap(detections: Sequence[Detections], truths: Sequence[GroundTruth], label: int,
             iou_threshold: float) -> float:
    """AP of class ``label`` at one IoU threshold over all images; NaN with no such object."""
    n_truth = sum(int(np.sum((t.labels == label) & ~t.ignore)) for t in truths)
    if n_truth == 0:
        return float("nan")
    scores, hits = [], []
    for found, truth in zip(detections, truths):
        mine = found.labels == label
        if not mine.any():
            continue
        boxes, det_scores = found.boxes[mine], found.scores[mine]
        order = np.argsort(-det_scores, kind="stable")
        same = truth.labels == label
        gt_boxes, gt_ignore = truth.boxes[same], truth.ignore[same]
        overlaps = box_iou(boxes[order], gt_boxes) if len(gt_boxes) else np.zeros((len(order), 0))
        taken = np.zeros(len(gt_boxes), bool)
        for row, index in enumerate(order):
            outcome = _match(overlaps[row], taken, gt_ignore, iou_threshold)
            if outcome is None:
                continue  # matched an ignored object
            scores.append(det_scores[index])
            hits.append(outcome)
    if not scores:
        return 0.0
    order = np.argsort(-np.asarray(scores), kind="stable")
    hits_sorted = np.asarray(hits, bool)[order]
    tp = np.cumsum(hits_sorted)
    fp = np.cumsum(~hits_sorted)
    recall = tp / n_truth
    precision = tp / np.maximum(tp + fp, 1)
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    at = np.searchsorted(recall, RECALL_POINTS, side="left")
    sampled = np.where(at < len(envelope), envelope[np.minimum(at, len(envelope) - 1)], 0.0)
    return float(sampled.mean())


def _match(overlaps: np.ndarray, taken: np.ndarray, ignore: np.ndarray,
           threshold: float) -> bool | None:
    """Greedy COCO matching of one detection: True (hit), False (false alarm), None (ignored).

    Free real objects are preferred; an ignored object absorbs the detection otherwise.
    """
    best, best_iou = -1, threshold
    for j in np.nonzero(~taken & ~ignore)[0]:
        if overlaps[j] >= best_iou:
            best, best_iou = j, overlaps[j]
    if best >= 0:
        taken[best] = True
        return True
    if np.any(ignore & (overlaps >= threshold)):
        return None
    return False


def mean_average_precision(detections: Sequence[Detections], truths: Sequence[GroundTruth],
                           classes: Sequence[str]) -> dict:
    """``{"map50", "map50_95", "per_class": {name: {"ap50", "ap50_95", "objects"}}}``.

    Means run over the classes that have at least one object (others are left out and listed
    with ``None``).
    """
    if len(detections) != len(truths):
        raise ValueError(f"{len(detections)} detection lists for {len(truths)} images")
    per_class: dict[str, dict] = {}
    ap50s, ap_all = [], []
    for label, name in enumerate(classes):
        objects = sum(int(np.sum((t.labels == label) & ~t.ignore)) for t in truths)
        if objects == 0:
            per_class[name] = {"ap50": None, "ap50_95": None, "objects": 0}
            continue
        aps = [class_ap(detections, truths, label, thr) for thr in IOU_THRESHOLDS]
        per_class[name] = {"ap50": aps[0], "ap50_95": float(np.mean(aps)), "objects": objects}
        ap50s.append(aps[0])
        ap_all.append(float(np.mean(aps)))
    return {"map50": float(np.mean(ap50s)) if ap50s else float("nan"),
            "map50_95": float(np.mean(ap_all)) if ap_all else float("nan"),
            "per_class": per_class}
