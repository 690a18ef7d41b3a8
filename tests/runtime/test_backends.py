"""The Backend interface on its two CPU implementations: same named outputs, input checks,
clear refusals, and a whole recording streamed through onnxruntime equal to PyTorch's streaming
separation."""

from __future__ import annotations

import numpy as np
import pytest

from crn_live.runtime.base import Backend, BackendError, TensorSpec, check_feeds
from crn_live.runtime.graphs import STEP, VISUAL
from crn_live.runtime.onnx_backend import OnnxRuntimeBackend
from crn_live.runtime.select import CACHE_ENV, open_runtime
from crn_live.runtime.step import stream_masks
from crn_live.separation import BUNDLED_MODEL, Separator


@pytest.fixture(scope="module")
def runtimes(tmp_path_factory):
    import os

    os.environ[CACHE_ENV] = str(tmp_path_factory.getbasetemp() / "runtime-cache")
    separator = Separator.load()
    return separator, {name: open_runtime(name, separator, BUNDLED_MODEL)
                       for name in ("torch", "onnxruntime")}


def test_backends_share_the_interface(runtimes) -> None:
    separator, opened = runtimes
    crops = np.random.default_rng(0).random((3, 3, 96, 96), np.float32)
    outputs = {}
    for name, runtime in opened.items():
        backend = runtime[VISUAL]
        assert isinstance(backend, Backend) and backend.name == name
        assert [s.name for s in backend.inputs] == ["crops"]
        assert backend.inputs[0].shape == (-1, 3, 96, 96)
        assert name in backend.describe()
        outputs[name] = backend.run({"crops": crops})["embeddings"]
    assert outputs["torch"].shape == (3, separator.config.embed_dim)
    assert np.abs(outputs["torch"] - outputs["onnxruntime"]).max() <= 1e-4


@pytest.mark.slow
def test_streaming_through_onnxruntime_equals_pytorch(runtimes) -> None:
    separator, opened = runtimes
    rng = np.random.default_rng(2)
    mix_mag = (rng.random((256, 37), np.float32) ** 3) * 4  # 37: not a whole number of chunks
    embeddings = rng.standard_normal((3, separator.config.embed_dim)).astype(np.float32)
    want = separator.masks(mix_mag, embeddings, "streaming")
    got = stream_masks(opened["onnxruntime"][STEP], separator.config, mix_mag, embeddings)
    assert got.shape == want.shape == (3, 256, 37)
    assert np.abs(got - want).max() <= 1e-4


def test_inputs_are_checked(runtimes) -> None:
    _, opened = runtimes
    backend = opened["torch"][STEP]
    with pytest.raises(ValueError, match="missing inputs: .*embeddings"):
        backend.run({"window_log_mix": np.zeros((1, 1, 256, 64), np.float32)})
    spec = TensorSpec("x", (-1, 4))
    with pytest.raises(ValueError, match="must be float32"):
        check_feeds((spec,), {"x": np.zeros((1, 4))})
    with pytest.raises(ValueError, match="shape"):
        check_feeds((spec,), {"x": np.zeros((1, 5), np.float32)})
    with pytest.raises(ValueError, match="outside 1..4"):
        check_feeds((spec,), {"x": np.zeros((5, 4), np.float32)}, max_batch=4)
    assert TensorSpec.from_dict(spec.to_dict()) == spec


def test_onnxruntime_refuses_missing_or_broken_graphs(tmp_path) -> None:
    with pytest.raises(BackendError, match="no ONNX graph.*build_engines.py"):
        OnnxRuntimeBackend(tmp_path / "absent.onnx")
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"\x08\x07not a model")
    with pytest.raises(BackendError, match="cannot load") as caught:
        OnnxRuntimeBackend(broken)
    assert "\n" not in str(caught.value)
