"""fp32 -> fp16 conversion of an ONNX graph, for strongly typed TensorRT builds and elsewhere.

TensorRT 11 dropped the weakly typed builder flags (``BuilderFlag.FP16`` and the like; see
"Removed Python APIs" in NVIDIA's TensorRT 10.x -> 11.x migration guide): an engine's precision
now comes from the types in the network, so an fp16 engine is built from an fp16 graph. This
module writes one, without onnxconverter-common or ModelOpt (neither is a dependency):

* float32 initializers and ``Constant`` tensors become float16, clamped to the fp16 range (and
  non-zero values below the smallest fp16 subnormal to that subnormal, so they keep their sign
  and do not become 0);
* the float32 graph inputs and outputs stay float32 (``keep_io_fp32``): ``Cast`` nodes convert at
  the boundaries; integer inputs (``mixture_ids``) are untouched;
* some nodes stay float32, with ``Cast`` nodes around them where their neighbours are float16:

  - nodes whose op type is in ``keep_ops`` or whose name is in ``keep_nodes``;
  - elementwise nodes that take a small constant (an epsilon) that fp16 cannot represent: the
    separator's ``window_mix_mag + 1e-10`` would otherwise add 0 and divide 0 by 0 on silent
    bins (weights and biases of convolutions are not epsilons: they are just rounded);
  - cheap elementwise arithmetic (and ``MatMul``) fed by a float32 tensor: it keeps computing
    in float32 what its float32 inputs computed (the separator's mixture-consistency block:
    ``(mag - sum_k mask_k * mag) / mag`` cancels catastrophically in fp16 where masks sum to 1);
  - data-movement ops (reshape, slice, concat, pooling, ...) are exact in any float type and
    follow their inputs (float32 only if every float input is float32);
  - everything else (convolutions, GEMMs, normalisation, ReLU-like activations) runs in
    float16;

* ``Cast(to=FLOAT)`` in an fp16 region becomes ``Cast(to=FLOAT16)``, ``ConstantOfShape`` values
  likewise; inputs whose type the ONNX spec fixes to float32 (``Resize`` roi / scales) are
  left as they are;
* ``value_info`` is rebuilt by shape inference, and the result passes
  ``onnx.checker.check_model(full_check=True)``.

Measured on the three crn-live graphs with the fp16 graph executed in fp16 arithmetic
(``onnx.reference.ReferenceEvaluator``; onnxruntime's CPU provider computes fp16 nodes in fp32
and hides most of the error):

* without the epsilon / fp32-propagation rules, the separator's masks on a window with silent
  bins are off by 0.47 (max abs); with them, by 1.6e-3;
* :data:`DEFAULT_KEEP_OPS` keeps ``Sigmoid`` (fp16 rounds sigmoid >= 0.9995 to 1, so adjacent
  confident cells of the detector's score map would tie in its max-pool peak test and yield
  duplicate detections; the separator's masks keep fp32 resolution too) and ``Exp`` (the
  detector's box distances: box error 1.8e-3 -> 8.9e-4); both act on small head tensors;
* ``ReduceMean`` (detector context) needs nothing: its error stays at the convolutions' level.
  Pass ``keep_ops`` (``Softmax``, ``Log``, ``Pow``, ...) for other graphs.

Usage: ``python export/fp16.py SRC.onnx DST.onnx [--fp16-io] [--keep-op OP ...]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from crn_live.data.files import atomic_path

FP16_MAX = 65504.0
FP16_TINY = 2.0 ** -24  # smallest positive fp16 (subnormal)
FP16_MIN_NORMAL = 2.0 ** -14
#: Op types kept in float32 by default (see the module docstring for the measurements).
DEFAULT_KEEP_OPS: frozenset[str] = frozenset({"Sigmoid", "Exp"})
#: A float constant of at most this many elements that fp16 cannot represent (|x| below the
#: smallest normal fp16 or above the largest) keeps its consumer in float32 (an epsilon).
SMALL_CONSTANT = 64

#: Exact in any float type: follow their float inputs (float32 only if all of them are).
FOLLOW_OPS = frozenset({
    "Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Slice", "Gather",
    "GatherElements", "GatherND", "Concat", "Split", "Expand", "Tile", "Pad", "MaxPool",
    "Relu", "Max", "Min", "Clip", "Where", "Neg", "Abs", "Equal", "Less", "LessOrEqual",
    "Greater", "GreaterOrEqual", "DepthToSpace", "SpaceToDepth", "ReduceMax", "ReduceMin",
    "ArgMax", "ArgMin", "TopK", "Sign", "IsNaN", "IsInf"})
#: Cheap elementwise arithmetic (and MatMul): stays float32 when a float input is float32.
PROPAGATE_OPS = frozenset({
    "Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Reciprocal", "Exp", "Log", "Erf", "Tanh",
    "Sigmoid", "LeakyRelu", "Sum", "Mean", "MatMul", "Softplus", "HardSigmoid", "Floor",
    "Ceil", "Round", "Mod"})
#: Inputs that take any type (no Cast inserted before them).
ANY_TYPE_INPUT_OPS = frozenset({"Shape", "Size", "Cast", "CastLike", "EyeLike"})
#: (op type, input index) whose type the spec fixes (float32 scales): left as they are.
PINNED_INPUTS = frozenset({("Resize", 1), ("Resize", 2), ("Upsample", 1)})


def _fp16_array(array: np.ndarray) -> np.ndarray:
    """``array`` as float16, clamped to +-65504, non-zero magnitudes below the smallest
    subnormal raised to it (sign kept)."""
    a = np.clip(np.asarray(array, np.float32), -FP16_MAX, FP16_MAX)
    tiny = (a != 0) & (np.abs(a) < FP16_TINY)
    a = np.where(tiny, np.sign(a) * FP16_TINY, a)
    return a.astype(np.float16)


def fp16_unrepresentable(array: np.ndarray) -> bool:
    """Whether a small float constant holds a value fp16 cannot carry (an epsilon below the
    smallest normal fp16, or a magnitude above 65504)."""
    a = np.abs(np.asarray(array, np.float64)).ravel()
    return bool(a.size <= SMALL_CONSTANT
                and np.any(((a > 0) & (a < FP16_MIN_NORMAL)) | (a > FP16_MAX)))


def _unique(name: str, taken: set[str]) -> str:
    candidate, i = name, 1
    while candidate in taken:
        candidate, i = f"{name}_{i}", i + 1
    taken.add(candidate)
    return candidate


def convert_model(model, keep_io_fp32: bool = True, keep_ops: Iterable[str] = DEFAULT_KEEP_OPS,
                  keep_nodes: Iterable[str] = ()):
    """The fp16 version of the ``onnx.ModelProto`` ``model`` (a new model; see the module
    docstring for the rules). Returns ``(model, kept)``: ``kept`` names the nodes left in
    float32."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    FLOAT, HALF = TensorProto.FLOAT, TensorProto.FLOAT16
    keep_ops, keep_nodes = frozenset(keep_ops), frozenset(keep_nodes)
    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    for node in graph.node:
        if any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)
               for a in node.attribute):
            raise ValueError(f"{node.op_type} node {node.name!r} has a subgraph: not supported")

    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True).graph
    elem: dict[str, int] = {}
    for v in (*inferred.input, *inferred.output, *inferred.value_info):
        elem[v.name] = v.type.tensor_type.elem_type
    consts: dict[str, np.ndarray] = {}  # float32 constants: initializers and Constant outputs
    for init in graph.initializer:
        elem[init.name] = init.data_type
        if init.data_type == FLOAT:
            consts[init.name] = numpy_helper.to_array(init)
    const_nodes = {}
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute[0].name == "value":
            tensor = node.attribute[0].t
            elem[node.output[0]] = tensor.data_type
            if tensor.data_type == FLOAT:
                consts[node.output[0]] = numpy_helper.to_array(tensor)
                const_nodes[node.output[0]] = node
    untyped = [o for n in graph.node for o in n.output if o and o not in elem]
    if untyped:
        raise ValueError(f"shape inference left {len(untyped)} tensors untyped "
                         f"(e.g. {untyped[0]!r}): cannot convert")

    def is_float(name: str) -> bool:
        return bool(name) and elem.get(name) == FLOAT

    # 1. precision of every non-constant float tensor, node by node (graph order is topological)
    prec: dict[str, int] = {}
    for v in graph.input:
        if is_float(v.name) and v.name not in consts:
            prec[v.name] = FLOAT if keep_io_fp32 else HALF
    node_prec: dict[int, int] = {}
    kept: list[str] = []
    for i, node in enumerate(graph.node):
        if node.op_type == "Constant":
            continue
        floats = [x for k, x in enumerate(node.input) if is_float(x)
                  and (node.op_type, k) not in PINNED_INPUTS]
        live = [prec[x] for x in floats if x in prec]
        elementwise = node.op_type in PROPAGATE_OPS or node.op_type in FOLLOW_OPS
        if node.op_type in keep_ops or node.name in keep_nodes or elementwise and any(
                x in consts and fp16_unrepresentable(consts[x]) for x in floats):
            p = FLOAT
        elif node.op_type in FOLLOW_OPS:
            p = FLOAT if live and all(q == FLOAT for q in live) else HALF
        elif node.op_type in PROPAGATE_OPS:
            p = FLOAT if any(q == FLOAT for q in live) else HALF
        else:
            p = HALF
        node_prec[i] = p
        if p == FLOAT and (floats or any(is_float(o) for o in node.output)):
            kept.append(node.name or f"{node.op_type}#{i}")
        for o in node.output:
            if is_float(o):
                prec[o] = p

    # 2. graph outputs keep their float32 type through a Cast from the fp16 tensor
    taken = {n.name for n in graph.node} | set(elem) | {i.name for i in graph.initializer}
    renamed: dict[str, str] = {}
    if keep_io_fp32:
        for out in graph.output:
            if prec.get(out.name) == HALF:
                renamed[out.name] = _unique(f"{out.name}__fp16", taken)
                prec[renamed[out.name]] = HALF
    for node in graph.node:
        node.output[:] = [renamed.get(o, o) for o in node.output]
        node.input[:] = [renamed.get(x, x) for x in node.input]

    # 3. constants: float16 where only fp16 nodes read them, copies where both kinds do
    wants: dict[str, set[int]] = {name: set() for name in consts}
    for i, node in enumerate(graph.node):
        if node.op_type == "Constant" or node.op_type in ANY_TYPE_INPUT_OPS:
            continue
        for k, x in enumerate(node.input):
            if x in consts:
                pinned = (node.op_type, k) in PINNED_INPUTS
                wants[x].add(FLOAT if pinned else node_prec[i])
    for out in graph.output:
        if out.name in consts:
            wants[out.name].add(FLOAT if keep_io_fp32 else HALF)
    half_name: dict[str, str] = {}
    new_inits, new_consts = [], []
    for name, array in consts.items():
        if HALF not in wants[name]:
            continue
        target = name if wants[name] == {HALF} else _unique(f"{name}__fp16", taken)
        half_name[name] = target
        tensor = numpy_helper.from_array(_fp16_array(array), target)
        if name in const_nodes:
            if target == name:
                const_nodes[name].attribute[0].t.CopyFrom(tensor)
            else:
                new_consts.append(helper.make_node("Constant", [], [target], value=tensor,
                                                   name=_unique(f"{target}_const", taken)))
        elif target == name:
            for init in graph.initializer:
                if init.name == name:
                    init.CopyFrom(tensor)
        else:
            new_inits.append(tensor)
    graph.initializer.extend(new_inits)

    # 4. rebuild the node list with Casts where a reader wants the other precision
    casts: dict[tuple[str, int], str] = {}
    nodes = list(new_consts)

    def cast(name: str, to: int) -> str:
        key = (name, to)
        if key not in casts:
            suffix = "fp16" if to == HALF else "fp32"
            casts[key] = _unique(f"{name}__to_{suffix}", taken)
            nodes.append(helper.make_node("Cast", [name], [casts[key]], to=to,
                                          name=_unique(f"{name}__cast_{suffix}", taken)))
        return casts[key]

    for v in graph.input:
        if is_float(v.name) and not keep_io_fp32:
            v.type.tensor_type.elem_type = HALF
    for i, node in enumerate(graph.node):
        if node.op_type == "Constant":
            nodes.append(node)
            continue
        p = node_prec[i]
        if node.op_type not in ANY_TYPE_INPUT_OPS:
            for k, x in enumerate(node.input):
                if (node.op_type, k) in PINNED_INPUTS or not x:
                    continue
                if x in consts:
                    if p == HALF and x in half_name:
                        node.input[k] = half_name[x]
                elif x in prec and prec[x] != p:
                    node.input[k] = cast(x, p)
        if p == HALF:
            if node.op_type == "Cast":
                for a in node.attribute:
                    if a.name == "to" and a.i == FLOAT:
                        a.i = HALF
            if node.op_type == "ConstantOfShape":
                for a in node.attribute:
                    if a.name == "value" and a.t.data_type == FLOAT:
                        a.t.CopyFrom(numpy_helper.from_array(
                            _fp16_array(numpy_helper.to_array(a.t)), a.t.name))
        nodes.append(node)
    for out in graph.output:
        if out.name in renamed:
            nodes.append(helper.make_node("Cast", [renamed[out.name]], [out.name], to=FLOAT,
                                          name=_unique(f"{out.name}__cast_fp32", taken)))
        elif is_float(out.name) and not keep_io_fp32:
            if prec.get(out.name) == FLOAT:  # an fp32 tensor leaves as fp16
                source = f"{out.name}__fp32"
                for node in nodes:
                    node.output[:] = [source if o == out.name else o for o in node.output]
                    node.input[:] = [source if x == out.name else x for x in node.input]
                nodes.append(helper.make_node("Cast", [source], [out.name], to=HALF,
                                              name=_unique(f"{out.name}__cast_fp16", taken)))
            out.type.tensor_type.elem_type = HALF
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.value_info[:]
    model = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    return model, kept


