"""External ONNX detector: real ONNX graphs run by onnxruntime, class mapping, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from crn_live.instruments import CLASSES
from crn_live.errors import UserError
from crn_live.vision.decode import Detections
from crn_live.vision.external import ExternalDetector
from crn_live.vision.labels import labels_from_onnx

SIDE = 640
NAMES = ("Person", "French horn", "Car", "Violin", "Musical keyboard", "Piano")

#: A candidate box: ``[x0, y0, x1, y1]`` as fractions of the frame, and scores per class name.
Candidate = tuple[tuple[float, float, float, float], dict[str, float]]

#: Horn, Piano (merged by max), Violin, Violin under a top "Person", Person/Car, a weak Violin.
CANDIDATES: tuple[Candidate, ...] = (
    ((0.05, 0.10, 0.30, 0.50), {"French horn": 0.9}),
    ((0.40, 0.10, 0.70, 0.40), {"Musical keyboard": 0.8, "Piano": 0.3}),
    ((0.10, 0.60, 0.30, 0.95), {"Violin": 0.7, "Person": 0.2}),
    ((0.60, 0.50, 0.95, 0.95), {"Person": 0.95, "Violin": 0.6}),
    ((0.75, 0.05, 0.95, 0.30), {"Person": 0.9, "Car": 0.8}),
    ((0.40, 0.50, 0.50, 0.60), {"Violin": 0.1}),
)
N_BOXES = 32


def fit(frame_w: int, frame_h: int) -> tuple[float, float, float]:
    """Letterbox of a frame into the SIDE x SIDE input: ``(scale, pad_x, pad_y)``."""
    scale = min(SIDE / frame_w, SIDE / frame_h)
    return (scale, (SIDE - round(frame_w * scale)) // 2, (SIDE - round(frame_h * scale)) // 2)


def frame_box(fractions: tuple[float, ...], frame_w: int, frame_h: int) -> np.ndarray:
    """Fractions of the frame -> frame pixels ``(4,)``."""
    return np.array(fractions) * [frame_w, frame_h, frame_w, frame_h]


def candidate_rows(frame_w: int, frame_h: int, names: tuple[str, ...] = NAMES,
                   candidates: tuple[Candidate, ...] = CANDIDATES) -> np.ndarray:
    """YOLOv8 per-image output ``(4 + C, N)``: cx, cy, w, h in input pixels, then scores."""
    scale, pad_x, pad_y = fit(frame_w, frame_h)
    out = np.zeros((4 + len(names), N_BOXES), np.float32)
    for i, (fractions, scores) in enumerate(candidates):
        x0, y0, x1, y1 = frame_box(fractions, frame_w, frame_h) * scale + [pad_x, pad_y] * 2
        out[:4, i] = [(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0]
        for name, score in scores.items():
            out[4 + names.index(name), i] = score
    return out


def write_model(path: Path, output: np.ndarray, names: tuple[str, ...] | None = None,
                dynamic: bool = False) -> Path:
    """An ONNX model ``images (1, 3, SIDE, SIDE) -> output0 (1, *output.shape)``.

    The output is the constant plus ``0 * mean(images)``, so it depends on the input. With
    ``dynamic``, the input's H, W and the output's shape are symbolic.
    """
    const = output[None].astype(np.float32)
    in_shape = ["n", 3, "h", "w"] if dynamic else [1, 3, SIDE, SIDE]
    out_shape = ["b", "rows", "cols"] if dynamic else list(const.shape)
    nodes = [
        helper.make_node("Constant", [], ["table"], value=numpy_helper.from_array(const)),
        helper.make_node("Constant", [], ["zero"],
                         value=numpy_helper.from_array(np.zeros(1, np.float32))),
        helper.make_node("ReduceMean", ["images"], ["mean"], axes=[1, 2, 3], keepdims=0),
        helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
        helper.make_node("Add", ["table", "nothing"], ["summed" if dynamic else "output0"]),
    ]
    if dynamic:  # reshape to (batch, -1, N): onnxruntime cannot infer the output shape
        nodes += reshape_by_batch("summed", "output0", const.shape[-1])
    graph = helper.make_graph(
        nodes, "yolo_stub",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, out_shape)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    if names is not None:
        helper.set_model_props(model, {"names": str(dict(enumerate(names)))})
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def reshape_by_batch(source: str, target: str, columns: int) -> list[onnx.NodeProto]:
    """Nodes reshaping ``source`` to ``(batch of images, -1, columns)``."""
    return [
        helper.make_node("Shape", ["images"], ["image_shape"]),
        helper.make_node("Constant", [], ["first"], value=numpy_helper.from_array(
            np.array([0], np.int64))),
        helper.make_node("Gather", ["image_shape", "first"], ["batch"], axis=0),
        helper.make_node("Constant", [], ["rest"], value=numpy_helper.from_array(
            np.array([-1, columns], np.int64))),
        helper.make_node("Concat", ["batch", "rest"], ["out_shape"], axis=0),
        helper.make_node("Reshape", [source, "out_shape"], [target]),
    ]


def write_labels(path: Path, lines: list[str] | tuple[str, ...]) -> Path:
    """A labels file of ``lines``."""
    path.write_text("\n".join(lines) + "\n")
    return path


def detector(tmp_path: Path, output: np.ndarray, names: tuple[str, ...] = NAMES,
             labels: list[str] | tuple[str, ...] | None = None, meta: bool = False,
             dynamic: bool = False, use_file: bool = True,
             threshold: float = 0.25) -> ExternalDetector:
    """A detector on a stub model of ``names``.

    Args:
        labels: labels file lines, ``names`` by default.
        meta: store ``names`` in the model's metadata.
        dynamic: symbolic input and output shapes.
        use_file: give the labels file (else the names come from the metadata).
    """
    model = write_model(tmp_path / "model.onnx", output, names if meta else None, dynamic)
    labels_path = write_labels(tmp_path / "labels.txt", names if labels is None else labels)
    return ExternalDetector(model, labels_path if use_file else None, threshold=threshold,
                            threads=1)


def frame(width: int, height: int) -> np.ndarray:
    """A random BGR frame ``(height, width, 3)`` uint8."""
    return np.random.default_rng(0).integers(0, 255, (height, width, 3), np.uint8)


def found(dets: Detections) -> list[tuple[str, float]]:
    """``(class name, score)`` per detection, best first."""
    return [(CLASSES[label], round(float(score), 3)) for label, score in
            zip(dets.labels, dets.scores)]


EXPECTED = [("Horn", 0.9), ("Piano", 0.8), ("Violin", 0.7), ("Violin", 0.6)]
EXPECTED_ROWS = [0, 1, 2, 3]


def check_boxes(dets: Detections, width: int, height: int) -> None:
    """Boxes within 1 px of the expected candidates' frame boxes."""
    for box, row in zip(dets.boxes, EXPECTED_ROWS):
        expected = frame_box(CANDIDATES[row][0], width, height)
        np.testing.assert_allclose(box, expected, atol=1.0)


