"""Detector training: augmentation that keeps boxes on their objects, TTFNet targets, the loss,
a short run that learns, resume, and crn-eval --task detector on the result. (Frames and boxes
from clips: tests/vision/test_frames.py; crn-train's refusals: tests/cli/test_train.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from crn_live.cli.eval import main as eval_main
from crn_live.instruments import CLASSES
from crn_live.config import DetectorConfig
from crn_live.data.clips import find_clips
from crn_live.models.detector import InstrumentDetector
from crn_live.training.train_detector import (DetectorRun, DetectorTrainConfig, Targets, augment,
                                     centre_targets, detection_loss, train_detector)
from crn_live.vision.average_precision import GroundTruth

SMALL = {"input_width": 160, "input_height": 120, "widths": [8, 16, 16, 32, 32],
         "neck_width": 16}


def test_augmented_boxes_stay_on_their_objects() -> None:
    image = np.zeros((240, 320, 3), np.uint8)
    image[60:140, 200:260] = 255
    truth = GroundTruth(np.array([[200, 60, 260, 140]], np.float32), np.array([3]),
                        np.array([False]))
    rng = np.random.default_rng(0)
    checked = 0
    for _ in range(30):
        view, moved = augment(image, truth, rng, 320, 240)
        if len(moved.boxes) == 0 or moved.ignore[0]:
            continue
        bright = np.argwhere(view.max(axis=2) > 150)
        (y0, x0), (y1, x1) = bright.min(0), bright.max(0) + 1
        assert np.abs(np.array([x0, y0, x1, y1]) - moved.boxes[0]).max() <= 2.5
        checked += 1
    assert checked >= 10


def test_centre_targets() -> None:
    config = DetectorConfig(**SMALL)
    truth = GroundTruth(np.array([[16, 16, 64, 48], [100, 40, 140, 100]], np.float32),
                        np.array([2, 5]), np.array([False, True]))
    heat, mask, boxes, weight = centre_targets(truth, config)
    assert heat.shape == (len(CLASSES), 15, 20) and heat[2, 4, 5] == 1.0 and heat[2].sum() > 1
    assert heat[5].max() == 0.0  # ignored: no target...
    assert mask[0, 5:12, 12:17].max() == 0 and mask[0, 0, 0] == 1  # ...and no penalty
    assert boxes[:, 4, 5].tolist() == [16, 16, 64, 48]
    assert weight[4, 5] == weight.max() > 0 and weight[0, 19] == 0


def test_loss_is_low_for_the_answer_and_high_otherwise() -> None:
    config = DetectorConfig(**SMALL)
    model = InstrumentDetector(config)
    truth = GroundTruth(np.array([[16, 16, 64, 48]], np.float32), np.array([2]),
                        np.array([False]))
    targets = Targets(*(torch.from_numpy(t[None]) for t in centre_targets(truth, config)))
    centres = model.centres
    # the answer: logits high at the centre cell, distances to the true edges everywhere
    logits = torch.full((1, len(CLASSES), 15, 20), -9.0)
    logits[0, 2, 4, 5] = 9.0
    x, y = centres
    right = torch.stack([x - 16, y - 16, 64 - x, 48 - y])[None].clamp(min=1.0)
    good = detection_loss(logits, right, centres, targets)
    bad = detection_loss(torch.zeros(1, len(CLASSES), 15, 20), torch.full((1, 4, 15, 20), 3.0), centres,
                         targets)
    assert good["giou"] < 0.05 and good["heat"] < 0.05
    assert bad["giou"] > 0.5 and bad["heat"] > 1.0


@pytest.mark.slow
def test_short_run_learns_resumes_and_is_evaluated(clip_sets: dict[int, Path],
                                                   tmp_path: Path) -> None:
    config = DetectorConfig(**SMALL)
    clips = find_clips(clip_sets[2]) + find_clips(clip_sets[3])
    train = DetectorTrainConfig(steps=40, batch=8, lr=3e-3, warmup=5, frames_per_clip=6,
                                val_frames_per_clip=3, val_every=40, log_every=10)
    run = DetectorRun(out=tmp_path / "run", model=config, train=train, clips=clips,
                      val_clips=clips[:2])
    first = train_detector(run, stop_after=25)
    assert first["step"] == 25 and (tmp_path / "run" / "last.pt").is_file()
    summary = train_detector(run, resume=True)
    assert summary["step"] == 40
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    losses = [r["total"] for r in log if "total" in r]
    assert len(losses) == 4 and losses[-1] < 0.9 * losses[0]
    assert any("val_map50" in r for r in log)
    out = tmp_path / "det.json"
    assert eval_main(["--task", "detector", "--data", str(clip_sets[3]), "--model",
                      str(tmp_path / "run" / "model.pt"), "--frames-per-clip", "2",
                      "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert set(report) >= {"map50", "map50_95", "per_class", "frames_per_second"}
    assert report["frames"] == 4 and 0.0 <= report["map50"] <= 1.0
