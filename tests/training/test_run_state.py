"""What both trainers share: the warm-up + cosine schedule, the log, and the resume file (written
atomically, read back checked against the run's kind and model config)."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import pytest
import torch

from crn_live.config import ModelConfig
from crn_live.errors import UserError
from crn_live.training.run_state import (RunState, append_log, load_run_state, read_state,
                                         save_run_state, warmup_cosine, write_state)


@dataclasses.dataclass(frozen=True)
class _Train:
    steps: int = 10
    lr: float = 0.1


def test_warmup_then_cosine_down_to_min_lr() -> None:
    lr = [warmup_cosine(step, 1.0, 0.1, warmup=4, steps=14) for step in range(16)]
    assert lr[:4] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert lr[4] == pytest.approx(1.0) and lr[9] == pytest.approx(0.55)  # half-way: the mean
    assert lr[14] == pytest.approx(0.1) and lr[15] == pytest.approx(0.1)  # and stays there
    assert all(a >= b for a, b in zip(lr[4:], lr[5:]))
    assert warmup_cosine(0, 1.0, 0.0, warmup=0, steps=0) == pytest.approx(1.0)


def test_append_log_writes_one_json_line_per_record(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    append_log(log, {"step": 1, "total": 0.5})
    append_log(log, {"step": 2, "val_sdr": 1.25})
    assert [json.loads(line) for line in log.read_text().splitlines()] == [
        {"step": 1, "total": 0.5}, {"step": 2, "val_sdr": 1.25}]


def _trained(seed: int) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(seed)
    module = torch.nn.Linear(3, 2)
    optimizer = torch.optim.AdamW(module.parameters(), lr=0.1)
    module(torch.randn(4, 3)).sum().backward()
    optimizer.step()
    return module, optimizer


def test_resume_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "last.pt"
    module, optimizer = _trained(0)
    state = RunState(step=7, best=1.5, seconds=10.0, history=[{"step": 5, "val_sdri": 1.5}])
    started = time.perf_counter()
    save_run_state(path, "test-run", ModelConfig.small(), _Train(), state, started, module,
                   optimizer, "weights")
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]
    other, other_optimizer = _trained(1)
    restored = load_run_state(path, "test-run", ModelConfig.small(), "test training", other,
                              other_optimizer, "weights")
    assert (restored.step, restored.best, restored.history) == (7, 1.5, state.history)
    assert 10.0 <= restored.seconds < 10.0 + (time.perf_counter() - started) + 1e-6
    for name, value in module.state_dict().items():
        assert torch.equal(other.state_dict()[name], value), name
    assert torch.equal(other_optimizer.state_dict()["state"][0]["exp_avg"],
                       optimizer.state_dict()["state"][0]["exp_avg"])
    payload = torch.load(path, weights_only=True)
    assert payload["train"] == {"steps": 10, "lr": 0.1} and payload["format"] == "test-run"


def test_read_state_refuses_what_it_cannot_resume(tmp_path: Path) -> None:
    model = dataclasses.asdict(ModelConfig.small())
    path = tmp_path / "last.pt"
    path.write_bytes(b"not a torch file")
    with pytest.raises(UserError, match="cannot resume from .*last.pt .*delete it"):
        read_state(path, "test-run", model, "test training")
    write_state(path, {"format": "other-run", "model": model})
    with pytest.raises(UserError, match="is not a test training state file"):
        read_state(path, "test-run", model, "test training")
    write_state(path, {"format": "test-run", "model": {**model, "ngf": 8}})
    with pytest.raises(UserError, match="trained with another model config") as info:
        read_state(path, "test-run", model, "test training")
    assert "\n" not in str(info.value)
    write_state(path, {"format": "test-run", "model": model, "step": 3})
    assert read_state(path, "test-run", model, "test training")["step"] == 3
