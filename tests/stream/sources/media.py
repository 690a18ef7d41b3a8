"""Real media for the source tests: noise WAVs and a small video whose frames encode their
index in their colour."""

from __future__ import annotations

import time

from pathlib import Path

import cv2
import numpy as np
import pytest
import soundfile

#: The test video: frame rate, frame count and size (width, height).
FPS, N_FRAMES, SIZE = 25, 30, (64, 48)


def one_line_error(excinfo: pytest.ExceptionInfo) -> str:
    """The raised error's message, checked to be one non-empty line."""
    message = str(excinfo.value)
    assert message and "\n" not in message
    return message


def write_noise_wav(path: Path, seconds: float, rate: int, seed: int = 5) -> np.ndarray:
    """A float WAV of Gaussian noise (std 0.5); returns its samples ``(frames,)`` float32."""
    samples = (0.5 * np.random.default_rng(seed).standard_normal(int(seconds * rate)))
    samples = samples.astype(np.float32)
    soundfile.write(str(path), samples, rate, subtype="FLOAT")
    return samples


def colour(index: int) -> tuple[int, int, int]:
    """RGB colour encoding a frame index: red up, blue down by 8 a frame (their difference
    survives mp4v's compression and colour conversion, which shift both alike)."""
    return 8 + 8 * index, 128, 240 - 8 * index


def decode(frame_rgb: np.ndarray) -> int:
    """The frame index a frame ``(height, width, 3)`` RGB uint8 of :func:`colour` shows."""
    mean = frame_rgb[8:-8, 8:-8].reshape(-1, 3).mean(axis=0)
    return int(round((mean[0] - mean[2] + 232) / 16))


def write_colour_video(path: Path) -> Path:
    """:data:`N_FRAMES` frames of :data:`SIZE` at :data:`FPS`, frame ``i`` in
    ``colour(i)`` (mp4v)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, SIZE)
    assert writer.isOpened()
    for i in range(N_FRAMES):
        r, g, b = colour(i)
        writer.write(np.full((SIZE[1], SIZE[0], 3), (b, g, r), np.uint8))
    writer.release()
    return path


def wait_until(condition, timeout: float = 3.0) -> bool:
    """Poll ``condition()`` every 5 ms until it holds (True) or ``timeout`` s pass (False)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True