@pytest.mark.parametrize("width, height", [(640, 360), (320, 240), (300, 500)])
def test_yolov8_layout_maps_classes_and_frame_boxes(tmp_path: Path, width: int,
                                                    height: int) -> None:
    det = detector(tmp_path, candidate_rows(width, height))
    dets = det.detect(frame(width, height))
    assert found(dets) == EXPECTED
    assert dets.labels.dtype == np.int64 and dets.boxes.dtype == np.float32
    check_boxes(dets, width, height)


def test_transposed_layout(tmp_path: Path) -> None:
    det = detector(tmp_path, candidate_rows(640, 360).T)
    dets = det.detect(frame(640, 360))
    assert found(dets) == EXPECTED
    check_boxes(dets, 640, 360)


def test_yolov5_layout_with_objectness(tmp_path: Path) -> None:
    v8 = candidate_rows(320, 240)
    objectness = np.full((1, N_BOXES), 0.5, np.float32)
    v5 = np.concatenate([v8[:4], objectness, v8[4:]]).T
    dets = detector(tmp_path, v5).detect(frame(320, 240))
    assert found(dets) == [(name, round(score / 2, 3)) for name, score in EXPECTED]
    check_boxes(dets, 320, 240)


def test_instrument_under_a_non_instrument_top_class_is_found(tmp_path: Path) -> None:
    only = (CANDIDATES[3],)
    det = detector(tmp_path, candidate_rows(640, 360, candidates=only))
    dets = det.detect(frame(640, 360))
    assert found(dets) == [("Violin", 0.6)]
    np.testing.assert_allclose(dets.boxes[0], frame_box(only[0][0], 640, 360), atol=1.0)


