"""Resume files of training runs (``last.pt``): written atomically, read back checked.

A state is a ``torch.save``-d dict of plain types and tensors with a ``format`` tag and the
model config it was trained with (``"model"``), read with ``weights_only=True``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from crn_live.errors import UserError


def write_state(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` beside ``path`` and rename it over ``path`` (never a truncated file)."""
    partial = path.with_name(f".{path.name}.partial")
    torch.save(payload, partial)
    partial.replace(path)


def read_state(path: Path, state_format: str, model: dict[str, Any], what: str) -> dict:
    """The state at ``path``, checked to be a ``state_format`` file of the ``model`` config.

    ``what`` names the run kind in messages ("crn-train", "detector training").
    """
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any unreadable file is the same user problem
        raise UserError(f"cannot resume from {path} ({type(error).__name__}); delete it to "
                        f"start over") from None
    if not isinstance(payload, dict) or payload.get("format") != state_format:
        raise UserError(f"{path} is not a {what} state file; use another --out or delete it "
                        f"to start over")
    if json.dumps(payload.get("model"), sort_keys=True) != json.dumps(model, sort_keys=True):
        raise UserError(f"{path} was trained with another model config; use another --out or "
                        f"the same --size/--config as the interrupted run")
    return payload
