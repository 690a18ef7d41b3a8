"""Detector outputs -> detections: letterboxing, peak decoding, YOLO decoding, NMS (numpy only).

Boxes are ``[x0, y0, x1, y1]`` in pixels throughout, float32. A :class:`Detections` holds
``boxes (n, 4)``, ``scores (n,)`` and ``labels (n,)`` (class indices into the detector's own class
list) for one image, sorted by score, highest first.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

#: Grey used for letterbox padding (the YOLO convention; our detector is trained with it too).
PAD_VALUE = 114
#: Candidates of a dense (YOLO) output kept for NMS, best first.
PRE_NMS = 300
#: Boxes of *different* classes overlapping this much are one object seen as two classes: the
#: weaker one goes (after the per-class NMS). Two instruments almost never share a box.
CROSS_CLASS_IOU = 0.7


@dataclasses.dataclass(frozen=True)
class Detections:
    """Detections of one image: ``boxes (n, 4)`` float32, ``scores (n,)``, ``labels (n,)``."""

    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.scores)

    @classmethod
    def empty(cls) -> "Detections":
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))

    def take(self, keep: np.ndarray) -> "Detections":
        """The detections at indices or mask ``keep``."""
        return Detections(self.boxes[keep], self.scores[keep], self.labels[keep])


@dataclasses.dataclass(frozen=True)
class Letterbox:
    """How a frame was fitted into the network input: ``input = frame * scale + (pad_x, pad_y)``."""

    scale: float
    pad_x: float
    pad_y: float

    def to_frame(self, boxes: np.ndarray, width: int, height: int) -> np.ndarray:
        """Input-pixel boxes ``(n, 4)`` -> frame-pixel boxes, clipped to the ``width x height``
        frame."""
        out = (boxes - np.array([self.pad_x, self.pad_y] * 2, np.float32)) / self.scale
        out[:, 0::2] = out[:, 0::2].clip(0, width)
        out[:, 1::2] = out[:, 1::2].clip(0, height)
        return out.astype(np.float32)


def letterbox(image_bgr: np.ndarray, width: int, height: int) -> tuple[np.ndarray, Letterbox]:
    """Fit a BGR uint8 frame ``(h, w, 3)`` into ``width x height`` keeping its aspect ratio.

    Returns:
        the network input ``(3, height, width)`` float32 RGB in ``[0, 1]``, and the
        :class:`Letterbox` to map boxes back.
    """
    h, w = image_bgr.shape[:2]
    scale = min(width / w, height / h)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    pad_x, pad_y = (width - new_w) // 2, (height - new_h) // 2
    if (new_w, new_h) == (w, h):
        resized = image_bgr
    else:
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        resized = cv2.resize(image_bgr, (new_w, new_h), interpolation=interpolation)
    canvas = np.full((height, width, 3), PAD_VALUE, np.uint8)
    canvas[pad_y:pad_y + new_h, pad_x:pad_x + new_w] = resized
    rgb = canvas[:, :, ::-1].transpose(2, 0, 1).astype(np.float32) * (1.0 / 255.0)
    return np.ascontiguousarray(rgb), Letterbox(scale, float(pad_x), float(pad_y))


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU ``(n, m)`` of boxes ``a (n, 4)`` and ``b (m, 4)``."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = (x1 - x0).clip(0) * (y1 - y0).clip(0)
    area_a = (a[:, 2] - a[:, 0]).clip(0) * (a[:, 3] - a[:, 1]).clip(0)
    area_b = (b[:, 2] - b[:, 0]).clip(0) * (b[:, 3] - b[:, 1]).clip(0)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float,
        labels: np.ndarray | None = None) -> np.ndarray:
    """Greedy non-maximum suppression; indices kept, highest score first.

    With ``labels``, boxes only suppress boxes of the same label (per-class NMS).
    """
    order = np.argsort(-np.asarray(scores), kind="stable")
    if len(order) == 0:
        return order
    overlaps = box_iou(boxes[order], boxes[order])
    if labels is not None:
        same = labels[order][:, None] == labels[order][None, :]
        overlaps = np.where(same, overlaps, 0.0)
    suppressed = np.zeros(len(order), bool)
    keep = []
    for i in range(len(order)):
        if suppressed[i]:
            continue
        keep.append(order[i])
        suppressed |= overlaps[i] > iou
    return np.asarray(keep, np.int64)


def decode_peaks(scores: np.ndarray, boxes: np.ndarray, threshold: float, nms_iou: float,
                 max_detections: int) -> Detections:
    """Our detector's outputs for one image -> detections in input pixels, sorted by score,
    after per-class NMS and the cross-class suppression (:data:`CROSS_CLASS_IOU`).

    Args:
        scores: ``(C, h, w)``, non-zero only at score-map peaks (the graph's max-pool).
        boxes: ``(4, h, w)`` ``[x0, y0, x1, y1]`` per cell.
    """
    n_classes = scores.shape[0]
    flat = scores.reshape(n_classes, -1)
    labels, cells = np.nonzero(flat >= threshold)
    if len(cells) == 0:
        return Detections.empty()
    found = Detections(boxes.reshape(4, -1)[:, cells].T.astype(np.float32),
                       flat[labels, cells].astype(np.float32), labels.astype(np.int64))
    return _suppressed(found, nms_iou, max_detections)


def _suppressed(found: Detections, nms_iou: float, max_detections: int) -> Detections:
    """Per-class NMS at ``nms_iou``, then across classes at :data:`CROSS_CLASS_IOU`; the best
    ``max_detections``."""
    found = found.take(nms(found.boxes, found.scores, nms_iou, found.labels))
    found = found.take(nms(found.boxes, found.scores, CROSS_CLASS_IOU))
    return found.take(np.arange(min(len(found), max_detections)))


def decode_yolo(output: np.ndarray, n_classes: int, threshold: float, nms_iou: float,
                max_detections: int) -> Detections:
    """One image's output of a YOLO-layout detector -> detections in input pixels.

    Accepted layouts (rows = candidate boxes, ``cx, cy, w, h`` in input pixels first):

    * ``(4 + C, N)``: YOLOv8 / v11 export (class scores already sigmoid, no objectness);
    * ``(N, 4 + C)``: the same, transposed;
    * ``(N, 5 + C)``: YOLOv5 / v7 export, objectness then class scores (score = obj * class).

    Raises:
        ValueError: an output matching none of them for ``n_classes`` classes.
    """
    output = np.asarray(output, np.float32)
    if output.ndim != 2:
        raise ValueError(f"a YOLO output per image is 2-D, got shape {output.shape}")
    if output.shape[0] == 4 + n_classes and output.shape[1] != 4 + n_classes:
        rows = output.T
        class_scores = rows[:, 4:]
    elif output.shape[1] == 4 + n_classes:
        rows = output
        class_scores = rows[:, 4:]
    elif output.shape[1] == 5 + n_classes:
        rows = output
        class_scores = rows[:, 5:] * rows[:, 4:5]
    else:
        raise ValueError(f"output shape {output.shape} is not a YOLO layout for {n_classes} "
                         f"classes ((4+C, N), (N, 4+C) or (N, 5+C))")
    labels = class_scores.argmax(axis=1)
    best = class_scores[np.arange(len(rows)), labels]
    keep = np.nonzero(best >= threshold)[0]
    if len(keep) == 0:
        return Detections.empty()
    keep = keep[np.argsort(-best[keep], kind="stable")[:PRE_NMS]]
    cx, cy, w, h = rows[keep, :4].T
    found = Detections(np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1),
                       best[keep], labels[keep].astype(np.int64))
    return _suppressed(found, nms_iou, max_detections)
