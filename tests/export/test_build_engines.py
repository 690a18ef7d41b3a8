"""``python export/build_engines.py``: on this machine (no TensorRT, no GPU) it says so in one
line, and ``--onnx-only`` still exports and verifies every graph. (What it calls:
tests/runtime/test_engines.py.)"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from crn_live.runtime.engines import PARITY_BAR

ROOT = Path(__file__).parents[2]


def _script(name: str):
    """A script of export/ loaded from its file, as ``python export/NAME.py`` runs it."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "export" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


main = _script("build_engines").main


@pytest.mark.slow
def test_onnx_only_exports_and_verifies(tmp_path, capsys) -> None:
    assert main(["--onnx-only", "--out", str(tmp_path), "--max-objects", "3"]) == 0
    out = capsys.readouterr().out
    assert "written and verified" in out
    report = json.loads((tmp_path / "onnx" / "parity.json").read_text())
    assert set(report) == {"visual", "separator_step", "separator_step_r1", "separator_step_r0",
                           "detector"}
    assert all(r["max_abs_err"] <= PARITY_BAR for r in report.values())
    assert not list(tmp_path.glob("*-sm*-trt*"))  # no engine folder without TensorRT


def test_without_tensorrt_it_says_so_in_one_line() -> None:
    """Run as the user would, as a script from the repository root."""
    done = subprocess.run([sys.executable, "export/build_engines.py", "--out", "/nonexistent"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    err = done.stderr.strip()
    assert "\n" not in err and "Traceback" not in err
    assert "TensorRT" in err and "--onnx-only" in err


def test_input_checks(capsys) -> None:
    assert main(["--onnx-only", "--max-objects", "0"]) == 2
    assert "--max-objects" in capsys.readouterr().err
    assert main(["--onnx-only", "--out", "/tmp/x", "--model", "/no/such.pt"]) == 2
    err = capsys.readouterr().err.strip()
    assert "/no/such.pt" in err and "\n" not in err


def test_a_wrong_checkpoint_is_refused_in_one_line(tmp_path, capsys) -> None:
    separator = ROOT / "crn_live" / "weights" / "crn_small.pt"
    assert main(["--onnx-only", "--out", str(tmp_path), "--detector", str(separator)]) == 2
    err = capsys.readouterr().err.strip()
    assert "not a detector" in err and "\n" not in err