def test_nothing_above_threshold_is_empty(tmp_path: Path) -> None:
    det = detector(tmp_path, candidate_rows(640, 360), threshold=0.99)
    dets = det.detect(frame(640, 360))
    assert len(dets) == 0 and dets.boxes.shape == (0, 4)


def test_labels_from_onnx_metadata(tmp_path: Path) -> None:
    det = detector(tmp_path, candidate_rows(640, 360), meta=True, use_file=False)
    assert det.names == NAMES
    assert found(det.detect(frame(640, 360))) == EXPECTED
    path = tmp_path / "model.onnx"
    assert labels_from_onnx(path) == list(NAMES)
    assert labels_from_onnx(onnx.load(path)) == list(NAMES)


def test_labels_from_onnx_absent(tmp_path: Path) -> None:
    path = write_model(tmp_path / "plain.onnx", candidate_rows(640, 360))
    assert labels_from_onnx(path) is None
    with pytest.raises(UserError, match="--detector-labels"):
        ExternalDetector(path, threads=1)


def test_labels_file_overrides_in_detection(tmp_path: Path) -> None:
    lines = ["Person = Violin", "French horn", "Car", "Violin = -", "Musical keyboard", "Piano"]
    det = detector(tmp_path, candidate_rows(640, 360), labels=lines)
    got = sorted(found(det.detect(frame(640, 360))))
    assert got == sorted([("Violin", 0.95), ("Violin", 0.9), ("Horn", 0.9), ("Piano", 0.8)])


def test_label_count_not_fitting_static_output(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"5 class names.*6 classes"):
        detector(tmp_path, candidate_rows(640, 360), labels=NAMES[:5])


def test_label_count_not_fitting_dynamic_output_fails_at_first_run(tmp_path: Path) -> None:
    det = detector(tmp_path, candidate_rows(640, 360), labels=NAMES[:5], dynamic=True)
    assert (det.input_width, det.input_height) == (640, 640)
    with pytest.raises(UserError, match=r"5 class names.*6 classes"):
        det.detect(frame(640, 360))


def test_dynamic_model_detects(tmp_path: Path) -> None:
    det = detector(tmp_path, candidate_rows(640, 360), dynamic=True)
    assert found(det.detect(frame(640, 360))) == EXPECTED


def test_no_class_maps_onto_ours(tmp_path: Path) -> None:
    names = ("Person", "Car")
    with pytest.raises(UserError, match="none of the 2 classes of model.onnx"):
        detector(tmp_path, np.zeros((6, N_BOXES), np.float32), names=names)


def test_missing_model(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not found"):
        ExternalDetector(tmp_path / "nope.onnx", threads=1)


def test_garbage_model(tmp_path: Path) -> None:
    path = tmp_path / "garbage.onnx"
    path.write_bytes(b"this is not a protobuf \x00\xff" * 10)
    with pytest.raises(UserError, match="cannot load detector") as info:
        ExternalDetector(path, threads=1)
    assert "\n" not in str(info.value)


def test_missing_labels_file(tmp_path: Path) -> None:
    path = write_model(tmp_path / "model.onnx", candidate_rows(640, 360))
    with pytest.raises(UserError, match="cannot read labels file"):
        ExternalDetector(path, tmp_path / "nope.txt", threads=1)


def test_describe(tmp_path: Path) -> None:
    det = detector(tmp_path, candidate_rows(640, 360))
    assert det.describe() == ("external YOLO detector model.onnx (640x640, 6 classes, "
                              "4 map onto ours)")
    assert det.classes == CLASSES
