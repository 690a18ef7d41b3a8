"""``manifest.json`` of a folder of built engines, and the checks before one is loaded.

A TensorRT engine only runs on the GPU architecture (compute capability) and TensorRT version it
was built with, and only means something for the exact model it was built from. ``python
export/build_engines.py`` therefore writes the engines of one target into
``engines/<gpu-name>-sm<cc>-trt<version>/`` (:func:`engine_dir_name`) beside a manifest::

    {"format": 1, "crn_live": "0.1.0", "built": "2026-11-25T10:00:00+00:00",
     "gpu": "NVIDIA H100 80GB HBM3", "compute_capability": "9.0", "tensorrt": "10.13.0",
     "precision": "fp16", "max_objects": 4,
     "models": {"separator": {"config_hash": ..., "sha256": ...}, "detector": {...}},
     "graphs": {"separator_step": {"file": "separator_step.engine", "model": "separator",
                "sha256": ..., "inputs": [TensorSpec...], "outputs": [...],
                "profile": {"min": 1, "opt": 3, "max": 4}}, ...}}

:func:`check_manifest` refuses, with one line saying what differs and what to do, an engine
built for another GPU, TensorRT version, model or precision-less format; the runtime then falls
back to onnxruntime (:mod:`crn_live.runtime.select`).
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import re
from pathlib import Path
from typing import Any, Mapping

from crn_live.data.files import write_text_atomic
from crn_live.errors import UserError
from crn_live.runtime.base import TensorSpec

MANIFEST_NAME = "manifest.json"
FORMAT = 1
PRECISIONS = ("fp16", "fp32")
REBUILD = "rebuild them with: python export/build_engines.py"


class EngineMismatch(UserError):
    """Engines built for another GPU, TensorRT version or model (one line, with the fix)."""


@dataclasses.dataclass(frozen=True)
class Target:
    """What an engine is tied to: GPU name, compute capability (``"9.0"``), TensorRT version."""

    gpu: str
    compute_capability: str
    tensorrt: str

    @property
    def dir_name(self) -> str:
        return engine_dir_name(self.gpu, self.compute_capability, self.tensorrt)


@dataclasses.dataclass(frozen=True)
class GraphEntry:
    """One engine of the folder."""

    file: str
    model: str
    sha256: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    profile: dict[str, int]

    def to_dict(self) -> dict:
        return {"file": self.file, "model": self.model, "sha256": self.sha256,
                "inputs": [s.to_dict() for s in self.inputs],
                "outputs": [s.to_dict() for s in self.outputs], "profile": dict(self.profile)}

    @classmethod
    def from_dict(cls, data: Mapping) -> "GraphEntry":
        return cls(str(data["file"]), str(data["model"]), str(data["sha256"]),
                   tuple(TensorSpec.from_dict(s) for s in data["inputs"]),
                   tuple(TensorSpec.from_dict(s) for s in data["outputs"]),
                   {k: int(v) for k, v in data["profile"].items()})


@dataclasses.dataclass(frozen=True)
class Manifest:
    target: Target
    precision: str
    max_objects: int
    models: dict[str, dict[str, str]]
    graphs: dict[str, GraphEntry]
    built: str = ""
    crn_live: str = ""
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"format": FORMAT, "crn_live": self.crn_live, "built": self.built,
                "gpu": self.target.gpu, "compute_capability": self.target.compute_capability,
                "tensorrt": self.target.tensorrt, "precision": self.precision,
                "max_objects": self.max_objects, "models": self.models,
                "graphs": {k: g.to_dict() for k, g in self.graphs.items()}, **self.extra}

    @classmethod
    def from_dict(cls, data: Mapping) -> "Manifest":
        known = {"format", "crn_live", "built", "gpu", "compute_capability", "tensorrt",
                 "precision", "max_objects", "models", "graphs"}
        return cls(Target(str(data["gpu"]), str(data["compute_capability"]),
                          str(data["tensorrt"])),
                   str(data["precision"]), int(data["max_objects"]),
                   {k: dict(v) for k, v in data["models"].items()},
                   {k: GraphEntry.from_dict(v) for k, v in data["graphs"].items()},
                   str(data.get("built", "")), str(data.get("crn_live", "")),
                   {k: v for k, v in data.items() if k not in known})


def engine_dir_name(gpu: str, compute_capability: str, tensorrt: str) -> str:
    """``NVIDIA H100 80GB HBM3``, ``9.0``, ``10.13.0`` ->
    ``nvidia-h100-80gb-hbm3-sm90-trt10.13.0``."""
    slug = re.sub(r"[^a-z0-9]+", "-", gpu.lower()).strip("-") or "gpu"
    return f"{slug}-sm{compute_capability.replace('.', '')}-trt{tensorrt}"


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def write_manifest(folder: str | Path, manifest: Manifest) -> Path:
    """``folder/manifest.json`` (written to a temporary name, then renamed)."""
    path = Path(folder) / MANIFEST_NAME
    write_text_atomic(path, json.dumps(manifest.to_dict(), indent=1) + "\n")
    return path


def read_manifest(folder: str | Path) -> Manifest:
    """The manifest of ``folder``; :class:`EngineMismatch` if absent, unreadable or of another
    format."""
    path = Path(folder) / MANIFEST_NAME
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise EngineMismatch(f"{folder} has no {MANIFEST_NAME}: {REBUILD}") from None
    except (OSError, ValueError) as error:
        raise EngineMismatch(f"{path} is unreadable ({error}): {REBUILD}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise EngineMismatch(f"{path} is not a crn-live engine manifest of format {FORMAT}: "
                             f"{REBUILD}")
    try:
        return Manifest.from_dict(data)
    except (KeyError, TypeError, ValueError) as error:
        raise EngineMismatch(f"{path} is incomplete ({error!r}): {REBUILD}") from None


def check_manifest(manifest: Manifest, target: Target, models: Mapping[str, Mapping[str, str]],
                   folder: str | Path = "", graphs: tuple[str, ...] = ()) -> None:
    """Refuse engines that are not for ``target`` and exactly ``models`` (name -> ``{"config_hash",
    "sha256"}``), or that lack one of ``graphs`` / whose file changed since the build."""
    where = f"engines in {folder}" if folder else "engines"
    built = manifest.target
    if built.compute_capability != target.compute_capability or built.gpu != target.gpu:
        raise EngineMismatch(
            f"{where} were built for {built.gpu} (sm{built.compute_capability}), this machine "
            f"has {target.gpu} (sm{target.compute_capability}): {REBUILD}")
    if built.tensorrt != target.tensorrt:
        raise EngineMismatch(f"{where} were built with TensorRT {built.tensorrt}, this machine "
                             f"has TensorRT {target.tensorrt}: {REBUILD}")
    for name, want in models.items():
        have = manifest.models.get(name)
        if have is None:
            raise EngineMismatch(f"{where} hold no {name} engine: {REBUILD}")
        for key in ("config_hash", "sha256"):
            if key in want and have.get(key) != want[key]:
                what = "config" if key == "config_hash" else "weights"
                raise EngineMismatch(f"{where} were built from another {name} ({what} "
                                     f"{have.get(key, '?')[:12]} != {want[key][:12]}): {REBUILD}")
    for graph in graphs:
        entry = manifest.graphs.get(graph)
        if entry is None:
            raise EngineMismatch(f"{where} hold no {graph} engine: {REBUILD}")
        path = Path(folder) / entry.file
        if not path.is_file():
            raise EngineMismatch(f"{path} is missing: {REBUILD}")
        if file_sha256(path) != entry.sha256:
            raise EngineMismatch(f"{path} changed since it was built: {REBUILD}")
