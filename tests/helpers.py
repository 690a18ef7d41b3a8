"""Helpers shared by tests of several folders: the one tiny model, its inputs, and small files
written in the layouts the readers expect (videos, MUSIC-layout folders, scores)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import soundfile
import torch

from crn_live.config import DetectorConfig, ModelConfig, from_dict
from crn_live.models.crn import log_magnitude
from crn_live.models.detector import InstrumentDetector

#: The one tiny model of the tests, as the changes to the small preset that a ``crn-train
#: --config`` file holds: 64 log bins, 5-layer U-Nets with ngf 4, 16-frame windows, 4-frame
#: chunks, crn-synth's 15 classes. Small enough to train for a few steps on two CPU cores.
TINY_MODEL: dict[str, Any] = {
    "ngf": 4, "unet_depth": 5, "embed_dim": 8, "crop_size": 32, "visual_width": 4,
    "classifier_width": 4, "context_frames": 16, "chunk_frames": 4, "log_bins": 64,
    "audio": {"warp": {"log_bins": 64}},
}


def tiny_config(**changes: Any) -> ModelConfig:
    """:data:`TINY_MODEL` as a :class:`ModelConfig`, with ``changes`` to its fields."""
    return dataclasses.replace(from_dict(ModelConfig, TINY_MODEL), **changes)


def mixture_inputs(
    config: ModelConfig, objects: int, frames: int, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(log_mix, mix_mag, embeddings)`` for ``objects`` objects of ONE mixture.

    ``log_mix``, ``mix_mag``: ``(objects, 1, log_bins, frames)`` (the same mixture repeated);
    ``embeddings``: ``(objects, embed_dim)``.
    """
    generator = torch.Generator().manual_seed(seed)
    mix_mag = torch.rand(1, 1, config.log_bins, frames, generator=generator).expand(
        objects, -1, -1, -1).contiguous()
    embeddings = torch.randn(objects, config.embed_dim, generator=generator)
    return log_magnitude(mix_mag), mix_mag, embeddings


def lively(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Re-initialise conv weights at unit gain and put ``model`` in eval mode.

    With the reference's N(0, 0.02) init and fresh BatchNorm statistics an untrained net is
    almost constant (changes vanish below float32 resolution), which would make causality,
    coupling and export checks pass vacuously.
    """
    torch.manual_seed(seed)
    for module in model.modules():
        if isinstance(module, (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.Linear)):
            torch.nn.init.normal_(module.weight, 0.0, (2.0 / module.weight[0].numel()) ** 0.5)
    return model.eval()


def video_frames(path: Path) -> list[np.ndarray]:
    """Every decoded BGR frame of a video file, read back with OpenCV."""
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(image)
    capture.release()
    return frames


def write_music_video(root: Path, category: str, vid: str, seconds: float = 3.0,
                      frames: int = 24, freq: float = 440.0, detections: bool = True) -> str:
    """One video of a MUSIC-layout folder under ``root`` (an mp3 sine, jpg frames with an
    orange box at ``[60, 30, 100, 90]``, optionally Co-Separation detection files); its index
    line for ``train.csv`` / ``val.csv``."""
    audio = root / "audio" / category / f"{vid}.mp3"
    audio.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * 11025)) / 11025
    soundfile.write(audio, (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), 11025)
    frame_dir = root / "frames" / category / f"{vid}.mp4"
    frame_dir.mkdir(parents=True)
    for k in range(frames):
        image = np.full((120, 160, 3), 40, np.uint8)
        cv2.rectangle(image, (60, 30), (100, 90), (0, 200, 255), -1)
        cv2.imwrite(str(frame_dir / f"{k + 1:06d}.jpg"), image)
    if detections:
        (root / "detection_results").mkdir(exist_ok=True)
        rows = [[k, 1, 0.9, 60, 30, 100, 90] for k in range(0, frames, 2)]
        rows.append([0, 1, 0.2, 0, 0, 10, 10])  # a weaker detection loses
        np.save(root / "detection_results" / f"{vid}.mp4.npy", np.array(rows, np.float32))
    return f"audio/{category}/{vid}.mp3,frames/{category}/{vid}.mp4,{frames}"


def write_musicxml(path: Path, parts: int) -> Path:
    """A MusicXML score of ``parts`` parts, 16 quarter notes each (part ``k`` 4k semitones up)."""
    from music21 import note, stream

    score = stream.Score()
    for k in range(parts):
        part = stream.Part()
        for i in range(16):
            part.append(note.Note(60 + 4 * k + (i % 5), quarterLength=1.0))
        score.insert(0, part)
    score.write("musicxml", fp=str(path))
    return path


def train_args(clip_sets: dict[int, Path], config: Path, out: Path, steps: int) -> list[str]:
    """``crn-train`` arguments: both clip sets of ``clip_sets`` (validating on the 3-source one),
    the model config file ``config``, batch 2, a validation every 2 steps, on the CPU."""
    return ["--data", str(clip_sets[2]), "--data", str(clip_sets[3]), "--val", str(clip_sets[3]),
            "--config", str(config), "--batch", "2", "--val-every", "2", "--steps", str(steps),
            "--device", "cpu", "--out", str(out)]


def run_console(module: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """The console script of ``module`` (e.g. ``crn_live.cli.synth``) in a fresh process, as a
    shell runs it: exit status, stdout and stderr."""
    code = f"from {module} import console; console()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=timeout)


#: The tiny detector of the tests: 96x64 input, widths 4 to 16, an 8x12 score map.
TINY_DETECTOR = DetectorConfig(input_width=96, input_height=64, widths=(4, 8, 8, 16, 16),
                               neck_width=8)


def tiny_detector() -> InstrumentDetector:
    """An :class:`InstrumentDetector` of :data:`TINY_DETECTOR` with random weights, sharp
    score peaks and BatchNorm statistics of a few random batches, in eval mode."""
    torch.manual_seed(0)
    model = InstrumentDetector(TINY_DETECTOR)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
        model.score.weight.mul_(40.0)  # distinct peaks, not a flat prior-level score map
        model.score.bias.fill_(-1.0)
        model.train()
        for _ in range(3):
            model(torch.rand(4, 3, 64, 96))
    return model.eval()
