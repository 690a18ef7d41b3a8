"""Letterboxing, IoU, NMS and the decoding of our detector's and YOLO outputs, on hand-made
outputs whose right answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from crn_live.vision.decode import (PAD_VALUE, box_iou, decode_peaks, decode_yolo, letterbox,
                                    nms)


def test_letterbox_keeps_aspect_and_maps_boxes_back() -> None:
    frame = np.zeros((360, 640, 3), np.uint8)
    frame[100:200, 300:500] = 255
    image, box = letterbox(frame, 320, 240)
    assert image.shape == (3, 240, 320) and image.dtype == np.float32
    assert box.scale == pytest.approx(0.5) and (box.pad_x, box.pad_y) == (0.0, 30.0)
    assert image[:, 0, 0] == pytest.approx([PAD_VALUE / 255] * 3)  # padded band on top
    white = np.argwhere(image[0] > 0.9)
    (y0, x0), (y1, x1) = white.min(0), white.max(0) + 1
    assert (x0, y0, x1, y1) == (150, 80, 250, 130)
    back = box.to_frame(np.array([[x0, y0, x1, y1]], np.float32), 640, 360)
    assert back[0] == pytest.approx([300, 100, 500, 200])


def test_letterbox_clips_boxes_to_the_frame() -> None:
    _, box = letterbox(np.zeros((240, 320, 3), np.uint8), 320, 240)
    back = box.to_frame(np.array([[-5, -5, 400, 300]], np.float32), 320, 240)
    assert back[0] == pytest.approx([0, 0, 320, 240])


def test_box_iou() -> None:
    a = np.array([[0, 0, 10, 10]])
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 0, 0]])
    assert box_iou(a, b)[0] == pytest.approx([1.0, 50 / 150, 0.0, 0.0])


def test_nms_per_class_and_class_agnostic() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [0, 0, 10, 10], [50, 50, 60, 60]], float)
    scores = np.array([0.9, 0.95, 0.8, 0.5])
    labels = np.array([0, 0, 1, 0])
    assert nms(boxes, scores, 0.5, labels).tolist() == [1, 2, 3]
    assert nms(boxes, scores, 0.5).tolist() == [1, 3]
    assert nms(boxes, scores, 0.9, labels).tolist() == [1, 0, 2, 3]  # IoU 0.82 < 0.9
    assert nms(np.zeros((0, 4)), np.zeros(0), 0.5).tolist() == []


def _peak_outputs() -> tuple[np.ndarray, np.ndarray]:
    """3 classes on a 6x8 grid (stride 8): peaks and the boxes of their cells."""
    scores = np.zeros((3, 6, 8), np.float32)
    boxes = np.zeros((4, 6, 8), np.float32)
    scores[0, 2, 3] = 0.9
    boxes[:, 2, 3] = [10, 8, 40, 30]
    scores[0, 2, 4] = 0.6  # a second peak on the same object: NMS removes it
    boxes[:, 2, 4] = [12, 8, 42, 30]
    scores[2, 4, 1] = 0.7
    boxes[:, 4, 1] = [0, 20, 20, 44]
    scores[1, 0, 7] = 0.2  # below the threshold
    boxes[:, 0, 7] = [50, 0, 64, 8]
    return scores, boxes


def test_decode_peaks_thresholds_nms_and_sorts() -> None:
    scores, boxes = _peak_outputs()
    found = decode_peaks(scores, boxes, threshold=0.3, nms_iou=0.5, max_detections=10)
    assert found.labels.tolist() == [0, 2]
    assert found.scores == pytest.approx([0.9, 0.7])
    assert found.boxes.tolist() == [[10, 8, 40, 30], [0, 20, 20, 44]]
    low = decode_peaks(scores, boxes, threshold=0.1, nms_iou=0.5, max_detections=10)
    assert low.labels.tolist() == [0, 2, 1]
    assert len(decode_peaks(scores, boxes, 0.1, 0.5, max_detections=1)) == 1
    assert len(decode_peaks(scores, boxes, 0.95, 0.5, 10)) == 0


def _yolo_rows() -> np.ndarray:
    """Rows (N, 4 + 3): cx, cy, w, h, three class scores."""
    return np.array([
        [100, 100, 40, 20, 0.05, 0.90, 0.10],  # class 1
        [102, 100, 40, 20, 0.05, 0.80, 0.10],  # duplicate of the first: suppressed
        [300, 200, 60, 60, 0.70, 0.10, 0.65],  # class 0
        [500, 500, 10, 10, 0.10, 0.10, 0.20],  # too weak
    ], np.float32)


@pytest.mark.parametrize("layout", ["v8", "v8_transposed", "v5"])
def test_decode_yolo_layouts(layout: str) -> None:
    rows = _yolo_rows()
    if layout == "v8":
        output = rows.T  # (4 + C, N)
    elif layout == "v8_transposed":
        output = rows
    else:  # objectness 1 for the real boxes: score = objectness * class score
        output = np.concatenate([rows[:, :4], np.ones((4, 1), np.float32), rows[:, 4:]], 1)
        output[3, 4] = 0.5
    found = decode_yolo(output, 3, threshold=0.25, nms_iou=0.5, max_detections=10)
    assert found.labels.tolist() == [1, 0]
    assert found.scores == pytest.approx([0.9, 0.7])
    assert found.boxes[0] == pytest.approx([80, 90, 120, 110])
    assert found.boxes[1] == pytest.approx([270, 170, 330, 230])


def test_decode_yolo_rejects_other_layouts() -> None:
    with pytest.raises(ValueError, match="not a YOLO layout"):
        decode_yolo(np.zeros((10, 9), np.float32), 3, 0.25, 0.5, 10)
    with pytest.raises(ValueError, match="2-D"):
        decode_yolo(np.zeros((1, 7, 10), np.float32), 3, 0.25, 0.5, 10)


def test_one_object_seen_as_two_classes_keeps_the_stronger() -> None:
    scores = np.zeros((3, 6, 8), np.float32)
    boxes = np.zeros((4, 6, 8), np.float32)
    scores[0, 2, 3], scores[1, 2, 3] = 0.6, 0.4  # a guitar also scored as a violin
    boxes[:, 2, 3] = [10, 8, 40, 30]
    scores[1, 4, 6] = 0.5  # a real violin overlapping the guitar a little
    boxes[:, 4, 6] = [30, 20, 60, 44]
    found = decode_peaks(scores, boxes, threshold=0.3, nms_iou=0.5, max_detections=10)
    assert found.labels.tolist() == [0, 1] and found.scores == pytest.approx([0.6, 0.5])
