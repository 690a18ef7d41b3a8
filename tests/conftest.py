"""Fixtures shared across test folders: small crn-synth clip sets and a tiny model config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crn_live.cli.synth import main as synth_main

#: A model small enough to train for a few steps in a test (15 classes: crn-synth's labels).
TINY_MODEL = {"ngf": 4, "unet_depth": 5, "embed_dim": 8, "crop_size": 32, "visual_width": 4,
              "classifier_width": 4, "context_frames": 16, "chunk_frames": 4, "log_bins": 64,
              "audio": {"warp": {"log_bins": 64}}}


@pytest.fixture(scope="session")
def clip_sets(tmp_path_factory) -> dict[int, Path]:
    """Two folders of 3-second procedural clips: ``{2: four 2-source clips, 3: two 3-source}``."""
    root = tmp_path_factory.mktemp("clipsets")
    for sources, clips, seed in ((2, 4, 21), (3, 2, 22)):
        assert synth_main(["--out", str(root / f"s{sources}"), "--clips", str(clips),
                           "--sources", str(sources), "--seconds", "3", "--seed", str(seed),
                           "--music", "procedural", "--workers", "2"]) == 0
    return {2: root / "s2", 3: root / "s3"}


@pytest.fixture(scope="session")
def tiny_config_file(tmp_path_factory) -> Path:
    """``crn-train --config`` file of :data:`TINY_MODEL`."""
    path = tmp_path_factory.mktemp("config") / "tiny.json"
    path.write_text(json.dumps(TINY_MODEL))
    return path
