"""The detector a user names or the bundled one: the bundled detector on generated frames (torch
and its ONNX graph), a tiny one on torch and onnxruntime alike, its graph's metadata checked,
and which kind of detector a file opens as. (The network itself:
tests/models/test_detector.py; ``bundled_detector``: tests/vision/conftest.py.)"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from crn_live.config import SynthConfig
from crn_live.data.clips import find_clips
from crn_live.data.scene import SceneRenderer, SlotVisual
from crn_live.instruments import CLASSES
from crn_live.data.video import read_frames
from crn_live.errors import UserError
from crn_live.models import load_checkpoint, save_checkpoint
from crn_live.models.detector import InstrumentDetector
from crn_live.runtime.onnx_export import export_detector
from crn_live.vision.decode import box_iou
from crn_live.vision.detector import BUNDLED_DETECTOR, CONFIG_KEY, OwnDetector, open_detector
from crn_live.vision.external import ExternalDetector
from tests.helpers import TINY_DETECTOR, tiny_detector


def _recall(detector, clips, frame_indices=(5, 40, 70),
            min_visible: float = 0.0) -> tuple[int, int]:
    """(instruments found with their class at IoU >= 0.5, instruments) over the frames, counting
    only instruments of which at least ``min_visible`` is not hidden by an occluder."""
    found = total = 0
    for clip in clips:
        frames = read_frames(clip.folder / "video.mp4", list(frame_indices))
        for index in frame_indices:
            detections = detector.detect(frames[index])
            for k, slot in enumerate(clip.slots):
                if clip.meta["slots"][k]["visible"][index] < min_visible:
                    continue
                total += 1
                same = [k for k, label in enumerate(detections.labels)
                        if detector.classes[label] == slot.class_name]
                if same and box_iou(slot.boxes[index], detections.boxes[same]).max() >= 0.5:
                    found += 1
    return found, total


def test_bundled_detector_finds_the_instruments_of_generated_frames(clip_sets,
                                                                   bundled_detector) -> None:
    """Of the instruments at least 70 % in view, 90 % are found. (Behind a music stand or a
    chair, half-hidden, the bundled detector misses some: in these scenes an electric bass 53 %
    in view is taken for a ukulele, a violin 67 % in view is missed.)"""
    clips = find_clips(clip_sets[2]) + find_clips(clip_sets[3])
    found, total = _recall(bundled_detector, clips, min_visible=0.7)
    assert total >= 30 and found >= 0.9 * total, (found, total)


#: A known weakness of the bundled detector (1000 steps on 28 classes): in these one-player
#: scenes it takes the acoustic guitar for an electric bass or misses it (2 of 6 frames).
_KNOWN_MISSES = {"Guitar": "taken for an Electric bass or missed in one-player scenes"}


@pytest.mark.slow
@pytest.mark.parametrize("class_name", [
    pytest.param(c, marks=pytest.mark.xfail(strict=True, reason=_KNOWN_MISSES[c]))
    if c in _KNOWN_MISSES else c for c in CLASSES])
def test_every_class_is_found_alone_in_a_drawn_scene(class_name, bundled_detector) -> None:
    """Each of the 28 classes, drawn by crn-synth's scene renderer in three scenes of its own,
    is found with its class and a box overlapping the true one by IoU >= 0.5 in most frames
    (4 of 6; the look-alikes Clarinet/Oboe, Viola/Violin and Erhu lose one scene each)."""
    silent = np.zeros(0)
    hits = 0
    for seed in (101, 202, 303):
        scene = SceneRenderer([SlotVisual(class_name, silent, silent)], SynthConfig(), seed)
        for index in (10, 60):
            found = bundled_detector.detect(scene.frame(index))
            mine = found.labels == CLASSES.index(class_name)
            hits += bool(mine.any() and box_iou(scene.boxes(index)[0],
                                                found.boxes[mine]).max() >= 0.5)
    assert hits >= 4, f"{class_name} found in {hits} of 6 frames"


def test_exported_graph_detects_the_same(clip_sets, bundled_detector, tmp_path) -> None:
    graph = export_detector(load_checkpoint(BUNDLED_DETECTOR).model, tmp_path / "det.onnx")
    on_onnx = open_detector(graph)
    assert isinstance(on_onnx, OwnDetector)
    seen = 0
    for clip in find_clips(clip_sets[3]):
        frame = read_frames(clip.folder / "video.mp4", [20])[20]
        a, b = bundled_detector.detect(frame), on_onnx.detect(frame)
        assert a.labels.tolist() == b.labels.tolist()
        np.testing.assert_allclose(a.boxes, b.boxes, atol=1e-2)
        seen += len(a)
    assert seen >= 4  # both 3-player scenes, most of their players found


def _foreign_yolo(path: Path) -> Path:
    """A YOLOv8-layout ONNX graph (no crn-live metadata) with one Violin-ish box."""
    rows = np.zeros((6, 3), np.float32)  # 4 + 2 classes, 3 candidates
    rows[:, 0] = [320, 320, 100, 80, 0.9, 0.0]
    const = helper.make_tensor("c", TensorProto.FLOAT, [1, 6, 3], rows.ravel().tolist())
    nodes = [helper.make_node("ReduceMean", ["images"], ["m"], keepdims=0),
             helper.make_node("Mul", ["m", "zero"], ["z"]),
             helper.make_node("Add", ["c", "z"], ["output0"])]
    graph = helper.make_graph(
        nodes, "yolo", [helper.make_tensor_value_info("images", TensorProto.FLOAT,
                                                      [1, 3, 640, 640])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 6, 3])],
        [const, helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(path))
    return path


def test_open_detector_picks_the_right_kind(tmp_path) -> None:
    assert isinstance(open_detector(None), OwnDetector)
    foreign = _foreign_yolo(tmp_path / "yolo.onnx")
    labels = tmp_path / "labels.txt"
    labels.write_text("Violin\nPerson\n")
    external = open_detector(foreign, labels)
    assert isinstance(external, ExternalDetector)
    found = external.detect(np.zeros((480, 640, 3), np.uint8))
    assert [external.classes[k] for k in found.labels] == ["Violin"]
    with pytest.raises(UserError, match="--detector-labels"):
        open_detector(foreign)
    with pytest.raises(UserError, match="external ONNX detector"):
        open_detector(BUNDLED_DETECTOR, labels)


@pytest.fixture(scope="module")
def tiny() -> InstrumentDetector:
    return tiny_detector()


@pytest.fixture(scope="module")
def graph(tiny: InstrumentDetector, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """:func:`tiny` exported to ONNX, with our metadata."""
    return export_detector(tiny, tmp_path_factory.mktemp("onnx") / "detector.onnx")


def test_onnx_detector_gives_the_torch_detections(tiny: InstrumentDetector, graph: Path,
                                                  tmp_path: Path) -> None:
    save_checkpoint(tmp_path / "det.pt", tiny, TINY_DETECTOR)
    frames = [np.random.default_rng(k).integers(0, 255, (240, 320, 3), np.uint8)
              for k in range(3)]
    on_torch = OwnDetector.load(tmp_path / "det.pt", threshold=0.3).detect_batch(frames)
    on_onnx = open_detector(graph, threshold=0.3)
    assert isinstance(on_onnx, OwnDetector) and on_onnx.config == TINY_DETECTOR
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
