"""An external ONNX detector with a YOLO output, its classes mapped onto ours.

``--detector MODEL.onnx --detector-labels LABELS.txt`` runs a detector trained on real photos
(e.g. an Ultralytics YOLOv8 model trained on Open Images V7, exported with
``yolo export model=yolov8m-oiv7.pt format=onnx``) through onnxruntime. Its class names come from
the labels file or the model's ``names`` metadata and are mapped onto our classes by the synonym
table of :mod:`crn_live.vision.labels`.

The class map is applied *before* each box picks its best class: the score columns of external
classes mapping onto the same class of ours are merged by max and every other column is dropped,
so a box whose top class is, say, ``Person`` but whose ``Violin`` score passes the threshold is
still found as a violin.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort

from crn_live.instruments import CLASSES
from crn_live.errors import UserError
from crn_live.vision.decode import Detections, decode_yolo, letterbox
from crn_live.vision.labels import class_map, first_line, labels_from_metadata, read_labels

#: Input side used where the model's input height or width is dynamic.
DEFAULT_SIZE = 640
_INPUT_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}
_EXPORT_HINT = "export it with e.g. 'yolo export model=yolov8m-oiv7.pt format=onnx'"


def providers() -> list[str]:
    """onnxruntime execution providers to use: CUDA first when available, then CPU."""
    cuda = "CUDAExecutionProvider"
    return ([cuda] if cuda in ort.get_available_providers() else []) + ["CPUExecutionProvider"]


def open_session(path: Path, threads: int) -> ort.InferenceSession:
    """An onnxruntime session for the model at ``path``; UserError when it cannot be loaded."""
    if not path.is_file():
        raise UserError(f"detector model {path} not found; give the path of an ONNX file with "
                        f"--detector MODEL.onnx")
    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), options, providers=providers())
    except Exception as e:  # noqa: BLE001 - onnxruntime raises many kinds for a bad model
        raise UserError(f"cannot load detector {path} with onnxruntime ({first_line(e)}); "
                        f"give an ONNX model, {_EXPORT_HINT}") from None


def input_spec(session: ort.InferenceSession, name: str) -> tuple[str, int, int, type]:
    """The first graph input: ``(name, height, width, dtype)``, NCHW with 3 channels.

    Dynamic (symbolic) height or width is :data:`DEFAULT_SIZE`.
    """
    spec = session.get_inputs()[0]
    shape = list(spec.shape)
    if len(shape) != 4 or (isinstance(shape[1], int) and shape[1] != 3):
        raise UserError(f"{name} takes input {spec.name} of shape {shape}, not an NCHW image "
                        f"(1, 3, H, W); {_EXPORT_HINT}")
    if spec.type not in _INPUT_TYPES:
        raise UserError(f"{name} takes {spec.type} input, not float images; {_EXPORT_HINT}")
    height, width = (d if isinstance(d, int) and d > 0 else DEFAULT_SIZE for d in shape[2:])
    return spec.name, height, width, _INPUT_TYPES[spec.type]


def yolo_layout(shape: Sequence[int], n_classes: int) -> str | None:
    """Which YOLO layout a per-image output ``shape`` (2 ints) is for ``n_classes`` classes.

    Returns:
        ``"v8"`` for ``(4 + C, N)``, ``"rows"`` for ``(N, 4 + C)``, ``"v5"`` for ``(N, 5 + C)``
        (objectness column first), None for none of them. Same precedence as ``decode_yolo``.
    """
    a, b = shape
    if a == 4 + n_classes and b != 4 + n_classes:
        return "v8"
    if b == 4 + n_classes:
        return "rows"
    if b == 5 + n_classes:
        return "v5"
    return None


def split_yolo(output: np.ndarray, layout: str) -> tuple[np.ndarray, np.ndarray,
                                                         np.ndarray | None]:
    """A per-image YOLO output -> ``xywh (N, 4)``, class scores ``(C, N)``, objectness ``(N,)``
    (None except for ``"v5"``). Views where possible."""
    if layout == "v8":
        return output[:4].T, output[4:], None
    if layout == "rows":
        return output[:, :4], output[:, 4:].T, None
    return output[:, :4], output[:, 5:].T, output[:, 4]


def class_groups(mapping: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Our classes present in a class map ``(C,)`` and, for each, the external columns onto it.

    Returns:
        ``present (K,)`` int64 indices into :data:`CLASSES`, and K index arrays.
    """
    present = np.unique(mapping[mapping >= 0]).astype(np.int64)
    return present, [np.nonzero(mapping == c)[0] for c in present]