def to_fp16(src: Path, dst: Path, keep_io_fp32: bool = True,
            keep_ops: Iterable[str] = DEFAULT_KEEP_OPS, keep_nodes: Iterable[str] = ()) -> Path:
    """Write the fp16 version of the ONNX graph ``src`` to ``dst`` (see the module docstring),
    checked with ``onnx.checker`` (full check) before it is renamed into place."""
    import onnx

    src, dst = Path(src), Path(dst)
    model, kept = convert_model(onnx.load(str(src)), keep_io_fp32, keep_ops, keep_nodes)
    entry = model.metadata_props.add()
    entry.key, entry.value = "crn_live.fp16_kept_fp32_nodes", str(len(kept))
    onnx.checker.check_model(model, full_check=True)
    dst.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(dst) as partial:
        onnx.save(model, str(partial))
    return dst


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="fp16.py", description=__doc__.split("\n\n")[0])
    p.add_argument("src", type=Path, help="fp32 ONNX graph")
    p.add_argument("dst", type=Path, help="fp16 ONNX graph to write")
    p.add_argument("--fp16-io", action="store_true",
                   help="make the float inputs and outputs float16 too (default: float32)")
    p.add_argument("--keep-op", action="append", default=[], metavar="OP",
                   help="op type to keep in float32 (repeatable)")
    args = p.parse_args(argv)
    to_fp16(args.src, args.dst, not args.fp16_io, set(args.keep_op) | DEFAULT_KEEP_OPS)
    print(f"wrote {args.dst}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
