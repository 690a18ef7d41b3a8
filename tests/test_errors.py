"""One exception type for what the user can fix: every error class of crn-live derives from it,
so each command turns any of them into one line (tests/cli/test_common.py)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import crn_live
from crn_live.errors import UserError


def test_every_error_class_of_crn_live_is_a_user_error() -> None:
    found = {}
    for info in pkgutil.walk_packages(crn_live.__path__, "crn_live."):
        if info.name.startswith(("crn_live.ui", "crn_live.cli.__main__")):
            continue  # the app needs Qt; __main__ runs a command on import
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (inspect.isclass(value) and issubclass(value, Exception)
                    and value.__module__ == info.name):
                found[f"{info.name}.{name}"] = value
    assert {"crn_live.data.clips.ClipError", "crn_live.models.checkpoint.CheckpointError",
            "crn_live.runtime.base.BackendError"} <= set(found)
    assert all(issubclass(error, UserError) for error in found.values()), found


def test_a_user_error_is_its_one_line_message() -> None:
    error = UserError("model.pt not found; give --model")
    assert str(error) == "model.pt not found; give --model"
    assert not isinstance(error, (ValueError, OSError))  # not caught as something else
