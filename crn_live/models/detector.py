"""The instrument detector: a compact centre-point (heat-map) network, anchor-free.

``image (B, 3, H, W)`` RGB float in ``[0, 1]`` -> per class a score map at ``output_stride``
whose peaks are object centres, and per cell the distances from the cell centre to the four
edges of the box around it (TTFNet-style: Gaussian centre targets, GIoU box regression).

The exported graph (:meth:`InstrumentDetector.forward`) ends with the peak extraction as plain
ops (sigmoid, 3x3 max-pool, equality): ``scores (B, C, h, w)`` is zero except at local maxima,
and ``boxes (B, 4, h, w)`` holds ``[x0, y0, x1, y1]`` as fractions of the input width and height
for every cell (values of order 1 keep fp16 engines and fp32 parity precise). Picking
the top peaks and the NMS run outside the graph (:mod:`crn_live.vision.decode`), so ONNX and
TensorRT need no custom plugin.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from crn_live.config import DetectorConfig
from crn_live.models.resnet import BasicBlock
from crn_live.models.unet import init_weights
from crn_live.models.visual import IMAGE_MEAN, IMAGE_STD

#: Prior probability of an object centre at a cell, for the score bias (focal-loss practice).
PRIOR = 0.01
#: Box distances are ``exp(x) * stride``; ``x`` is clamped here so fp16 cannot overflow.
MAX_LOG_DISTANCE = 6.0
OUTPUT_NAMES = ("scores", "boxes")


def _conv_bn_relu(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False),
                         nn.BatchNorm2d(out_channels), nn.ReLU())


class InstrumentDetector(nn.Module):
    """Stride-32 residual trunk, top-down neck to ``output_stride``, score and box heads."""

    def __init__(self, config: DetectorConfig) -> None:
        super().__init__()
        self.config = config
        w = config.widths
        self.stem = _conv_bn_relu(3, w[0], 2)
        self.stages = nn.ModuleList(
            nn.Sequential(BasicBlock(w[i], w[i + 1], 2), BasicBlock(w[i + 1], w[i + 1], 1))
            for i in range(4))
        # stages[k] ends at stride 2 ** (k + 2): 4, 8, 16, 32
        self.levels = [k for k in range(4) if 2 ** (k + 2) >= config.output_stride]
        neck = config.neck_width
        self.lateral = nn.ModuleList(nn.Conv2d(w[k + 1], neck, 1) for k in self.levels)
        self.smooth = nn.ModuleList(_conv_bn_relu(neck, neck) for _ in self.levels[:-1])
        self.context = nn.Linear(w[-1], neck)
        self.head = _conv_bn_relu(neck, neck)
        self.score = nn.Conv2d(neck, len(config.classes), 1)
        self.distance = nn.Conv2d(neck, 4, 1)
        self.apply(init_weights)
        nn.init.constant_(self.score.bias, -math.log((1 - PRIOR) / PRIOR))
        nn.init.normal_(self.distance.weight, std=0.01)
        nn.init.constant_(self.distance.bias, math.log(4.0))
        self.register_buffer("mean", torch.tensor(IMAGE_MEAN)[:, None, None], persistent=False)
        self.register_buffer("std", torch.tensor(IMAGE_STD)[:, None, None], persistent=False)
        h, w_ = config.output_size
        s = config.output_stride
        ys = (torch.arange(h, dtype=torch.float32) + 0.5) * s
        xs = (torch.arange(w_, dtype=torch.float32) + 0.5) * s
        self.register_buffer("centres", torch.stack(torch.meshgrid(xs, ys, indexing="xy")),
                             persistent=False)  # (2, h, w): x, y of each cell centre
        size = [1.0 / config.input_width, 1.0 / config.input_height] * 2
        self.register_buffer("box_scale", torch.tensor(size)[None, :, None, None],
                             persistent=False)

    @property
    def classes(self) -> tuple[str, ...]:
        return self.config.classes

    def heads(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, 3, H, W)`` in ``[0, 1]`` -> score logits ``(B, C, h, w)`` and box edge
        distances ``(B, 4, h, w)`` (left, top, right, bottom) in input pixels."""
        c = self.config
        if image.shape[1:] != (3, c.input_height, c.input_width):
            raise ValueError(f"image must be (B, 3, {c.input_height}, {c.input_width}), got "
                             f"{tuple(image.shape)}")
        x = self.stem((image - self.mean) / self.std)
        features = []
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        top = self.lateral[-1](features[self.levels[-1]])
        top = top + self.context(features[-1].mean(dim=(2, 3)))[:, :, None, None]
        for k in range(len(self.levels) - 2, -1, -1):
            skip = self.lateral[k](features[self.levels[k]])
            top = self.smooth[k](skip + F.interpolate(top, size=skip.shape[2:], mode="nearest"))
        y = self.head(top)
        log_distance = self.distance(y).clamp(max=MAX_LOG_DISTANCE)
        return self.score(y), torch.exp(log_distance) * c.output_stride

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, 3, H, W)`` -> ``scores (B, C, h, w)`` (non-zero only at 3x3 peaks) and
        ``boxes (B, 4, h, w)`` ``[x0, y0, x1, y1]`` as fractions of the input size."""
        logits, distance = self.heads(image)
        heat = torch.sigmoid(logits)
        peaks = F.max_pool2d(heat, 3, stride=1, padding=1)
        scores = heat * (peaks == heat).to(heat.dtype)
        return scores, edge_boxes(self.centres, distance) * self.box_scale


def edge_boxes(centres: torch.Tensor, distance: torch.Tensor) -> torch.Tensor:
    """Cell centres ``(2, h, w)`` and edge distances ``(B, 4, h, w)`` -> boxes ``(B, 4, h, w)``."""
    return torch.cat([centres[None] - distance[:, :2], centres[None] + distance[:, 2:]], dim=1)
