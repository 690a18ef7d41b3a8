"""Fixtures shared across test folders: small crn-synth clip sets, the tiny model as a config file,
and a tiny separator (and its checkpoint) with unit-gain random weights.

Every test, and every process a test starts, talks to one PulseAudio daemon: its runtime folder
is pinned here (``PULSE_RUNTIME_PATH``) before anything starts one. Without the pin, the tests
that give a process its own ``XDG_CONFIG_HOME`` (to keep the user's settings untouched) no
longer find the running daemon, whose runtime link lives in that folder, and start another
each run.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

os.environ.setdefault("PULSE_RUNTIME_PATH",
                      str(Path(tempfile.gettempdir()) / f"crn-live-tests-pulse-{os.getuid()}"))

import pytest

from crn_live.cli.synth import main as synth_main
from crn_live.models import CRNSystem, SeparatorModel, save_checkpoint
from crn_live.separation import Separator
from tests.helpers import TINY_MODEL, lively, tiny_config


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
    """``crn-train --config`` file of :data:`tests.helpers.TINY_MODEL`."""
    path = tmp_path_factory.mktemp("config") / "tiny.json"
    path.write_text(json.dumps(TINY_MODEL))
    return path


@pytest.fixture(scope="module")
def separator() -> Separator:
    """A :class:`Separator` of the tiny model, untrained but with unit-gain weights."""
    config = tiny_config()
    system = lively(CRNSystem(config))
    return Separator(system.visual, system.condition, system.crn, config)


@pytest.fixture(scope="module")
def checkpoint(separator: Separator, tmp_path_factory) -> Path:
    """:func:`separator` saved as a separator checkpoint (what ``--model`` takes)."""
    model = SeparatorModel(separator.config)
    model.visual, model.condition, model.crn = (separator.visual, separator.condition,
                                                separator.crn)
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    save_checkpoint(path, model, separator.config)
    return path
