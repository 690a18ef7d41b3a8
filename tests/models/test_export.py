"""ONNX export of ChunkedCausalCRN.step: onnxruntime matches torch, dynamic objects axis.

Uses the legacy TorchScript exporter (``dynamo=False``): the dynamo exporter needs
``onnxscript``, which is not a dependency.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
import torch

from crn_live.models import STEP_INPUT_NAMES, STEP_OUTPUT_NAMES, ChunkedCausalCRN
from tests.models.tiny import lively, tiny_config


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[ChunkedCausalCRN, Path]:
    model = lively(ChunkedCausalCRN(tiny_config(refine_iterations=2)))
    path = tmp_path_factory.mktemp("onnx") / "step.onnx"
    dynamic = {name: {0: "objects"} for name in STEP_INPUT_NAMES + STEP_OUTPUT_NAMES}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation notice
        torch.onnx.export(model, model.example_inputs(2), str(path), dynamo=False,
                          input_names=list(STEP_INPUT_NAMES),
                          output_names=list(STEP_OUTPUT_NAMES),
                          dynamic_axes=dynamic, opset_version=17)
    return model, path


@pytest.mark.parametrize("mixture_ids", [[0], [0, 0, 1]])
def test_onnxruntime_matches_torch(
    exported: tuple[ChunkedCausalCRN, Path], mixture_ids: list[int]
) -> None:
    model, path = exported
    inputs = list(model.example_inputs(len(mixture_ids)))
    inputs[3] = torch.tensor(mixture_ids)
    with torch.no_grad():
        expected = model(*inputs).numpy()
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = {name: tensor.numpy() for name, tensor in zip(STEP_INPUT_NAMES, inputs)}
    (got,) = session.run(list(STEP_OUTPUT_NAMES), feed)
    assert got.shape == expected.shape == (len(mixture_ids), 1, 64, 4)
    assert np.abs(got - expected).max() <= 1e-4
