"""Files that appear whole or not at all: write under a hidden ``.NAME.partial`` beside the
target, then rename it into place (an atomic replace on one file system). A crash, Ctrl+C or
full disk leaves the previous file (or none), never half a file."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


def partial_path(path: str | os.PathLike) -> Path:
    """``dir/name`` -> ``dir/.name.partial``: where :func:`atomic_path` writes first."""
    path = Path(path)
    return path.with_name(f".{path.name}.partial")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield the partial path to write; rename it onto ``path`` when the block ends, or remove
    it when the block raises (the exception goes on)."""
    target = Path(path)
    partial = partial_path(target)
    try:
        yield partial
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(target)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through :func:`atomic_path`."""
    with atomic_path(path) as partial:
        partial.write_text(text, encoding="utf-8")


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through :func:`atomic_path`."""
    with atomic_path(path) as partial:
        partial.write_bytes(data)
