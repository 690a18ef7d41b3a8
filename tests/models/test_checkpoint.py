"""Checkpoints: round trip rebuilds the model from the stored config; clear one-line refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from crn_live.config import to_dict
from crn_live.errors import UserError
from crn_live.models import (
    CRN,
    CheckpointError,
    ChunkedCausalCRN,
    CRNSystem,
    SeparatorModel,
    load_checkpoint,
    save_checkpoint,
)
from tests.helpers import lively, mixture_inputs, tiny_config


def _refusal(path: Path, **kwargs: object) -> str:
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path, **kwargs)  # type: ignore[arg-type]
    message = str(info.value)
    assert isinstance(info.value, UserError) and "\n" not in message
    return message


def test_round_trip_gives_the_same_outputs(tmp_path: Path) -> None:
    config = tiny_config()
    model = lively(ChunkedCausalCRN(config))
    path = tmp_path / "causal.pt"
    save_checkpoint(path, model, config, {"epoch": 3, "loss": 0.5})
    loaded = load_checkpoint(path, expected=config)
    assert (loaded.kind, loaded.config, loaded.meta) == ("chunked_causal_crn", config,
                                                         {"epoch": 3, "loss": 0.5})
    inputs = model.example_inputs(2)
    with torch.no_grad():
        assert torch.equal(loaded.model(*inputs), model(*inputs))


def test_system_checkpoint_feeds_the_causal_model(tmp_path: Path) -> None:
    config = tiny_config()
    system = lively(CRNSystem(config))
    save_checkpoint(tmp_path / "system.pt", system, config)
    loaded = load_checkpoint(tmp_path / "system.pt")
    causal = ChunkedCausalCRN.from_crn(loaded.model.crn)
    log_mix, mix_mag, embeddings = mixture_inputs(config, 1, config.context_frames)
    ids = torch.zeros(1, dtype=torch.long)
    with torch.no_grad():
        expected = system.crn(log_mix, mix_mag, embeddings, ids)[-1][..., 12:16]
        assert torch.equal(causal.step(log_mix, mix_mag, embeddings, ids), expected)


def test_half_precision_separator_from_a_system(tmp_path: Path) -> None:
    config = tiny_config()
    system = lively(CRNSystem(config))
    separator = SeparatorModel(config)
    separator.load_state_dict(system.separator_state())
    path = tmp_path / "separator.pt"
    save_checkpoint(path, separator, config, half=True)
    stored = torch.load(path, weights_only=True)["state_dict"]
    assert all(v.dtype == torch.float16 for v in stored.values() if v.is_floating_point())
    loaded = load_checkpoint(path, expected=config)
    assert loaded.kind == "separator"
    assert all(p.dtype == torch.float32 for p in loaded.model.parameters())
    for name, value in loaded.model.state_dict().items():
        original = system.state_dict()[name]
        if original.is_floating_point():
            assert torch.equal(value, original.half().float()), name
    assert not list(tmp_path.glob(".*partial"))


def test_config_mismatch_names_the_fields(tmp_path: Path) -> None:
    config = tiny_config()
    save_checkpoint(tmp_path / "crn.pt", CRN(config), config)
    message = _refusal(tmp_path / "crn.pt", expected=tiny_config(ngf=8, chunk_frames=2))
    assert "another model config" in message
    assert "ngf 4 != 8" in message and "chunk_frames 4 != 2" in message


def test_missing_file(tmp_path: Path) -> None:
    assert "not found" in _refusal(tmp_path / "nope.pt")


def test_garbage_file(tmp_path: Path) -> None:
    (tmp_path / "garbage.pt").write_bytes(b"\x00not a zip or pickle" * 50)
    assert "cannot read" in _refusal(tmp_path / "garbage.pt")
    # a text file (e.g. a config given as --model) trips the unpickler in yet another way
    (tmp_path / "text.pt").write_text("root:x:0:0:root:/root:/bin/bash\n")
    assert "cannot read" in _refusal(tmp_path / "text.pt")


def test_plain_state_dict_is_not_a_checkpoint(tmp_path: Path) -> None:
    torch.save(CRN(tiny_config()).state_dict(), tmp_path / "weights.pt")
    assert "not a crn-live checkpoint" in _refusal(tmp_path / "weights.pt")


def _tampered(tmp_path: Path, **changes: object) -> Path:
    config = tiny_config()
    save_checkpoint(tmp_path / "crn.pt", CRN(config), config)
    payload = torch.load(tmp_path / "crn.pt", weights_only=True)
    payload.update(changes)
    torch.save(payload, tmp_path / "tampered.pt")
    return tmp_path / "tampered.pt"


def test_other_version_is_refused(tmp_path: Path) -> None:
    assert "version 3" in _refusal(_tampered(tmp_path, version=3))


def test_a_version_1_checkpoint_is_refused_with_what_changed(tmp_path: Path) -> None:
    message = _refusal(_tampered(tmp_path, version=1))
    assert "version 1" in message and "15 classes" in message and "retrain" in message
    assert "\n" not in message


def test_unknown_config_keys_are_refused(tmp_path: Path) -> None:
    config = {**to_dict(tiny_config()), "future_field": 1}
    assert "incompatible version" in _refusal(_tampered(tmp_path, config=config))


def test_weights_of_another_config_are_refused(tmp_path: Path) -> None:
    other = CRN(tiny_config(ngf=8)).state_dict()
    assert "weights do not fit" in _refusal(_tampered(tmp_path, state_dict=other))


def test_meta_must_be_json_ready(tmp_path: Path) -> None:
    config = tiny_config()
    with pytest.raises(TypeError):
        save_checkpoint(tmp_path / "crn.pt", CRN(config), config, {"when": object()})
