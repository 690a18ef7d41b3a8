"""export/export_onnx.py: the bundled separator's visual encoder and per-hop step, and the bundled
detector, as ONNX graphs that pass onnx.checker and match PyTorch in onnxruntime (<= 1e-4, fp32)
on random inputs and on a real clip's crops, spectrogram and frames."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest

from export.export_onnx import MAX_OBJECTS_KEY, MODEL_HASH_KEY, export_all, main


@pytest.fixture(scope="module")
def exported(clip_sets, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("onnx")
    clip = sorted(p for p in clip_sets[3].iterdir() if p.is_dir())[0]
    return out, export_all(out, max_objects=4, clip=clip)


def test_every_graph_matches_pytorch(exported) -> None:
    out, report = exported
    assert set(report) == {"visual", "separator_step", "detector"}
    for name, result in report.items():
        assert result["max_abs_err"] <= 1e-4, name
        assert result["inputs"] == "random + clip"
        graph = onnx.load(str(out / f"{name}.onnx"))
        onnx.checker.check_model(graph, full_check=True)
    assert json.loads((out / "parity.json").read_text()) == report


def test_step_graph_takes_one_to_max_objects(exported) -> None:
    out, _ = exported
    graph = onnx.load(str(out / "separator_step.onnx"))
    meta = {p.key: p.value for p in graph.metadata_props}
    assert meta[MAX_OBJECTS_KEY] == "4" and len(meta[MODEL_HASH_KEY]) == 16
    session = onnxruntime.InferenceSession(str(out / "separator_step.onnx"),
                                           providers=["CPUExecutionProvider"])
    shapes = {i.name: i.shape for i in session.get_inputs()}
    bins, frames = shapes["window_mix_mag"][2:]
    rng = np.random.default_rng(0)
    for n in (1, 2, 3, 4):
        mag = rng.random((n, 1, bins, frames), dtype=np.float32)
        (masks,) = session.run(["masks"], {
            "window_log_mix": np.log1p(mag), "window_mix_mag": mag,
            "embeddings": rng.standard_normal((n, shapes["embeddings"][1])).astype(np.float32),
            "mixture_ids": np.zeros(n, np.int64)})
        assert masks.shape[:3] == (n, 1, bins) and np.all((masks >= 0) & (masks <= 1))


def test_script_refuses_a_wrong_checkpoint_in_one_line(tmp_path, capsys) -> None:
    separator = Path(__file__).parents[2] / "crn_live" / "weights" / "crn_small.pt"
    assert main(["--out", str(tmp_path), "--detector", str(separator)]) == 2
    err = capsys.readouterr().err.strip()
    assert "not a detector" in err and "\n" not in err
