"""Training the instrument detector on crn-synth frames (``crn-train --task detector``).

Frames come from the clips' videos, ``frames_per_clip`` evenly spread per clip, with the boxes of
``meta.json``; objects less than :data:`MIN_VISIBLE` visible (hidden behind another player) are
*ignored*: no target, no penalty. Each step draws a batch of augmented frames (random scale,
aspect, shift and mirror; colour, blur, noise and JPEG artefacts, as a webcam would add) and
trains the centre-point detector with TTFNet's targets: an elliptic Gaussian per object on its
class's score map (penalty-reduced focal loss) and GIoU box regression on the cells under the
Gaussian, weighted by it.

Randomness is a function of ``(seed, step)``, so a resumed run draws the batches the
uninterrupted run would have. A run folder holds ``model.pt`` (best validation mAP@0.5:0.95,
COCO's primary metric, which keeps improving after mAP@0.5 saturates; kind ``detector``),
``last.pt`` (resume state) and ``log.jsonl``.
"""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from crn_live.config import DetectorConfig, to_dict
from crn_live.data.clips import Clip
from crn_live.models import load_checkpoint, save_checkpoint
from crn_live.models.detector import InstrumentDetector, edge_boxes
from crn_live.training.evaluate import evaluate_detection
from crn_live.training.run_state import (
    RunState,
    append_log,
    load_run_state,
    save_run_state,
    warmup_cosine,
)
from crn_live.vision.average_precision import GroundTruth
from crn_live.vision.decode import PAD_VALUE
from crn_live.vision.detector import OwnDetector
from crn_live.vision.frames import FrameSet, load_frames

STATE_FORMAT = "crn-live-detector-train-state"
WEIGHTS_KEY = "weights"  # where last.pt keeps the weights
#: An object cut by the frame edge to less than this fraction of its area becomes ignored.
MIN_INSIDE = 0.4
#: Gaussian extent as a fraction of the box (TTFNet's alpha).
GAUSSIAN_ALPHA = 0.54
BOX_LOSS_WEIGHT = 5.0


@dataclasses.dataclass(frozen=True)
class DetectorTrainConfig:
    """How to train the detector (its sizes are its :class:`DetectorConfig`)."""

    steps: int = 3000
    batch: int = 16
    lr: float = 2e-3
    min_lr: float = 2e-5
    warmup: int = 150
    weight_decay: float = 1e-4
    frames_per_clip: int = 10
    val_frames_per_clip: int = 5
    scale: tuple[float, float] = (0.6, 1.4)
    val_every: int = 250
    log_every: int = 50
    seed: int = 0

    def lr_at(self, step: int) -> float:
        """Linear warm-up, then cosine decay from ``lr`` to ``min_lr`` at ``steps``."""
        return warmup_cosine(step, self.lr, self.min_lr, self.warmup, self.steps)


# ----------------------------------------------------------------------------- augmentation


def augment(image: np.ndarray, truth: GroundTruth, rng: np.random.Generator, width: int,
            height: int, scale: tuple[float, float] = (0.6, 1.4)) -> tuple[np.ndarray,
                                                                          GroundTruth]:
    """A randomly scaled, shifted, mirrored and re-coloured ``height x width`` BGR view of a
    frame, and its objects in the view's pixels."""
    h, w = image.shape[:2]
    sy = min(width / w, height / h) * rng.uniform(*scale)
    sx = sy * rng.uniform(0.9, 1.1)
    new_w, new_h = w * sx, h * sy
    tx = rng.uniform(min(0.0, width - new_w) - 0.15 * width, max(0.0, width - new_w) + 0.15 * width)
    ty = rng.uniform(min(0.0, height - new_h) - 0.15 * height,
                     max(0.0, height - new_h) + 0.15 * height)
    flip = rng.random() < 0.5
    a = -sx if flip else sx
    matrix = np.array([[a, 0.0, tx + (new_w if flip else 0.0)], [0.0, sy, ty]])
    view = cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(PAD_VALUE,) * 3)
    boxes = truth.boxes.astype(np.float64).copy()
    xs = boxes[:, [0, 2]] * a + matrix[0, 2]
    boxes[:, 0], boxes[:, 2] = xs.min(axis=1), xs.max(axis=1)
    boxes[:, [1, 3]] = boxes[:, [1, 3]] * sy + ty
    full = _area(boxes)
    boxes[:, 0::2] = boxes[:, 0::2].clip(0, width)
    boxes[:, 1::2] = boxes[:, 1::2].clip(0, height)
    inside = _area(boxes) / np.maximum(full, 1e-9)
    big = (boxes[:, 2] - boxes[:, 0] >= 3) & (boxes[:, 3] - boxes[:, 1] >= 3)
    ignore = truth.ignore | (inside < MIN_INSIDE)
    out = GroundTruth(boxes[big].astype(np.float32), truth.labels[big], ignore[big])
    return _photometric(view, rng), out


