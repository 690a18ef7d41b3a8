"""crn-train's options: the model config from --size and a --config file (nested fields merge),
and the one-line refusals of both tasks. (Training itself: tests/training/.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from crn_live.cli.train import main as train_main
from crn_live.cli.train import model_config
from crn_live.config import DetectorConfig, ModelConfig
from crn_live.errors import UserError
from tests.helpers import TINY_MODEL, tiny_config, train_args


def test_model_config_is_the_preset_without_a_file() -> None:
    assert model_config("small", None) == ModelConfig.small()
    assert model_config("base", None) == ModelConfig.base()
    assert model_config("small", None, "detector") == DetectorConfig()


def test_model_config_file_changes_fields_and_merges_nested_ones(tmp_path: Path,
                                                                  tiny_config_file: Path) -> None:
    assert model_config("small", tiny_config_file) == tiny_config()
    changes = tmp_path / "changes.json"
    changes.write_text(json.dumps({"ngf": 8, "audio": {"stft": {"hop": 128}}}))
    base = model_config("base", changes)
    assert base.size == "base" and base.ngf == 8 and base.embed_dim == 512
    assert base.audio.stft.hop == 128
    assert base.audio.stft.n_fft == ModelConfig.base().audio.stft.n_fft  # merged, not replaced
    changes.write_text(json.dumps({"input_width": 160, "input_height": 120}))
    detector = model_config("small", changes, "detector")
    assert (detector.input_width, detector.input_height) == (160, 120)
    assert detector.classes == DetectorConfig().classes


@pytest.mark.parametrize("text, message", [
    (None, "not found"),
    ("[1, 2]", "expected a JSON object"),
    ("{not json", "--config"),
    ('{"ngf": 0}', "must be >= 1"),
    ('{"colour": "red"}', "unknown keys"),
])
def test_model_config_refusals_name_the_file(tmp_path: Path, text: str | None,
                                             message: str) -> None:
    path = tmp_path / "config.json"
    if text is not None:
        path.write_text(text)
    with pytest.raises(UserError, match=message) as info:
        model_config("small", path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def _refusal(argv: list[str]) -> str:
    with pytest.raises(UserError) as info:
        train_main(argv)
    assert "\n" not in str(info.value)
    return str(info.value)


@pytest.mark.slow
def test_one_line_refusals(clip_sets, tiny_config_file, tmp_path):
    assert "no training data" in _refusal(["--out", str(tmp_path / "r")])
    assert "does not exist" in _refusal(["--data", str(tmp_path / "nowhere"), "--out",
                                         str(tmp_path / "r")])
    bad = tmp_path / "bad.json"
    bad.write_text('{"ngf": 0}')
    assert "must be >= 1" in _refusal(["--data", str(clip_sets[2]), "--config", str(bad),
                                       "--out", str(tmp_path / "r")])
    if not torch.cuda.is_available():
        assert "no CUDA GPU" in _refusal(["--data", str(clip_sets[2]), "--device", "cuda",
                                          "--out", str(tmp_path / "r")])
    out = tmp_path / "twice"
    args = train_args(clip_sets, tiny_config_file, out, 1)
    assert train_main(args) == 0
    assert "--resume" in _refusal(args)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({**TINY_MODEL, "ngf": 8}))
    assert "another model config" in _refusal(
        [a if a != str(tiny_config_file) else str(other) for a in args] + ["--resume"])


def test_detector_task_refusals(clip_sets, tiny_config_file, tmp_path):
    assert "no training data" in _refusal(["--task", "detector", "--out", str(tmp_path / "x")])
    assert "DetectorConfig: unknown keys" in _refusal(
        ["--task", "detector", "--data", str(clip_sets[2]), "--out", str(tmp_path / "y"),
         "--config", str(tiny_config_file)])
    assert "has no boxes" in _refusal(["--task", "detector", "--data", str(clip_sets[2]),
                                       "--music", str(tmp_path), "--out", str(tmp_path / "z")])
