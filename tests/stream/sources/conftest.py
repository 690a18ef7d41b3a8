"""Real media files for the source tests (the audio device fixtures are in
tests/stream/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.stream.sources.media import write_colour_video


@pytest.fixture
def video_file(tmp_path) -> Path:
    """A small mp4 whose frame ``i`` shows ``colour(i)``."""
    return write_colour_video(tmp_path / "frames.mp4")
