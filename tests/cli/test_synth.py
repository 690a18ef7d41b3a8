"""crn-synth as a shell runs it: bad input and unwritable output end in one line, exit status 2,
no traceback. (The corpus it writes: tests/data/test_synth.py.)"""

from __future__ import annotations

import subprocess

import pytest

from tests.helpers import run_console, write_musicxml


def _synth(*args: str) -> subprocess.CompletedProcess:
    return run_console("crn_live.cli.synth", *args)


@pytest.mark.parametrize("args, message", [
    (["--soundfont", "/nope/missing.sf2"], "soundfont /nope/missing.sf2 not found"),
    (["--classes", "Violin,Kazoo"], "unknown instrument 'Kazoo'"),
    (["--soundfont", "SCORES/MuseScore_General.sf3"], "reserved for held-out evaluation"),
    (["--soundfont", "fluidr3,musescore-general"], "reserved for held-out evaluation"),
    (["--soundfont", "fluidr4"], "unknown soundfont 'fluidr4'"),
    (["--scores", "SCORES"], "cannot read score"),
])
@pytest.mark.slow
def test_bad_input_fails_with_one_line(tmp_path, args, message):
    (tmp_path / "scores").mkdir()
    (tmp_path / "scores" / "bad.mid").write_bytes(b"garbage")
    (tmp_path / "scores" / "MuseScore_General.sf3").write_bytes(b"RIFF")
    args = [a.replace("SCORES", str(tmp_path / "scores")) for a in args]
    result = _synth("--out", str(tmp_path / "out"), "--clips", "1", *args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_user_scores_with_too_few_parts_are_refused(tmp_path):
    (tmp_path / "solo").mkdir()
    write_musicxml(tmp_path / "solo" / "solo.musicxml", parts=1)
    result = _synth("--out", str(tmp_path / "out"), "--clips", "1", "--scores",
                    str(tmp_path / "solo"), "--classes", "Violin,Flute")
    assert result.returncode == 2 and "has 2 parts (at most 1)" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_unwritable_output_fails_with_one_line(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    result = _synth("--out", str(tmp_path / "file" / "corpus"), "--clips", "1")
    assert result.returncode == 2 and "check the path" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


@pytest.mark.slow
def test_invalid_numbers_are_argparse_errors(tmp_path):
    result = _synth("--out", str(tmp_path / "out"), "--clips", "0")
    assert result.returncode == 2 and "must be a positive integer, got 0" in result.stderr
    assert "Traceback" not in result.stderr
