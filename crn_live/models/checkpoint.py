"""Checkpoints that rebuild their model from the stored config (no config file needed).

A checkpoint is a ``torch.save``-d dict of plain types and tensors, read back with
``weights_only=True``::

    {"format": "crn-live-checkpoint", "version": 2, "kind": "crn" | ..., "config": {...},
     "config_hash": "...", "state_dict": {...}, "meta": {...}}

``meta`` holds JSON-ready training metadata (epoch, losses, data, git commit...). Every refusal
is a :class:`CheckpointError` (a :class:`~crn_live.errors.UserError`) with a one-line message.
"""

from __future__ import annotations

import dataclasses
import json
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from crn_live.config import DetectorConfig, ModelConfig, config_hash, from_dict, to_dict
from crn_live.data.files import atomic_path
from crn_live.errors import UserError
from crn_live.models.causal import ChunkedCausalCRN
from crn_live.models.classifier import AudioClassifier
from crn_live.models.crn import CRN
from crn_live.models.detector import InstrumentDetector
from crn_live.models.system import CRNSystem, SeparatorModel
from crn_live.models.visual import VisualEncoder

FORMAT = "crn-live-checkpoint"
#: 2: the 28-class vocabulary and class-conditioned separators (version 1: 15 classes, the
#: separator conditioned on pictures alone).
VERSION = 2
#: What each older version was, for the refusal message.
OLD_VERSIONS = {1: "15 classes, separators conditioned on pictures only"}

#: Model classes a checkpoint can hold, by ``kind``; each is built as ``cls(config)``.
KINDS: dict[str, type[nn.Module]] = {
    "crn": CRN,
    "chunked_causal_crn": ChunkedCausalCRN,
    "visual_encoder": VisualEncoder,
    "audio_classifier": AudioClassifier,
    "crn_system": CRNSystem,
    "separator": SeparatorModel,
    "detector": InstrumentDetector,
}
#: The config class each kind is built from (``ModelConfig`` unless listed).
CONFIG_CLASSES: dict[str, type] = {"detector": DetectorConfig}


