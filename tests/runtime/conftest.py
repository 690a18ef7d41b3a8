"""Fixtures of the runtime tests: the bundled models' graphs, exported once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.runtime.bundled_graphs import export_bundled


@pytest.fixture(scope="session")
def bundled_graphs(tmp_path_factory) -> dict[str, dict[str, Path]]:
    """The bundled models' graphs, fp32 and fp16: ``{name: {"fp32": path, "fp16": path}}``."""
    return export_bundled(tmp_path_factory.mktemp("bundled_onnx"))
