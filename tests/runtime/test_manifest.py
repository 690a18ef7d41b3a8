"""Engine manifests: the round trip, and each refusal (another GPU, compute capability,
TensorRT version, model config, model weights, a missing or edited engine, a broken manifest),
each one line that says how to fix it."""

from __future__ import annotations

import dataclasses
import json

import pytest

from crn_live.runtime.base import TensorSpec
from crn_live.runtime.manifest import (
    MANIFEST_NAME,
    EngineMismatch,
    GraphEntry,
    Manifest,
    Target,
    check_manifest,
    engine_dir_name,
    file_sha256,
    read_manifest,
    write_manifest,
)

H100 = Target("NVIDIA H100 80GB HBM3", "9.0", "10.13.0")
MODELS = {"separator": {"config_hash": "a" * 16, "sha256": "b" * 64},
          "detector": {"config_hash": "c" * 16, "sha256": "d" * 64}}


@pytest.fixture
def folder(tmp_path):
    engine = tmp_path / "separator_step.engine"
    engine.write_bytes(b"serialized engine bytes")
    window = (-1, 1, 256, 64)
    entry = GraphEntry(engine.name, "separator", file_sha256(engine),
                       (TensorSpec("window_log_mix", window), TensorSpec("window_mix_mag", window),
                        TensorSpec("embeddings", (-1, 128)),
                        TensorSpec("mixture_ids", (-1,), "int64")),
                       (TensorSpec("masks", (-1, 1, 256, 2)),), {"min": 1, "opt": 2, "max": 4})
    manifest = Manifest(H100, "fp16", 4, MODELS, {"separator_step": entry},
                        "2026-11-25T00:00:00+00:00", "0.1.0", {"via": "onnx"})
    write_manifest(tmp_path, manifest)
    return tmp_path, manifest


def _refusal(manifest, target=H100, models=MODELS, folder="", graphs=()) -> str:
    with pytest.raises(EngineMismatch) as caught:
        check_manifest(manifest, target, models, folder, graphs)
    message = str(caught.value)
    assert "\n" not in message and "build_engines.py" in message
    return message


def test_round_trip_and_acceptance(folder) -> None:
    path, manifest = folder
    again = read_manifest(path)
    assert again == manifest
    assert json.loads((path / MANIFEST_NAME).read_text())["compute_capability"] == "9.0"
    check_manifest(again, H100, MODELS, path, ("separator_step",))  # no refusal


def test_folder_name_ties_gpu_architecture_and_tensorrt() -> None:
    assert H100.dir_name == "nvidia-h100-80gb-hbm3-sm90-trt10.13.0"
    assert engine_dir_name("NVIDIA GeForce RTX 4090", "8.9", "11.0.0") == \
        "nvidia-geforce-rtx-4090-sm89-trt11.0.0"


@pytest.mark.parametrize("target, words", [
    (Target("NVIDIA A100-SXM4-80GB", "8.0", "10.13.0"), "built for NVIDIA H100"),
    (Target("NVIDIA H100 80GB HBM3", "9.0", "11.0.0"), "TensorRT 10.13.0"),
])
def test_refuses_another_gpu_or_tensorrt(folder, target, words) -> None:
    assert words in _refusal(folder[1], target)


def test_refuses_another_model(folder) -> None:
    _, manifest = folder
    other_config = {**MODELS, "separator": {"config_hash": "e" * 16, "sha256": "b" * 64}}
    assert "another separator (config" in _refusal(manifest, models=other_config)
    other_weights = {**MODELS, "separator": {"config_hash": "a" * 16, "sha256": "f" * 64}}
    assert "another separator (weights" in _refusal(manifest, models=other_weights)
    no_detector = dataclasses.replace(manifest, models={"separator": MODELS["separator"]})
    assert "no detector" in _refusal(no_detector)


def test_refuses_missing_or_edited_engines(folder) -> None:
    path, manifest = folder
    assert "no visual engine" in _refusal(manifest, folder=path, graphs=("visual",))
    (path / "separator_step.engine").write_bytes(b"edited")
    assert "changed since" in _refusal(manifest, folder=path, graphs=("separator_step",))
    (path / "separator_step.engine").unlink()
    assert "is missing" in _refusal(manifest, folder=path, graphs=("separator_step",))


@pytest.mark.parametrize("content, words", [
    (None, "has no manifest.json"), ("{not json", "unreadable"),
    (json.dumps({"format": 99}), "not a crn-live engine manifest"),
    (json.dumps({"format": 1, "gpu": "x"}), "incomplete"),
])
def test_broken_manifests_are_refused(tmp_path, content, words) -> None:
    if content is not None:
        (tmp_path / MANIFEST_NAME).write_text(content)
    with pytest.raises(EngineMismatch, match=words) as caught:
        read_manifest(tmp_path)
    assert "\n" not in str(caught.value)