class CheckpointError(UserError):
    """A checkpoint that cannot be used: missing, unreadable, foreign, mismatched."""


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint: the rebuilt model (in eval mode), its config, kind and metadata."""

    model: nn.Module
    config: Any  # ModelConfig, or DetectorConfig for a detector
    kind: str
    meta: dict[str, Any]


def kind_of(model: nn.Module) -> str:
    """The ``kind`` under which ``model`` is saved; ``ValueError`` for other classes."""
    for kind, cls in KINDS.items():
        if type(model) is cls:
            return kind
    raise ValueError(f"cannot checkpoint a {type(model).__name__}; known: {sorted(KINDS)}")


def save_checkpoint(
    path: str | Path, model: nn.Module, config: Any, meta: dict[str, Any] | None = None,
    half: bool = False,
) -> None:
    """Write ``model``'s weights with its config and JSON-ready ``meta`` to ``path``.

    ``half`` stores floating-point tensors as float16 (half the file; loading casts them back
    to the model's float32). The file is written beside ``path`` and renamed over it, so an
    interrupted save never leaves a truncated checkpoint.
    """
    meta = {} if meta is None else meta
    try:  # plain JSON types only: weights_only loading reads nothing else back
        meta = json.loads(json.dumps(meta))
    except (TypeError, ValueError) as error:
        raise TypeError(f"checkpoint meta must be JSON-ready: {error}") from None
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "kind": kind_of(model),
        "config": to_dict(config),
        "config_hash": config_hash(config),
        "state_dict": {k: _stored(v, half) for k, v in model.state_dict().items()},
        "meta": meta,
    }
    path = Path(path)
    with atomic_path(path) as partial:
        torch.save(payload, partial)


def _stored(tensor: torch.Tensor, half: bool) -> torch.Tensor:
    tensor = tensor.detach().cpu()
    return tensor.half() if half and tensor.is_floating_point() else tensor


def load_checkpoint(path: str | Path, expected: Any = None) -> Checkpoint:
    """Read a checkpoint, check it, rebuild its model from the stored config.

    ``expected``: refuse unless the stored config equals it. Raises :class:`CheckpointError`.
    """
    path = Path(path)
    payload = _read(path)
    config = _stored_config(path, payload)
    if expected is not None and config != expected:
        raise CheckpointError(_mismatch_message(path, config, expected))
    model = KINDS[payload["kind"]](config)
    problem = _weights_problem(model.state_dict(), payload["state_dict"])
    if problem:
        raise CheckpointError(f"{path}: weights do not fit a {payload['kind']} of its own config "
                              f"({problem}); the file is damaged, re-export or retrain it")
    model.load_state_dict(payload["state_dict"])
    return Checkpoint(model.eval(), config, payload["kind"], dict(payload.get("meta") or {}))


def _weights_problem(wanted: dict[str, Any], stored: dict[str, Any]) -> str:
    """The first missing, unexpected or misshapen tensor, or ``''``."""
    missing = sorted(set(wanted) - set(stored))
    unexpected = sorted(set(stored) - set(wanted))
    if missing or unexpected:
        example = (missing or unexpected)[0]
        return f"{len(missing)} missing, {len(unexpected)} unexpected, e.g. {example!r}"
    for name, tensor in wanted.items():
        value = stored[name]
        if not isinstance(value, torch.Tensor) or value.shape != tensor.shape:
            got = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            return f"{name!r} is {got}, expected {tuple(tensor.shape)}"
    return ""


def _read(path: Path) -> dict[str, Any]:
    """The checked top-level dict of the file at ``path``."""
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} not found: give the path of a .pt file "
                              f"written by crn-train")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError,
            zipfile.BadZipFile, AttributeError, KeyError, TypeError, IndexError) as error:
        raise CheckpointError(f"cannot read {path} as a checkpoint ({type(error).__name__}): "
                              f"the file is damaged or not a crn-live checkpoint") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a crn-live checkpoint (no '{FORMAT}' header): "
                              f"use a .pt file written by crn-train")
    if payload.get("version") in OLD_VERSIONS:
        raise CheckpointError(f"{path} is a version {payload['version']} crn-live checkpoint "
                              f"({OLD_VERSIONS[payload['version']]}); this crn-live reads "
                              f"version {VERSION} (28 classes, class-conditioned): retrain it "
                              f"with crn-train / crn-train --detector")
    if payload.get("version") != VERSION:
        raise CheckpointError(f"{path} is a version {payload.get('version')!r} crn-live "
                              f"checkpoint, this crn-live reads version {VERSION}: use the "
                              f"crn-live release that wrote it, or retrain")
    if payload.get("kind") not in KINDS or not isinstance(payload.get("state_dict"), dict):
        raise CheckpointError(f"{path} holds an unknown model kind {payload.get('kind')!r} "
                              f"(known: {', '.join(sorted(KINDS))}): it comes from an "
                              f"incompatible crn-live version")
    return payload


def _stored_config(path: Path, payload: dict[str, Any]) -> Any:
    """The stored config (of the class the kind is built from), checked against its hash."""
    try:
        config = from_dict(CONFIG_CLASSES.get(payload["kind"], ModelConfig), payload.get("config"))
    except (ValueError, TypeError, AttributeError) as error:
        raise CheckpointError(f"{path} stores a model config this crn-live cannot rebuild "
                              f"({error}): it comes from an incompatible version") from None
    if config_hash(config) != payload.get("config_hash"):
        raise CheckpointError(f"{path}: stored config does not match its hash; the file was "
                              f"edited or damaged, re-export or retrain it")
    return config


def _flat(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dict -> ``{"audio.stft.hop": 256, ...}``."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _mismatch_message(path: Path, stored: Any, expected: Any) -> str:
    """One line naming every differing field, checkpoint value vs expected value."""
    have, want = _flat(to_dict(stored)), _flat(to_dict(expected))
    diffs = [f"{k} {have.get(k)!r} != {want.get(k)!r}" for k in sorted(have) if
             have.get(k) != want.get(k)]
    return (f"{path} was trained with another model config (checkpoint vs expected: "
            f"{'; '.join(diffs)}): use a checkpoint trained with this config, or load it "
            f"without an expected config to use its own")
