"""``python -m crn_live.cli COMMAND``: every command answers --help under its console name;
anything else gets the usage line and exit status 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

from crn_live.cli import COMMANDS


def _module(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "crn_live.cli", *args], capture_output=True,
                          text=True, timeout=60)


@pytest.mark.slow
def test_help_for_every_command():
    assert COMMANDS == ("live", "separate", "synth", "train", "eval", "bench")
    for command in COMMANDS:
        result = _module(command, "--help")
        assert result.returncode == 0 and f"usage: crn-{command}" in result.stdout, command


@pytest.mark.parametrize("args", [[], ["kazoo"], ["--help"]])
def test_unknown_command_prints_the_usage(args: list[str]):
    result = _module(*args)
    assert result.returncode == 2
    assert result.stderr.strip() == "usage: python -m crn_live.cli {" + ",".join(COMMANDS) + "} ..."
