"""Small helpers shared by tests."""

from pathlib import Path

import cv2
import numpy as np


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
