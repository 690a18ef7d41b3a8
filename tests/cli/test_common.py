"""What every command shares: the console wrapper (one line and status 2 for what the user can
fix, 130 for Ctrl+C), argument types, --device, strict JSON and log-friendly progress lines."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest
import torch

from crn_live.cli import common
from crn_live.errors import UserError


def _exit(main: common.Main, capsys) -> tuple[int, str]:
    """Run ``main`` through :func:`common.entry`: ``(exit status, stderr)``."""
    with pytest.raises(SystemExit) as info:
        common.entry("crn-test", main)()
    return info.value.code, capsys.readouterr().err


def _raising(error: BaseException) -> common.Main:
    def main(argv):
        assert argv is None  # the console passes no argv: argparse reads sys.argv
        raise error

    return main


def test_entry_exits_with_what_main_returns(capsys) -> None:
    assert _exit(lambda argv: 0, capsys) == (0, "")
    assert _exit(lambda argv: 3, capsys) == (3, "")


def test_entry_turns_a_user_error_into_one_line_and_status_2(capsys) -> None:
    code, err = _exit(_raising(UserError("model.pt not found; give --model")), capsys)
    assert code == 2
    assert err == "crn-test: error: model.pt not found; give --model\n"


def test_entry_turns_ctrl_c_into_status_130(capsys) -> None:
    code, err = _exit(_raising(KeyboardInterrupt()), capsys)
    assert code == 130 and err == "crn-test: interrupted\n"


def test_entry_turns_an_os_error_into_one_line_naming_the_path(capsys) -> None:
    error = PermissionError(13, "Permission denied", "/root/out")
    code, err = _exit(_raising(error), capsys)
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("crn-test: error: Permission denied: /root/out; check the path")


def test_entry_lets_programming_errors_through() -> None:
    with pytest.raises(ZeroDivisionError):
        common.entry("crn-test", _raising(ZeroDivisionError()))()


def test_positive_argument_types() -> None:
    assert common.positive_int("3") == 3 and common.positive_float("0.5") == 0.5
    for parse, text in ((common.positive_int, "0"), (common.positive_int, "-2"),
                        (common.positive_float, "0"), (common.positive_float, "nan")):
        with pytest.raises(argparse.ArgumentTypeError, match=f"got {text}"):
            parse(text)
    with pytest.raises(ValueError):
        common.positive_int("two")


def test_torch_device() -> None:
    assert common.torch_device("cpu") == "cpu"
    assert common.torch_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(UserError, match="use auto, cpu, cuda or cuda:N"):
        common.torch_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="no CUDA GPU"):
            common.torch_device("cuda:1")


def test_write_json_is_strict_json(tmp_path: Path) -> None:
    data = {"sdr": float("nan"), "per_source": [1.5, float("nan")], "nested": {"x": [{"y": 2}]}}
    assert common.json_ready(data) == {"sdr": None, "per_source": [1.5, None],
                                       "nested": {"x": [{"y": 2}]}}
    path = tmp_path / "made" / "report.json"
    common.write_json(path, data)
    assert json.loads(path.read_text()) == common.json_ready(data)
    assert "NaN" not in path.read_text() and path.read_text().endswith("\n")


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_plain_progress_writes_at_most_one_line_per_interval(monkeypatch) -> None:
    clock = _Clock()
    monkeypatch.setattr(common.time, "monotonic", clock)
    out = io.StringIO()
    bar = common.PlainProgress(total=100, file=out, interval=10.0, desc="crn-test")
    for step in range(100):
        clock.now = step * 0.5  # 50 s in all: a line at 0, 10, 20, 30, 40 s
        bar.update(1)
        bar.refresh()
    bar.close()  # and the last one, whatever the interval
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue() and all(lines)  # plain lines, no blank one at the end
    assert [line.split("|")[2].split()[0] for line in lines] == [
        "0/100", "21/100", "41/100", "61/100", "81/100", "100/100"]
    assert all(line.startswith("crn-test:") for line in lines)


def test_progress_bar_is_plain_off_a_terminal(monkeypatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert common.is_terminal(Terminal()) and not common.is_terminal(io.StringIO())
    monkeypatch.setattr(common.sys, "stderr", io.StringIO())
    bar = common.progress_bar(total=1)
    assert isinstance(bar, common.PlainProgress)
    bar.close()
    monkeypatch.setattr(common.sys, "stderr", Terminal())
    bar = common.progress_bar(total=1, file=io.StringIO())
    assert not isinstance(bar, common.PlainProgress)
    bar.close()
