"""The detector network: shapes, the in-graph peak extraction, checkpoints, and its ONNX graph in
onnxruntime against PyTorch (the graph TensorRT is built from)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from crn_live.config import DetectorConfig
from crn_live.errors import UserError
from crn_live.models import CheckpointError, load_checkpoint, save_checkpoint
from crn_live.models.detector import InstrumentDetector
from crn_live.vision.detector import CONFIG_KEY, OwnDetector, open_detector
from crn_live.runtime.onnx_export import detector_parity, export_detector

TINY = DetectorConfig(input_width=96, input_height=64, widths=(4, 8, 8, 16, 16), neck_width=8)


@pytest.fixture(scope="module")
def lively() -> InstrumentDetector:
    """A tiny detector with random weights and BatchNorm statistics, in eval mode."""
    torch.manual_seed(0)
    model = InstrumentDetector(TINY)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
        model.score.weight.mul_(40.0)  # distinct peaks, not a flat prior-level score map
        model.score.bias.fill_(-1.0)
        model.train()
        for _ in range(3):
            model(torch.rand(4, 3, 64, 96))
    return model.eval()


def test_outputs_are_peaks_and_boxes_around_cells(lively: InstrumentDetector) -> None:
    with torch.no_grad():
        scores, boxes = lively(torch.rand(2, 3, 64, 96))
    assert scores.shape == (2, 15, 8, 12) and boxes.shape == (2, 4, 8, 12)
    heat = torch.sigmoid(lively.heads(torch.zeros(1, 3, 64, 96))[0])
    assert heat.shape == (1, 15, 8, 12)
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
    save_checkpoint(path, lively, TINY, {"step": 3}, half=True)
    checkpoint = load_checkpoint(path)
    assert checkpoint.kind == "detector" and checkpoint.config == TINY
    frame = np.random.default_rng(0).integers(0, 255, (120, 200, 3), np.uint8)
    detector = OwnDetector.load(path, threshold=0.05)
    found = detector.detect(frame)
    assert found.boxes.shape[1] == 4 and np.all(found.boxes[:, 2] <= 200)
    with pytest.raises(CheckpointError, match="another model config"):
        load_checkpoint(path, expected=DetectorConfig())
    from crn_live.separation import BUNDLED_MODEL

    with pytest.raises(CheckpointError, match="not a detector"):
        OwnDetector.load(BUNDLED_MODEL)


@pytest.fixture(scope="module")
def graph(lively: InstrumentDetector, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_detector(lively, tmp_path_factory.mktemp("onnx") / "detector.onnx")


def test_onnx_graph_matches_torch(lively: InstrumentDetector, graph: Path) -> None:
    onnx.checker.check_model(onnx.load(str(graph)), full_check=True)
    images = np.random.default_rng(1).random((3, 3, 64, 96), dtype=np.float32)
    parity = detector_parity(lively, graph, images)
    assert parity["max_abs_err"] <= 1e-4


def test_onnx_detector_gives_the_torch_detections(lively: InstrumentDetector, graph: Path,
                                                  tmp_path: Path) -> None:
    save_checkpoint(tmp_path / "det.pt", lively, TINY)
    frames = [np.random.default_rng(k).integers(0, 255, (240, 320, 3), np.uint8)
              for k in range(3)]
    on_torch = OwnDetector.load(tmp_path / "det.pt", threshold=0.3).detect_batch(frames)
    on_onnx = open_detector(graph, threshold=0.3)
    assert isinstance(on_onnx, OwnDetector) and on_onnx.config == TINY
    assert sum(len(d) for d in on_torch) >= 3  # something to compare
    for a, b in zip(on_torch, on_onnx.detect_batch(frames)):  # same set; near-ties may reorder
        order_a = np.lexsort((a.boxes[:, 1], a.boxes[:, 0], a.labels))
        order_b = np.lexsort((b.boxes[:, 1], b.boxes[:, 0], b.labels))
        assert a.labels[order_a].tolist() == b.labels[order_b].tolist()
        np.testing.assert_allclose(a.boxes[order_a], b.boxes[order_b], atol=1e-3)
        np.testing.assert_allclose(a.scores[order_a], b.scores[order_b], atol=1e-5)


def test_onnx_metadata_is_checked(graph: Path, tmp_path: Path) -> None:
    model = onnx.load(str(graph))
    for prop in model.metadata_props:
        if prop.key == CONFIG_KEY:
            prop.value = prop.value.replace('"neck_width": 8', '"neck_width": 9')
    onnx.save(model, str(tmp_path / "edited.onnx"))
    with pytest.raises(UserError, match="does not match its hash"):
        OwnDetector.from_onnx(tmp_path / "edited.onnx")
    with pytest.raises(UserError, match="not found"):
        OwnDetector.from_onnx(tmp_path / "missing.onnx")
