"""Building TensorRT engines (:mod:`crn_live.runtime.trt_build`): the precision plan per
TensorRT generation and Torch-TensorRT release, the engine I/O callers see, the optimization
profiles of the real exported graphs, and the one-line refusal without TensorRT (CPU only;
engines are built in tests/runtime/test_tensorrt.py where TensorRT and a GPU exist)."""

from __future__ import annotations

import pytest

from crn_live.runtime.base import TensorSpec
from crn_live.runtime.tensorrt_backend import tensorrt_version
from crn_live.runtime.trt_build import (
    build_engine,
    fp16_initializer_count,
    io_specs,
    onnx_input_shapes,
    precision_plan,
    profile_shapes,
    torch_tensorrt_precision_kwargs,
)


def test_precision_plan_follows_the_tensorrt_generation() -> None:
    assert precision_plan(10, "fp16") == {"strongly_typed": False, "builder_fp16_flag": True,
                                          "fp16_onnx": False, "disable_tf32": False}
    assert precision_plan(10, "fp32") == {"strongly_typed": False, "builder_fp16_flag": False,
                                          "fp16_onnx": False, "disable_tf32": True}
    for major in (11, 12):  # strongly typed only: no precision flags, fp16 from the graph
        assert precision_plan(major, "fp16") == {"strongly_typed": True,
                                                 "builder_fp16_flag": False,
                                                 "fp16_onnx": True, "disable_tf32": False}
        assert precision_plan(major, "fp32") == {"strongly_typed": True,
                                                 "builder_fp16_flag": False,
                                                 "fp16_onnx": False, "disable_tf32": True}
    with pytest.raises(ValueError, match="precision"):
        precision_plan(10, "int8")
    with pytest.raises(ValueError, match="TensorRT >= 10"):
        precision_plan(8, "fp32")


def test_torch_tensorrt_settings_follow_its_release() -> None:
    new = ["enabled_precisions", "use_explicit_typing", "enable_autocast",
           "autocast_low_precision_type", "disable_tf32"]
    assert torch_tensorrt_precision_kwargs(new, "fp16") == {
        "use_explicit_typing": True, "enable_autocast": True,
        "autocast_low_precision_type": "float16"}
    assert torch_tensorrt_precision_kwargs(new, "fp32") == {"use_explicit_typing": True,
                                                            "disable_tf32": True}
    old = ["enabled_precisions", "disable_tf32"]
    assert torch_tensorrt_precision_kwargs(old, "fp16") == {"enabled_precisions": {"float16"}}
    assert torch_tensorrt_precision_kwargs(old, "fp32") == {"enabled_precisions": {"float32"},
                                                            "disable_tf32": True}


def test_engine_io_becomes_what_callers_exchange() -> None:
    """An engine with fp16 I/O (a strongly typed build of an fp16 graph) is still fed and read
    as float32 (the backend casts on the GPU); integer tensors keep their type."""
    rows = [{"name": "window_mix_mag", "mode": "input", "shape": [-1, 1, 256, 64],
             "dtype": "float16"},
            {"name": "mixture_ids", "mode": "input", "shape": [-1], "dtype": "int64"},
            {"name": "masks", "mode": "output", "shape": [-1, 1, 256, 2], "dtype": "float16"}]
    inputs, outputs = io_specs(rows)
    assert [TensorSpec.from_dict(d) for d in inputs] == [
        TensorSpec("window_mix_mag", (-1, 1, 256, 64)), TensorSpec("mixture_ids", (-1,), "int64")]
    assert outputs == [{"name": "masks", "shape": [-1, 1, 256, 2], "dtype": "float32"}]


def test_profile_shapes_of_the_real_graphs(bundled_graphs) -> None:
    shapes = onnx_input_shapes(bundled_graphs["separator_step"]["fp32"])
    assert shapes == {"window_log_mix": (-1, 1, 256, 64), "window_mix_mag": (-1, 1, 256, 64),
                      "embeddings": (-1, 128), "mixture_ids": (-1,)}
    profile = profile_shapes(shapes, 1, 3, 4)
    assert profile["window_mix_mag"] == ((1, 1, 256, 64), (3, 1, 256, 64), (4, 1, 256, 64))
    assert profile["mixture_ids"] == ((1,), (3,), (4,))
    assert profile_shapes(onnx_input_shapes(bundled_graphs["detector"]["fp32"]), 1, 1, 8) == {
        "image": ((1, 3, 240, 320), (1, 3, 240, 320), (8, 3, 240, 320))}
    with pytest.raises(ValueError, match="min <= opt <= max"):
        profile_shapes(shapes, 2, 1, 4)
    with pytest.raises(ValueError, match="besides the batch"):
        profile_shapes({"x": (-1, 3, -1)}, 1, 1, 2)
    assert fp16_initializer_count(bundled_graphs["separator_step"]["fp32"]) == 0
    assert fp16_initializer_count(bundled_graphs["separator_step"]["fp16"]) > 0


def test_without_tensorrt_building_says_so_in_one_line(tmp_path) -> None:
    if tensorrt_version() is not None:
        pytest.skip("TensorRT is installed here")
    with pytest.raises(RuntimeError) as error:
        build_engine(tmp_path / "g.onnx", tmp_path / "g.engine", precision="fp32", min_batch=1,
                     opt_batch=1, max_batch=4, timing_cache=None)
    assert "pip install .[gpu]" in str(error.value) and "\n" not in str(error.value)