class ExternalDetector:
    """An ONNX YOLO-layout detector whose detections are labelled with our :data:`CLASSES`."""

    classes: tuple[str, ...] = CLASSES

    def __init__(self, model_path: str | os.PathLike, labels_path: str | os.PathLike | None = None,
                 threshold: float = 0.25, nms_iou: float = 0.5, max_detections: int = 16,
                 threads: int = 2) -> None:
        self.model_path = Path(model_path)
        self.threshold, self.nms_iou, self.max_detections = threshold, nms_iou, max_detections
        self.session = open_session(self.model_path, threads)
        self.input_name, self.input_height, self.input_width, self._dtype = input_spec(
            self.session, self.model_path.name)
        self.output_name = self.session.get_outputs()[0].name
        self.names, overrides, self._labels_source = self._labels(labels_path)
        self.class_map = class_map(self.names, overrides)
        self.present, self._groups = class_groups(self.class_map)
        if len(self.present) == 0:
            raise UserError(
                f"none of the {len(self.names)} classes of {self.model_path.name} is an "
                f"instrument crn-live separates; see the synonym table in "
                f"crn_live/vision/labels.py or map them in the labels file with 'name = Violin'")
        self._check_static_output()

    def _labels(self, labels_path: str | os.PathLike | None
                ) -> tuple[tuple[str, ...], dict[str, str | None], str]:
        """Class names, overrides and where they came from (for messages)."""
        if labels_path is not None:
            labels = read_labels(labels_path)
            return labels.names, labels.overrides, str(labels_path)
        names = labels_from_metadata(self.session.get_modelmeta().custom_metadata_map)
        if names is None:
            raise UserError(f"{self.model_path.name} stores no class names; give "
                            f"--detector-labels LABELS.txt with one class name per line in the "
                            f"model's output order")
        return tuple(names), {}, f"the metadata of {self.model_path.name}"

    def _check_static_output(self) -> None:
        """Check the output layout against the labels now when the output shape is static."""
        shape = list(self.session.get_outputs()[0].shape)
        if len(shape) in (2, 3) and all(isinstance(d, int) and d > 0 for d in shape):
            self._layout(tuple(shape))

    def _layout(self, shape: tuple[int, ...]) -> str:
        """The YOLO layout of a model output ``shape`` (``(1, a, b)`` or ``(a, b)``)."""
        n = len(self.names)
        layout = yolo_layout(shape[-2:], n) if len(shape) in (2, 3) else None
        if layout is None:
            guess = min(shape[-2:]) - 4 if len(shape) in (2, 3) else "no"
            raise UserError(
                f"the output shape {shape} of {self.model_path.name} does not fit the {n} class "
                f"names of {self._labels_source} (a YOLO output has 4+{n} or 5+{n} values per "
                f"box; this one looks like {guess} classes); give the labels file that belongs "
                f"to this model")
        return layout

    def describe(self) -> str:
        """One line: model, input size, class count and how many classes map onto ours."""
        mapped = int((self.class_map >= 0).sum())
        return (f"external YOLO detector {self.model_path.name} ({self.input_width}x"
                f"{self.input_height}, {len(self.names)} classes, {mapped} map onto ours)")

    def detect(self, frame_bgr: np.ndarray) -> Detections:
        """Instruments in a BGR uint8 frame ``(h, w, 3)``.

        Returns:
            :class:`Detections` in frame pixels, labels indexing :data:`CLASSES`, best first.
        """
        image, fit = letterbox(frame_bgr, self.input_width, self.input_height)
        output = self.session.run([self.output_name],
                                  {self.input_name: image[None].astype(self._dtype)})[0]
        found = self._decode(np.asarray(output))
        if len(found) == 0:
            return found
        height, width = frame_bgr.shape[:2]
        return Detections(fit.to_frame(found.boxes, width, height),
                          found.scores.astype(np.float32), self.present[found.labels])

    def _decode(self, output: np.ndarray) -> Detections:
        """A raw model output ``(1, a, b)`` -> detections in input pixels, labels indexing
        :attr:`present`."""
        layout = self._layout(output.shape)
        per_image = (output[0] if output.ndim == 3 else output).astype(np.float32, copy=False)
        xywh, scores, objectness = split_yolo(per_image, layout)
        merged = np.stack([scores[cols].max(axis=0) for cols in self._groups], axis=1)
        if objectness is not None:
            merged = merged * objectness[:, None]
        keep = np.nonzero(merged.max(axis=1) >= self.threshold)[0]
        if len(keep) == 0:
            return Detections.empty()
        reduced = np.concatenate([xywh[keep], merged[keep]], axis=1)
        return decode_yolo(reduced, len(self.present), self.threshold, self.nms_iou,
                           self.max_detections)