def _area(boxes: np.ndarray) -> np.ndarray:
    return (boxes[:, 2] - boxes[:, 0]).clip(0) * (boxes[:, 3] - boxes[:, 1]).clip(0)


def _photometric(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Colour, contrast, blur, sensor noise and JPEG artefacts, each at random."""
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV).astype(np.float32)
    hsv[:, :, 0] = (hsv[:, :, 0] + rng.uniform(-6, 6)) % 180
    hsv[:, :, 1] *= rng.uniform(0.7, 1.3)
    hsv[:, :, 2] *= rng.uniform(0.65, 1.3)
    out = cv2.cvtColor(hsv.clip(0, 255).astype(np.uint8), cv2.COLOR_HSV2BGR).astype(np.float32)
    out = (out - 128.0) * rng.uniform(0.75, 1.25) + 128.0
    if rng.random() < 0.2:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.5, 1.2))
    if rng.random() < 0.5:
        out += rng.normal(0.0, rng.uniform(1.0, 8.0), out.shape).astype(np.float32)
    out = out.clip(0, 255).astype(np.uint8)
    if rng.random() < 0.3:
        ok, jpeg = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 90))])
        out = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)
    return out


# ----------------------------------------------------------------------------- targets and loss


@dataclasses.dataclass(frozen=True)
class Targets:
    """Training targets of a batch (torch, float32).

    ``heat (B, C, h, w)``: 1 at object centres, Gaussian around; ``heat_mask (B, 1, h, w)``: 0
    over ignored objects; ``boxes (B, 4, h, w)`` and ``box_weight (B, h, w)``: the box a cell
    regresses and how much it counts.
    """

    heat: torch.Tensor
    heat_mask: torch.Tensor
    boxes: torch.Tensor
    box_weight: torch.Tensor


def centre_targets(truth: GroundTruth, config: DetectorConfig) -> tuple[np.ndarray, ...]:
    """``heat (C, h, w)``, ``heat_mask (1, h, w)``, ``boxes (4, h, w)``, ``box_weight (h, w)``."""
    h, w = config.output_size
    s = config.output_stride
    heat = np.zeros((len(config.classes), h, w), np.float32)
    mask = np.ones((1, h, w), np.float32)
    boxes = np.zeros((4, h, w), np.float32)
    weight = np.zeros((h, w), np.float32)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    order = np.argsort(-_area(truth.boxes.astype(np.float64)))  # small boxes written last
    for k in order:
        x0, y0, x1, y1 = truth.boxes[k]
        if truth.ignore[k]:
            mask[0, int(y0 // s):int(math.ceil(y1 / s)), int(x0 // s):int(math.ceil(x1 / s))] = 0
            continue
        cx = min(w - 1, int((x0 + x1) / 2 / s))
        cy = min(h - 1, int((y0 + y1) / 2 / s))
        sx = max(GAUSSIAN_ALPHA * (x1 - x0) / (6 * s), 0.35)
        sy = max(GAUSSIAN_ALPHA * (y1 - y0) / (6 * s), 0.35)
        g = np.exp(-((xs - cx) ** 2 / (2 * sx * sx) + (ys - cy) ** 2 / (2 * sy * sy)))
        g[cy, cx] = 1.0
        label = int(truth.labels[k])
        heat[label] = np.maximum(heat[label], g)
        region = g > 0.05
        area = max((x1 - x0) * (y1 - y0), 1.0)
        local = g * region
        boxes[:, region] = np.array([x0, y0, x1, y1], np.float32)[:, None]
        weight[region] = (local[region] / local.sum() * math.log(area)).astype(np.float32)
    return heat, mask, boxes, weight


def detection_loss(logits: torch.Tensor, distance: torch.Tensor, centres: torch.Tensor,
                   targets: Targets) -> dict[str, torch.Tensor]:
    """Penalty-reduced focal loss on the score maps + weighted GIoU of the boxes.

    Args:
        logits: ``(B, C, h, w)`` score logits; distance: ``(B, 4, h, w)`` edge distances;
        centres: ``(2, h, w)`` cell centres in input pixels.
    """
    heat = targets.heat
    positive = heat.eq(1.0).float()
    p = torch.sigmoid(logits)
    pos_loss = -(F.logsigmoid(logits) * (1 - p) ** 2 * positive).sum()
    neg_loss = -(F.logsigmoid(-logits) * p ** 2 * (1 - heat) ** 4 * (1 - positive)
                 * targets.heat_mask).sum()
    heat_loss = (pos_loss + neg_loss) / positive.sum().clamp(min=1.0)
    predicted = edge_boxes(centres, distance)
    weight = targets.box_weight
    if weight.sum() > 0:
        box_loss = (giou_loss(predicted, targets.boxes) * weight).sum() / weight.sum()
    else:
        box_loss = distance.sum() * 0.0
    return {"total": heat_loss + BOX_LOSS_WEIGHT * box_loss, "heat": heat_loss, "giou": box_loss}


def giou_loss(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``1 - GIoU`` per cell of boxes ``(B, 4, h, w)`` -> ``(B, h, w)``."""
    px0, py0, px1, py1 = predicted.unbind(1)
    tx0, ty0, tx1, ty1 = target.unbind(1)
    inter = ((torch.min(px1, tx1) - torch.max(px0, tx0)).clamp(min=0)
             * (torch.min(py1, ty1) - torch.max(py0, ty0)).clamp(min=0))
    union = (px1 - px0) * (py1 - py0) + (tx1 - tx0) * (ty1 - ty0) - inter
    hull = (torch.max(px1, tx1) - torch.min(px0, tx0)) * (torch.max(py1, ty1) - torch.min(py0, ty0))
    iou = inter / union.clamp(min=1e-6)
    return 1.0 - (iou - (hull - union) / hull.clamp(min=1e-6))


def make_batch(frames: FrameSet, rng: np.random.Generator, config: DetectorConfig,
               train: DetectorTrainConfig) -> tuple[torch.Tensor, Targets]:
    """``batch`` augmented frames ``(B, 3, H, W)`` RGB in ``[0, 1]`` and their targets."""
    picks = rng.integers(0, len(frames.images), train.batch)
    images, parts = [], []
    for index in picks:
        view, truth = augment(frames.images[index], frames.truths[index], rng, config.input_width,
                              config.input_height, train.scale)
        images.append(view[:, :, ::-1].transpose(2, 0, 1))
        parts.append(centre_targets(truth, config))
    # C-contiguous: a channels-last batch (what stacking transposed views gives) crashes the
    # CPU convolution backward of torch 2.13 for some channel counts
    image = torch.from_numpy(np.ascontiguousarray(np.stack(images), dtype=np.float32) / 255.0)
    heat, mask, boxes, weight = (torch.from_numpy(np.stack(p)) for p in zip(*parts))
    return image, Targets(heat, mask, boxes, weight)


# ----------------------------------------------------------------------------- validation


def validate(model: InstrumentDetector, frames: FrameSet, device: str = "cpu") -> dict:
    """The ``crn-eval --task detector`` report of ``model`` on ``frames`` (the same detector
    path: letterbox, network, decoding), scored from a 0.01 score threshold so the whole
    precision-recall curve counts."""
    detector = OwnDetector.from_model(model, device, threshold=0.01, max_detections=100)
    return evaluate_detection(detector, frames)


# ----------------------------------------------------------------------------- the run


@dataclasses.dataclass
class DetectorRun:
    """Everything one detector training run needs."""

    out: Path
    model: DetectorConfig
    train: DetectorTrainConfig
    clips: list[Clip]
    val_clips: list[Clip]
    device: str = "cpu"
    data_names: tuple[str, ...] = ()
    init: Path | None = None


def train_detector(run: DetectorRun, progress: Callable[[int, dict], None] | None = None,
                   resume: bool = False, stop_after: int | None = None,
                   loading: Callable[[int, int], None] | None = None) -> dict:
    """Train (or resume) ``run``; the summary ``{"step", "best_map50_95"}``.

    ``progress(step, info)`` after every step; ``loading(done, total)`` while frames are read;
    ``stop_after`` ends this call after that many steps (the state is saved as on Ctrl+C).
    """
    device = torch.device(run.device)
    torch.manual_seed(run.train.seed)
    model = InstrumentDetector(run.model)
    if run.init is not None:
        model.load_state_dict(load_checkpoint(run.init, expected=run.model).model.state_dict())
    model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=run.train.lr,
                                  weight_decay=run.train.weight_decay)
    state = RunState()
    last = run.out / "last.pt"
    if resume and last.is_file():
        state = load_run_state(last, STATE_FORMAT, run.model, "detector training", model,
                               optimizer, WEIGHTS_KEY)
    run.out.mkdir(parents=True, exist_ok=True)
    classes = run.model.classes
    frames = load_frames(run.clips, run.train.frames_per_clip, classes, run.train.seed, loading)
    val = load_frames(run.val_clips, run.train.val_frames_per_clip, classes,
                      run.train.seed + 1) if run.val_clips else None
    log_path = run.out / "log.jsonl"
    model.train()
    sums: dict[str, float] = {}
    summed, done_here = 0, 0
    started = time.perf_counter()
    try:
        while state.step < run.train.steps and (stop_after is None or done_here < stop_after):
            rng = np.random.default_rng([run.train.seed, state.step])
            image, targets = make_batch(frames, rng, run.model, run.train)
            for group in optimizer.param_groups:
                group["lr"] = run.train.lr_at(state.step)
            logits, distance = model.heads(image.to(device))
            terms = detection_loss(logits, distance, model.centres, Targets(
                *(t.to(device) for t in dataclasses.astuple(targets))))
            optimizer.zero_grad(set_to_none=True)
            terms["total"].backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            optimizer.step()
            state.step += 1
            done_here += 1
            for key, value in terms.items():
                sums[key] = sums.get(key, 0.0) + float(value.detach())
            summed += 1
            info: dict[str, Any] = {"loss": float(terms["total"].detach())}
            if state.step % run.train.log_every == 0:
                append_log(log_path, {"step": state.step, "lr": run.train.lr_at(state.step - 1),
                                   "seconds": round(time.perf_counter() - started
                                                    + state.seconds, 1),
                                   **{k: v / summed for k, v in sums.items()}})
                sums, summed = {}, 0
            if val is not None and (state.step % run.train.val_every == 0
                                    or state.step == run.train.steps):
                report = validate(model, val, run.device)
                scores = {"val_map50": report["map50"], "val_map50_95": report["map50_95"]}
                append_log(log_path, {"step": state.step, **scores})
                info.update(scores)
                state.history.append({"step": state.step, **scores})
                if not scores["val_map50_95"] <= state.best:  # COCO's primary metric
                    state.best = scores["val_map50_95"]
                    _save_model(run, model, state)
                _save_state(last, model, optimizer, state, run, started)
            if progress is not None:
                progress(state.step, info)
    finally:
        if val is None and state.step > 0:
            _save_model(run, model, state)
        _save_state(last, model, optimizer, state, run, started)
    return {"step": state.step, "best_map50_95": state.best}


def _save_model(run: DetectorRun, model: InstrumentDetector, state: RunState) -> None:
    meta = {"step": state.step, "best_val_map50_95": state.best if state.history else None,
            "history": state.history[-50:], "train": to_dict(run.train),
            "data": list(run.data_names), "clips": len(run.clips),
            "train_seconds": round(state.seconds, 1), "torch": str(torch.__version__)}
    save_checkpoint(run.out / "model.pt", model, run.model, meta)


def _save_state(path: Path, model: InstrumentDetector, optimizer: torch.optim.Optimizer,
                state: RunState, run: DetectorRun, started: float) -> None:
    save_run_state(path, STATE_FORMAT, run.model, run.train, state, started, model, optimizer,
                   WEIGHTS_KEY)
