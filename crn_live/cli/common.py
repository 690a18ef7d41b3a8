"""What every command shares: the console wrapper (one line per user error, exit status 2;
Ctrl+C status 130), argument types, the separator / detector / torch device from options, and
strict JSON output."""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from tqdm import tqdm

from crn_live.errors import UserError

Main = Callable[[Sequence[str] | None], int]


def entry(prog: str, main: Main) -> Callable[[], None]:
    """The console script of ``main``: a :class:`UserError` or an ``OSError`` ends it with one
    line on stderr and exit status 2, Ctrl+C with status 130."""
    def run() -> None:
        try:
            code = main(None)
        except UserError as exc:
            print(f"{prog}: error: {exc}", file=sys.stderr)
            code = 2
        except KeyboardInterrupt:
            print(f"{prog}: interrupted", file=sys.stderr)
            code = 130
        except OSError as exc:  # a path that can't be made or written, a full disk
            where = f": {exc.filename}" if exc.filename else ""
            print(f"{prog}: error: {exc.strerror or exc}{where}; check the path, its "
                  "permissions and the free space", file=sys.stderr)
            code = 2
        sys.exit(code)

    return run


def positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be zero or more, got {text}")
    return value


def unit_float(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be within [0, 1], got {text}")
    return value


def instrument_names(text: str | None, max_objects: int | None = None) -> tuple[str, ...]:
    """``--instruments`` text -> class names (``"violin, contrabass"`` -> ``("Violin", "Double
    bass")``, repeats once); one-line :class:`UserError` for an unknown name (with the close
    matches), an empty list, or more names than ``max_objects``."""
    from crn_live.instruments import parse_class_list

    if text is None:
        return ()
    try:
        names = parse_class_list(text)
    except ValueError as error:
        if "empty" in str(error):
            raise UserError("--instruments takes class names separated by commas, e.g. "
                            "--instruments violin,cello") from None
        raise UserError(f"--instruments: {error}") from None
    if max_objects is not None and len(names) > max_objects:
        raise UserError(f"--instruments names {len(names)} instruments but --max-objects is "
                        f"{max_objects}: name fewer or raise --max-objects (up to 16)")
    return names


def torch_device(text: str) -> str:
    """``--device`` text -> a torch device name (``auto`` picks CUDA when torch sees one)."""
    import torch

    if text == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if text.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"--device {text}: no CUDA GPU is visible to torch (CPU build or no "
                        "driver); use --device cpu")
    if text != "cpu" and not text.startswith("cuda"):
        raise UserError(f"--device {text}: use auto, cpu, cuda or cuda:N")
    return text


def load_separator(model: Path | None, device: str):
    """The separator of ``--model`` (default: the bundled one) on ``--device``."""
    from crn_live.separation import BUNDLED_MODEL, Separator

    if model is None and not BUNDLED_MODEL.is_file():
        raise UserError(f"the bundled model {BUNDLED_MODEL} is missing (a partial install?): "
                        "reinstall crn-live, or give --model CKPT from crn-train")
    return Separator.load(model, torch_device(device))


def open_detector(path: Path | None, labels: Path | None, device: str, **decoding):
    """The detector of ``--detector`` (default: the bundled one) on ``--device``."""
    from crn_live.vision.detector import open_detector as open_any

    return open_any(path, labels, torch_device(device), **decoding)


def json_ready(value):
    """NaN -> None, recursively (strict JSON)."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_ready(v) for v in value]
    return value


def write_json(path: Path, data: dict) -> None:
    """Write ``data`` as strict JSON (NaN -> null), making the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(json_ready(data), indent=1, allow_nan=False) + "\n")


#: Seconds between two progress lines when the output is not a terminal (a log file, CI).
PLAIN_INTERVAL_S = 10.0


class PlainProgress(tqdm):
    """A tqdm bar for logs: plain lines (no carriage returns), at most one every ``interval``
    seconds whatever calls ``refresh``, plus the first and the last."""

    def __init__(self, *args: Any, interval: float = PLAIN_INTERVAL_S, **kwargs: Any) -> None:
        self._interval = interval
        self._last_line = float("-inf")
        self._closing = False
        kwargs.setdefault("mininterval", interval)
        super().__init__(*args, ascii=True, **kwargs)

    def display(self, msg: str | None = None, pos: int | None = None) -> bool:
        now = time.monotonic()
        if not self._closing and now - self._last_line < self._interval:
            return True
        self._last_line = now
        line = (msg if msg is not None else self.__str__()).strip()
        if line:
            self.fp.write(line + "\n")
            self.fp.flush()
        return True

    def close(self) -> None:
        if not self.disable and not self._closing:
            self._closing = True
            self.display()  # the last line; tqdm's clean-up of a live bar is not for logs
            self.leave, self.fp = False, io.StringIO()
        super().close()


def is_terminal(stream: Any = None) -> bool:
    """Whether ``stream`` (default stderr, where progress goes) is an interactive terminal."""
    stream = sys.stderr if stream is None else stream
    return bool(getattr(stream, "isatty", lambda: False)())


def progress_bar(**kwargs: Any) -> tqdm:
    """A tqdm progress bar on stderr: the usual live bar on a terminal, :class:`PlainProgress`
    lines otherwise (so logs get a line every few seconds, not hundreds of updates)."""
    return tqdm(**kwargs) if is_terminal() else PlainProgress(**kwargs)
