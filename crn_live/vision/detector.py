"""Our instrument detector at inference: frames in, :class:`Detections` in frame pixels out.

:class:`OwnDetector` runs the trained :class:`~crn_live.models.detector.InstrumentDetector`
either in PyTorch (from a checkpoint; the bundled one by default) or in onnxruntime (from the
ONNX graph ``python export/build_engines.py --onnx-only`` writes, which carries its detector config in its metadata).
Each frame is letterboxed to the network input, the graph gives peak scores and boxes, and
:func:`~crn_live.vision.decode.decode_peaks` picks the detections (per-class NMS outside the
graph). Returned labels index :attr:`OwnDetector.classes`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np

from crn_live.config import DetectorConfig, config_hash, from_dict
from crn_live.errors import UserError
from crn_live.vision.decode import Detections, decode_peaks, letterbox

BUNDLED_DETECTOR = Path(__file__).resolve().parents[1] / "weights" / "detector_small.pt"
#: ONNX metadata keys written by the export and read back here.
CONFIG_KEY = "crn_live.detector_config"
HASH_KEY = "crn_live.detector_config_hash"


class OwnDetector:
    """The project's detector on torch or onnxruntime.

    Args:
        config: the detector's config (input size, classes, default thresholds).
        run: ``images (B, 3, H, W)`` float32 -> ``(scores (B, C, h, w), boxes (B, 4, h, w))``.
        threshold / nms_iou / max_detections: decoding settings (the config's by default).
        name: what :meth:`describe` calls the model.
    """

    def __init__(self, config: DetectorConfig, run, threshold: float | None = None,
                 nms_iou: float | None = None, max_detections: int | None = None,
                 name: str = "detector") -> None:
        self.config = config
        self._run = run
        self.threshold = config.score_threshold if threshold is None else threshold
        self.nms_iou = config.nms_iou if nms_iou is None else nms_iou
        self.max_detections = config.max_detections if max_detections is None else max_detections
        self.name = name

    @property
    def classes(self) -> tuple[str, ...]:
        return self.config.classes

    def network(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The network alone (no letterbox, no decoding): ``images (B, 3, H, W)`` float32 RGB in
        ``[0, 1]`` -> ``scores (B, C, h, w)``, ``boxes (B, 4, h, w)``."""
        return self._run(images)

    @classmethod
    def load(cls, path: Path | None = None, device: str = "cpu", **decoding) -> "OwnDetector":
        """A detector checkpoint (kind ``detector``; default: the bundled one) on torch."""
        checkpoint = detector_checkpoint(path)
        return cls.from_model(checkpoint.model.to(device), device,
                              Path(path or BUNDLED_DETECTOR).name, **decoding)

    @classmethod
    def from_model(cls, model, device: str = "cpu", name: str = "detector",
                   **decoding) -> "OwnDetector":
        """An :class:`~crn_live.models.detector.InstrumentDetector` already on ``device``, run in
        eval mode (a model in training is put back in training mode after each call)."""
        import torch

        @torch.no_grad()
        def run(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            was_training = model.training
            model.eval()
            try:
                scores, boxes = model(torch.from_numpy(images).to(device))
            finally:
                model.train(was_training)
            return scores.cpu().numpy(), boxes.cpu().numpy()

        return cls(model.config, run, name=name, **decoding)

    @classmethod
    def from_onnx(cls, path: Path, threads: int = 2, **decoding) -> "OwnDetector":
        """The exported detector graph on onnxruntime (CUDA provider first when present)."""
        import onnx
        import onnxruntime

        path = Path(path)
        if not path.is_file():
            raise UserError(f"detector graph {path} not found: export it with python "
                            f"export/build_engines.py --onnx-only (engines/onnx/detector.onnx)")
        try:
            meta = {p.key: p.value for p in onnx.load(str(path), load_external_data=False)
                    .metadata_props}
            config = from_dict(DetectorConfig, json.loads(meta[CONFIG_KEY]))
        except KeyError:
            raise UserError(f"{path} is not a crn-live detector graph (no {CONFIG_KEY} "
                            f"metadata); for another YOLO-layout model use --detector with "
                            f"--detector-labels") from None
        except Exception as error:  # noqa: BLE001 - any unreadable file is the same problem
            raise UserError(f"cannot read {path} as an ONNX detector ({type(error).__name__}); "
                            f"re-export it with python export/build_engines.py --onnx-only") from None
        if meta.get(HASH_KEY) != config_hash(config):
            raise UserError(f"{path}: the detector config in its metadata does not match its "
                            f"hash; re-export it with python export/build_engines.py --onnx-only")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider")
                     if p in onnxruntime.get_available_providers()]
        session = onnxruntime.InferenceSession(str(path), options, providers=providers)

        def run(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            scores, boxes = session.run(["scores", "boxes"], {"image": images})
            return scores, boxes

        return cls(config, run, name=path.name, **decoding)

    def describe(self) -> str:
        c = self.config
        return (f"crn-live detector {self.name} ({c.input_width}x{c.input_height}, "
                f"{len(c.classes)} classes)")

    def detect(self, frame_bgr: np.ndarray) -> Detections:
        """Detections of one BGR uint8 frame ``(h, w, 3)``, boxes in its pixels."""
        return self.detect_batch([frame_bgr])[0]

    def detect_batch(self, frames_bgr: Sequence[np.ndarray]) -> list[Detections]:
        """Detections of several frames (one network call), boxes in each frame's pixels."""
        if not frames_bgr:
            return []
        c = self.config
        fitted = [letterbox(_checked(f), c.input_width, c.input_height) for f in frames_bgr]
        scores, boxes = self.network(np.stack([image for image, _ in fitted]))
        input_size = np.array([c.input_width, c.input_height] * 2, np.float32)[:, None, None]
        found = []
        for frame, (_, box), s, b in zip(frames_bgr, fitted, scores, boxes):
            d = decode_peaks(s, b * input_size, self.threshold, self.nms_iou,
                             self.max_detections)
            h, w = frame.shape[:2]
            found.append(Detections(box.to_frame(d.boxes, w, h), d.scores, d.labels))
        return found


def _checked(frame: np.ndarray) -> np.ndarray:
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"a frame is BGR uint8 (h, w, 3), got {frame.dtype} {frame.shape}")
    return frame


def detector_checkpoint(path: Path | None = None):
    """The :class:`~crn_live.models.Checkpoint` of a detector (default: the bundled one), its
    model in eval mode on the CPU; one-line refusal of a missing file or another kind."""
    from crn_live.models import CheckpointError, load_checkpoint

    if path is None and not BUNDLED_DETECTOR.is_file():
        raise UserError(f"the bundled detector {BUNDLED_DETECTOR} is missing (a partial "
                        f"install?): reinstall crn-live, or give a detector checkpoint")
    path = BUNDLED_DETECTOR if path is None else Path(path)
    checkpoint = load_checkpoint(path)
    if checkpoint.kind != "detector":
        raise CheckpointError(f"{path} holds a {checkpoint.kind}, not a detector: use a "
                              f"checkpoint from crn-train --task detector")
    return checkpoint


def open_detector(path: Path | None = None, labels: Path | None = None, device: str = "cpu",
                  **decoding):
    """The detector a user names: none -> the bundled one; ``.pt`` -> our checkpoint on torch;
    ``.onnx`` -> our exported graph (it carries our metadata) or, with ``labels`` or names in
    its metadata, an external YOLO-layout model (:class:`~crn_live.vision.external.
    ExternalDetector`). Every detector has ``classes``, ``detect``, ``describe``."""
    decoding = {k: v for k, v in decoding.items() if v is not None}
    if path is None or Path(path).suffix.lower() != ".onnx":
        if labels is not None:
            raise UserError("--detector-labels goes with an external ONNX detector "
                            "(--detector MODEL.onnx)")
        return OwnDetector.load(path, device, **decoding)
    path = Path(path)
    if labels is None and path.is_file() and _has_own_metadata(path):
        return OwnDetector.from_onnx(path, **decoding)
    from crn_live.vision.external import ExternalDetector

    return ExternalDetector(path, labels, **decoding)


def _has_own_metadata(path: Path) -> bool:
    import onnx

    try:
        graph = onnx.load(str(path), load_external_data=False)
    except Exception:  # noqa: BLE001 - not readable: the external loader says why
        return False
    return any(p.key == CONFIG_KEY for p in graph.metadata_props)
