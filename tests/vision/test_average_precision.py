"""mAP on hand-made detections whose AP is worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from crn_live.vision.average_precision import GroundTruth, class_ap, mean_average_precision
from crn_live.vision.decode import Detections


def _truth(boxes, labels, ignore=None) -> GroundTruth:
    n = len(labels)
    return GroundTruth(np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(labels),
                       np.zeros(n, bool) if ignore is None else np.asarray(ignore))


def _found(boxes, scores, labels) -> Detections:
    return Detections(np.asarray(boxes, np.float32).reshape(-1, 4),
                      np.asarray(scores, np.float32), np.asarray(labels))


A, B = [0, 0, 10, 10], [20, 20, 40, 40]


def test_perfect_detections_score_one() -> None:
    truths = [_truth([A, B], [0, 1])]
    report = mean_average_precision([_found([A, B], [0.9, 0.8], [0, 1])], truths, ["x", "y", "z"])
    assert report["map50"] == pytest.approx(1.0) and report["map50_95"] == pytest.approx(1.0)
    assert report["per_class"]["z"] == {"ap50": None, "ap50_95": None, "objects": 0}


def test_false_alarm_ranked_first_costs_a_third() -> None:
    # precision 0, 1/2, 2/3 at recall 0, 1/2, 1: the envelope is 2/3 everywhere
    truths = [_truth([A], [0]), _truth([B], [0])]
    found = [_found([[100, 100, 120, 120], A], [0.9, 0.8], [0, 0]), _found([B], [0.7], [0])]
    assert class_ap(found, truths, 0, 0.5) == pytest.approx(2 / 3)


def test_missed_object_caps_recall_and_wrong_class_does_not_count() -> None:
    truths = [_truth([A, B], [0, 0])]
    found = [_found([A, B], [0.9, 0.8], [0, 1])]  # B found with the wrong class
    # recall reaches 1/2 at precision 1: 51 of the 101 recall points
    assert class_ap(found, truths, 0, 0.5) == pytest.approx(51 / 101)


def test_duplicate_detection_is_a_false_alarm() -> None:
    truths = [_truth([A], [0])]
    found = [_found([A, [0, 0, 10, 9]], [0.9, 0.8], [0, 0])]
    assert class_ap(found, truths, 0, 0.5) == pytest.approx(1.0)  # after full recall
    found = [_found([A, [0, 0, 10, 9]], [0.8, 0.9], [0, 0])]
    assert class_ap(found, truths, 0, 0.5) == pytest.approx(1.0)  # greedy: best IoU unmatched
    assert class_ap([_found([[0, 0, 10, 9], A], [0.9, 0.8], [0, 0])], truths, 0,
                    0.95) == pytest.approx(0.5)  # IoU 0.9 misses at 0.95: FP first, then TP


def test_ignored_objects_neither_reward_nor_penalise() -> None:
    truths = [_truth([A, B], [0, 0], ignore=[False, True])]
    assert class_ap([_found([A], [0.9], [0])], truths, 0, 0.5) == pytest.approx(1.0)
    assert class_ap([_found([A, B], [0.9, 0.95], [0, 0])], truths, 0, 0.5) == pytest.approx(1.0)
    only_ignored = [_truth([B], [0], ignore=[True])]
    assert np.isnan(class_ap([_found([B], [0.9], [0])], only_ignored, 0, 0.5))


def test_map50_95_averages_iou_thresholds() -> None:
    # a box of IoU 0.72 with its object: a hit at 0.50..0.70 (5 thresholds), a miss above
    truths = [_truth([[0, 0, 100, 100]], [0])]
    found = [_found([[0, 0, 100, 72]], [0.9], [0])]
    report = mean_average_precision(found, truths, ["x"])
    assert report["map50"] == pytest.approx(1.0)
    assert report["map50_95"] == pytest.approx(0.5)


def test_lengths_must_agree() -> None:
    with pytest.raises(ValueError, match="detection lists"):
        mean_average_precision([], [_truth([A], [0])], ["x"])
