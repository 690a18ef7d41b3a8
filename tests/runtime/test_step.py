"""The separator step through any backend (:mod:`crn_live.runtime.step`): its inputs, and a
recording streamed window by window through real ONNX graphs in onnxruntime — an identity
"network" gives the mixture back, the tiny separator's exported step gives PyTorch's streaming
masks. (The bundled separator's: tests/runtime/test_backends.py.)"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from crn_live.models.crn import MIX_EPS
from crn_live.runtime.graphs import STEP
from crn_live.runtime.onnx_backend import OnnxRuntimeBackend
from crn_live.runtime.onnx_export import export_separator_step
from crn_live.runtime.step import SILENT_LOG, step_feeds, stream_masks
from tests.helpers import tiny_config

CONFIG = tiny_config()  # 64 log bins, 16-frame windows, 4-frame chunks, no look-ahead


def test_step_feeds() -> None:
    rng = np.random.default_rng(0)
    mag = np.broadcast_to(rng.random((1, 1, 64, 16)), (3, 1, 64, 16))  # float64, a view
    embeddings = rng.standard_normal((3, 8))
    feeds = step_feeds(mag, embeddings)
    assert list(feeds) == ["window_log_mix", "window_mix_mag", "embeddings", "mixture_ids"]
    assert all(a.flags.c_contiguous for a in feeds.values())
    assert feeds["window_mix_mag"].dtype == feeds["embeddings"].dtype == np.float32
    assert np.array_equal(feeds["window_mix_mag"], mag.astype(np.float32))
    assert np.array_equal(feeds["window_log_mix"],
                          np.log(mag.astype(np.float32) + np.float32(MIX_EPS)))
    assert feeds["mixture_ids"].dtype == np.int64 and not feeds["mixture_ids"].any()
    ids = np.array([0, 1, 1], np.int64)
    assert step_feeds(mag, embeddings, ids)["mixture_ids"] is ids
    silent = step_feeds(np.zeros((1, 1, 64, 16), np.float32), embeddings[:1])
    assert np.all(silent["window_log_mix"] == np.float32(SILENT_LOG))


def _identity_step(path: Path) -> Path:
    """A step graph whose masks are the window's emitted frames of ``window_mix_mag``
    (``history .. history + chunk``): streaming it must give the mixture back."""
    history = CONFIG.context_frames - CONFIG.chunk_frames - CONFIG.lookahead_frames
    bounds = [numpy_helper.from_array(np.array([v], np.int64), name) for name, v in (
        ("starts", history), ("ends", history + CONFIG.chunk_frames), ("axes", 3))]
    node = helper.make_node("Slice", ["window_mix_mag", "starts", "ends", "axes"], ["masks"])
    graph = helper.make_graph(
        [node], "identity_step",
        [helper.make_tensor_value_info("window_mix_mag", TensorProto.FLOAT,
                                       ["objects", 1, CONFIG.log_bins, CONFIG.context_frames])],
        [helper.make_tensor_value_info("masks", TensorProto.FLOAT,
                                       ["objects", 1, CONFIG.log_bins, CONFIG.chunk_frames])],
        bounds)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


@pytest.mark.parametrize("frames", [3, 16, 37])  # under a chunk, whole chunks, a partial one
def test_an_identity_step_streams_the_mixture_back(tmp_path, frames) -> None:
    backend = OnnxRuntimeBackend(_identity_step(tmp_path / "identity.onnx"), STEP)
    mix_mag = np.random.default_rng(frames).random((CONFIG.log_bins, frames), np.float32)
    calls = []
    masks = stream_masks(backend, CONFIG, mix_mag, np.zeros((2, CONFIG.embed_dim), np.float32),
                         progress=lambda done, total: calls.append((done, total)))
    assert masks.shape == (2, CONFIG.log_bins, frames)
    assert np.array_equal(masks[0], mix_mag) and np.array_equal(masks[1], mix_mag)
    chunks = -(-frames // CONFIG.chunk_frames)
    assert calls == [(k, chunks) for k in range(1, chunks + 1)]


def test_the_exported_step_streams_like_pytorch(separator, tmp_path) -> None:
    backend = OnnxRuntimeBackend(export_separator_step(separator.causal, tmp_path / "step.onnx",
                                                       max_objects=3), STEP)
    rng = np.random.default_rng(2)
    mix_mag = (rng.random((CONFIG.log_bins, 37), np.float32) ** 3) * 4
    embeddings = rng.standard_normal((3, CONFIG.embed_dim)).astype(np.float32)
    want = separator.masks(mix_mag, embeddings, "streaming")
    got = stream_masks(backend, separator.config, mix_mag, embeddings)
    assert got.shape == want.shape == (3, CONFIG.log_bins, 37)
    assert np.abs(got - want).max() <= 1e-4
