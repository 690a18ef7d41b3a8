"""What the two trainers (separator, detector) share: where a run stands, its resume file
(``last.pt``, written atomically, read back checked), its log and its learning-rate schedule.

A resume file is a ``torch.save``-d dict of plain types and tensors with a ``format`` tag, the
model config it was trained with (``"model"``), the train config, the :class:`RunState` fields,
the weights (under a key of the trainer's choosing) and the optimiser state; it is read with
``weights_only=True``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from crn_live.data.files import atomic_path
from crn_live.errors import UserError


@dataclasses.dataclass
class RunState:
    """Where a run stands: steps done, best validation score, training seconds so far (up to
    this call's start), validation history."""

    step: int = 0
    best: float = float("-inf")
    seconds: float = 0.0
    history: list = dataclasses.field(default_factory=list)


def warmup_cosine(step: int, lr: float, min_lr: float, warmup: int, steps: int) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay from ``lr`` to ``min_lr`` at
    ``steps``."""
    if step < warmup:
        return lr * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, steps - warmup))
    return min_lr + 0.5 * (lr - min_lr) * (1 + math.cos(math.pi * progress))


def append_log(path: Path, record: dict) -> None:
    """One JSON line appended to a run's ``log.jsonl``."""
    with path.open("a") as f:
        f.write(json.dumps(record) + "\n")


def write_state(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` beside ``path`` and rename it over ``path`` (never a truncated file)."""
    with atomic_path(path) as partial:
        torch.save(payload, partial)


def save_run_state(path: Path, state_format: str, model_config: Any, train_config: Any,
                   state: RunState, started: float, module: nn.Module,
                   optimizer: torch.optim.Optimizer, weights_key: str) -> None:
    """The resume file of a run; ``started`` is this call's ``time.perf_counter()`` start."""
    seconds = state.seconds + time.perf_counter() - started
    write_state(path, {"format": state_format, "model": dataclasses.asdict(model_config),
                       "train": dataclasses.asdict(train_config), "step": state.step,
                       "best": state.best, "seconds": seconds, "history": state.history,
                       weights_key: module.state_dict(), "optimizer": optimizer.state_dict()})


def load_run_state(path: Path, state_format: str, model_config: Any, what: str,
                   module: nn.Module, optimizer: torch.optim.Optimizer,
                   weights_key: str) -> RunState:
    """Restore ``module`` and ``optimizer`` from a resume file; where the run stood."""
    payload = read_state(path, state_format, dataclasses.asdict(model_config), what)
    module.load_state_dict(payload[weights_key])
    optimizer.load_state_dict(payload["optimizer"])
    return RunState(payload["step"], payload["best"], payload["seconds"], payload["history"])


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
