"""Files that appear whole or not at all: written under a hidden partial name, renamed into place
when complete; a failure removes the partial and keeps the previous file."""

from __future__ import annotations

from pathlib import Path

import pytest

from crn_live.data.files import atomic_path, partial_path, write_bytes_atomic, write_text_atomic


def test_partial_path_is_hidden_beside_the_target(tmp_path: Path) -> None:
    assert partial_path(tmp_path / "mix.wav") == tmp_path / ".mix.wav.partial"
    assert partial_path("stems/violin.wav") == Path("stems/.violin.wav.partial")


def test_written_under_the_partial_name_then_renamed_into_place(tmp_path: Path) -> None:
    target = tmp_path / "meta.json"
    with atomic_path(target) as partial:
        assert partial == partial_path(target)
        partial.write_text("new")
        assert not target.exists()  # nobody sees it before the block ends
    assert target.read_text() == "new"
    assert list(tmp_path.iterdir()) == [target]


def test_a_replaced_file_changes_at_once(tmp_path: Path) -> None:
    target = tmp_path / "meta.json"
    target.write_text("old")
    with atomic_path(target) as partial:
        partial.write_text("new")
        assert target.read_text() == "old"
    assert target.read_text() == "new"


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_a_failure_removes_the_partial_and_keeps_the_previous_file(
        tmp_path: Path, error: BaseException) -> None:
    target = tmp_path / "model.pt"
    target.write_bytes(b"previous")
    with pytest.raises(type(error)):
        with atomic_path(target) as partial:
            partial.write_bytes(b"half a fi")
            raise error
    assert target.read_bytes() == b"previous"
    assert list(tmp_path.iterdir()) == [target]


def test_a_failure_before_anything_was_written_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        with atomic_path(tmp_path / "log.jsonl"):
            raise ValueError("nothing written")
    assert list(tmp_path.iterdir()) == []


def test_text_and_bytes_helpers(tmp_path: Path) -> None:
    write_text_atomic(tmp_path / "a.txt", "Violín\n")
    write_bytes_atomic(tmp_path / "b.bin", b"\x00\xff")
    assert (tmp_path / "a.txt").read_bytes() == "Violín\n".encode("utf-8")
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\xff"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.bin"]
