"""The bundled detector, loaded once for the vision tests."""

from __future__ import annotations

import pytest

from crn_live.vision.detector import OwnDetector


@pytest.fixture(scope="session")
def bundled_detector() -> OwnDetector:
    """The detector shipped in the package, on the CPU."""
    return OwnDetector.load()
