"""The detector network: shapes, the in-graph peak extraction, checkpoints. (Its ONNX graph:
tests/runtime/test_onnx_export.py; the wrapper that runs either: tests/vision/test_detector.py.)"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from crn_live.config import DetectorConfig
from crn_live.instruments import CLASSES
from crn_live.models import CheckpointError, load_checkpoint, save_checkpoint
from crn_live.models.detector import InstrumentDetector
from crn_live.vision.detector import OwnDetector
from tests.helpers import TINY_DETECTOR, tiny_detector


@pytest.fixture(scope="module")
def lively() -> InstrumentDetector:
    """A tiny detector with random weights and BatchNorm statistics, in eval mode."""
    return tiny_detector()


def test_outputs_are_peaks_and_boxes_around_cells(lively: InstrumentDetector) -> None:
    with torch.no_grad():
        scores, boxes = lively(torch.rand(2, 3, 64, 96))
    assert scores.shape == (2, len(CLASSES), 8, 12) and boxes.shape == (2, 4, 8, 12)
    heat = torch.sigmoid(lively.heads(torch.zeros(1, 3, 64, 96))[0])
    assert heat.shape == (1, len(CLASSES), 8, 12)
    s = scores.numpy()
    for b, c in zip(*np.nonzero(s.max(axis=(2, 3)) > 0)):
        for y, x in zip(*np.nonzero(s[b, c])):  # every non-zero is a 3x3 local maximum
            window = s[b, c, max(0, y - 1):y + 2, max(0, x - 1):x + 2]
            assert s[b, c, y, x] >= window.max()
    centres = lively.centres.numpy()
    b = boxes.numpy() * np.array([96, 64, 96, 64], np.float32)[None, :, None, None]
    assert np.all(b[:, 0] < centres[0]) and np.all(b[:, 2] > centres[0])
    assert np.all(b[:, 1] < centres[1]) and np.all(b[:, 3] > centres[1])


def test_wrong_input_size_is_refused(lively: InstrumentDetector) -> None:
    with pytest.raises(ValueError, match="image must be"):
        lively(torch.rand(1, 3, 60, 96))


def test_checkpoint_round_trip_and_kind_refusal(lively: InstrumentDetector,
                                                tmp_path: Path) -> None:
    path = tmp_path / "det.pt"
    save_checkpoint(path, lively, TINY_DETECTOR, {"step": 3}, half=True)
    checkpoint = load_checkpoint(path)
    assert checkpoint.kind == "detector" and checkpoint.config == TINY_DETECTOR
    frame = np.random.default_rng(0).integers(0, 255, (120, 200, 3), np.uint8)
    detector = OwnDetector.load(path, threshold=0.05)
    found = detector.detect(frame)
    assert found.boxes.shape[1] == 4 and np.all(found.boxes[:, 2] <= 200)
    with pytest.raises(CheckpointError, match="another model config"):
        load_checkpoint(path, expected=DetectorConfig())
    from crn_live.separation import BUNDLED_MODEL

    with pytest.raises(CheckpointError, match="not a detector"):
        OwnDetector.load(BUNDLED_MODEL)
