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

Usage: ``python -m crn_live.runtime.fp16 SRC.onnx DST.onnx [--fp16-io] [--keep-op OP ...]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from crn_live.data.files import atomic_path

FP16_MAX = 65504.0
FP16_TINY = 2.0 ** -24  # smallest positive fp16 (subnormal)
FP16_MIN_NORMAL = 2.0 ** -14
#: ONNX element types (``onnx.TensorProto.FLOAT``, ``FLOAT16``; fixed by the ONNX spec).
FLOAT32, FLOAT16 = 1, 10
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


def fp16_array(array: np.ndarray) -> np.ndarray:
    """``array`` as float16, clamped to +-65504, non-zero magnitudes below the smallest
    subnormal raised to it (sign kept); same shape."""
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


@dataclasses.dataclass
class _Conversion:
    """What the conversion phases share: the graph being converted (a copy) and its types."""

    graph: Any  # onnx.GraphProto, changed in place
    keep_io_fp32: bool
    elem: dict[str, int]  # tensor name -> ONNX element type, from shape inference
    consts: dict[str, np.ndarray]  # float32 constants: initializers and Constant outputs
    const_nodes: dict[str, Any]  # Constant output name -> its node
    taken: set[str]  # node and tensor names in use: new ones avoid them

    def is_float(self, name: str) -> bool:
        return bool(name) and self.elem.get(name) == FLOAT32


def _typed_graph(model, keep_io_fp32: bool) -> _Conversion:
    """The types of every tensor of ``model`` and its float32 constants; ``ValueError`` for
    subgraphs or tensors shape inference cannot type."""
    import onnx
    from onnx import numpy_helper

    graph = model.graph
    for node in graph.node:
        if any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)
               for a in node.attribute):
            raise ValueError(f"{node.op_type} node {node.name!r} has a subgraph: not supported")
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True).graph
    elem = {v.name: v.type.tensor_type.elem_type
            for v in (*inferred.input, *inferred.output, *inferred.value_info)}
    consts: dict[str, np.ndarray] = {}
    for init in graph.initializer:
        elem[init.name] = init.data_type
        if init.data_type == FLOAT32:
            consts[init.name] = numpy_helper.to_array(init)
    const_nodes = {}
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute[0].name == "value":
            tensor = node.attribute[0].t
            elem[node.output[0]] = tensor.data_type
            if tensor.data_type == FLOAT32:
                consts[node.output[0]] = numpy_helper.to_array(tensor)
                const_nodes[node.output[0]] = node
    untyped = [o for n in graph.node for o in n.output if o and o not in elem]
    if untyped:
        raise ValueError(f"shape inference left {len(untyped)} tensors untyped "
                         f"(e.g. {untyped[0]!r}): cannot convert")
    taken = {n.name for n in graph.node} | set(elem) | {i.name for i in graph.initializer}
    return _Conversion(graph, keep_io_fp32, elem, consts, const_nodes, taken)


def _node_precision(c: _Conversion, node, prec: dict[str, int], keep_ops: frozenset[str],
                    keep_nodes: frozenset[str]) -> tuple[int, list[str]]:
    """The precision ``node`` computes in, given its inputs' ``prec``; and its float inputs."""
    floats = [x for k, x in enumerate(node.input) if c.is_float(x)
              and (node.op_type, k) not in PINNED_INPUTS]
    live = [prec[x] for x in floats if x in prec]
    elementwise = node.op_type in PROPAGATE_OPS or node.op_type in FOLLOW_OPS
    if node.op_type in keep_ops or node.name in keep_nodes or elementwise and any(
            x in c.consts and fp16_unrepresentable(c.consts[x]) for x in floats):
        return FLOAT32, floats
    if node.op_type in FOLLOW_OPS:
        return (FLOAT32 if live and all(q == FLOAT32 for q in live) else FLOAT16), floats
    if node.op_type in PROPAGATE_OPS:
        return (FLOAT32 if any(q == FLOAT32 for q in live) else FLOAT16), floats
    return FLOAT16, floats


def _plan_precisions(c: _Conversion, keep_ops: frozenset[str], keep_nodes: frozenset[str]
                     ) -> tuple[dict[str, int], dict[int, int], list[str]]:
    """Phase 1, node by node in graph order (topological): ``(prec, node_prec, kept)``, the
    precision of every non-constant float tensor, of every node but ``Constant`` (by index)
    and the names of the float nodes left in float32."""
    prec = {v.name: FLOAT32 if c.keep_io_fp32 else FLOAT16 for v in c.graph.input
            if c.is_float(v.name) and v.name not in c.consts}
    node_prec: dict[int, int] = {}
    kept: list[str] = []
    for i, node in enumerate(c.graph.node):
        if node.op_type == "Constant":
            continue
        p, floats = _node_precision(c, node, prec, keep_ops, keep_nodes)
        node_prec[i] = p
        if p == FLOAT32 and (floats or any(c.is_float(o) for o in node.output)):
            kept.append(node.name or f"{node.op_type}#{i}")
        for o in node.output:
            if c.is_float(o):
                prec[o] = p
    return prec, node_prec, kept


def _rename_fp16_outputs(c: _Conversion, prec: dict[str, int]) -> dict[str, str]:
    """Phase 2: graph outputs computed in fp16 are renamed inside the graph (``{output: new
    name}``), so that a Cast to float32 can produce them under their own name."""
    renamed: dict[str, str] = {}
    if c.keep_io_fp32:
        for out in c.graph.output:
            if prec.get(out.name) == FLOAT16:
                renamed[out.name] = _unique(f"{out.name}__fp16", c.taken)
                prec[renamed[out.name]] = FLOAT16
    for node in c.graph.node:
        node.output[:] = [renamed.get(o, o) for o in node.output]
        node.input[:] = [renamed.get(x, x) for x in node.input]
    return renamed


def _constant_readers(c: _Conversion, node_prec: dict[int, int]) -> dict[str, set[int]]:
    """``{constant: precisions its readers want}`` (pinned inputs and float32 graph outputs
    want float32)."""
    wants: dict[str, set[int]] = {name: set() for name in c.consts}
    for i, node in enumerate(c.graph.node):
        if node.op_type == "Constant" or node.op_type in ANY_TYPE_INPUT_OPS:
            continue
        for k, x in enumerate(node.input):
            if x in c.consts:
                pinned = (node.op_type, k) in PINNED_INPUTS
                wants[x].add(FLOAT32 if pinned else node_prec[i])
    for out in c.graph.output:
        if out.name in c.consts:
            wants[out.name].add(FLOAT32 if c.keep_io_fp32 else FLOAT16)
    return wants


def _convert_constants(c: _Conversion, node_prec: dict[int, int]) -> tuple[dict[str, str], list]:
    """Phase 3: constants become float16 where only fp16 nodes read them, get an fp16 copy
    where both kinds do. Returns ``({constant: its fp16 tensor's name}, new Constant nodes)``;
    new initializers are added to the graph."""
    from onnx import helper, numpy_helper

    wants = _constant_readers(c, node_prec)
    half_name: dict[str, str] = {}
    new_inits, new_consts = [], []
    for name, array in c.consts.items():
        if FLOAT16 not in wants[name]:
            continue
        target = name if wants[name] == {FLOAT16} else _unique(f"{name}__fp16", c.taken)
        half_name[name] = target
        tensor = numpy_helper.from_array(fp16_array(array), target)
        if name in c.const_nodes:
            if target == name:
                c.const_nodes[name].attribute[0].t.CopyFrom(tensor)
            else:
                new_consts.append(helper.make_node("Constant", [], [target], value=tensor,
                                                   name=_unique(f"{target}_const", c.taken)))
        elif target == name:
            for init in c.graph.initializer:
                if init.name == name:
                    init.CopyFrom(tensor)
        else:
            new_inits.append(tensor)
    c.graph.initializer.extend(new_inits)
    return half_name, new_consts


def _retype_fp16_node(node) -> None:
    """An fp16 node's own float32 attributes to float16: ``Cast(to=FLOAT)`` and the value of
    ``ConstantOfShape``."""
    from onnx import numpy_helper

    if node.op_type == "Cast":
        for a in node.attribute:
            if a.name == "to" and a.i == FLOAT32:
                a.i = FLOAT16
    if node.op_type == "ConstantOfShape":
        for a in node.attribute:
            if a.name == "value" and a.t.data_type == FLOAT32:
                a.t.CopyFrom(numpy_helper.from_array(
                    fp16_array(numpy_helper.to_array(a.t)), a.t.name))


def _insert_casts(c: _Conversion, prec: dict[str, int], node_prec: dict[int, int],
                  half_name: dict[str, str], nodes: list) -> list:
    """Phase 4a: the node list, after ``nodes`` (new Constants), with a Cast before every
    input whose precision differs from its reader's (one Cast per tensor and precision) and
    fp16 constants fed to fp16 readers."""
    from onnx import helper

    casts: dict[tuple[str, int], str] = {}

    def cast(name: str, to: int) -> str:
        if (name, to) not in casts:
            suffix = "fp16" if to == FLOAT16 else "fp32"
            casts[name, to] = _unique(f"{name}__to_{suffix}", c.taken)
            nodes.append(helper.make_node("Cast", [name], [casts[name, to]], to=to,
                                          name=_unique(f"{name}__cast_{suffix}", c.taken)))
        return casts[name, to]

    for i, node in enumerate(c.graph.node):
        if node.op_type != "Constant":
            p = node_prec[i]
            for k, x in enumerate(node.input):
                if not _typed_input(node, k, x):
                    continue
                if x in c.consts:
                    if p == FLOAT16 and x in half_name:
                        node.input[k] = half_name[x]
                elif x in prec and prec[x] != p:
                    node.input[k] = cast(x, p)
            if p == FLOAT16:
                _retype_fp16_node(node)
        nodes.append(node)
    return nodes


def _typed_input(node, k: int, name: str) -> bool:
    """Whether input ``k`` (tensor ``name``) of ``node`` must have its reader's precision (not
    an omitted optional input, an any-type input or one the spec pins to float32)."""
    return (bool(name) and node.op_type not in ANY_TYPE_INPUT_OPS
            and (node.op_type, k) not in PINNED_INPUTS)


def _cast_graph_outputs(c: _Conversion, nodes: list, prec: dict[str, int],
                        renamed: dict[str, str]) -> None:
    """Phase 4b: the graph's float inputs and outputs at their promised types: float32 (fp16
    outputs renamed in phase 2 cast back), or float16 without ``keep_io_fp32``."""
    from onnx import helper

    for v in c.graph.input:
        if c.is_float(v.name) and not c.keep_io_fp32:
            v.type.tensor_type.elem_type = FLOAT16
    for out in c.graph.output:
        if out.name in renamed:
            nodes.append(helper.make_node("Cast", [renamed[out.name]], [out.name], to=FLOAT32,
                                          name=_unique(f"{out.name}__cast_fp32", c.taken)))
        elif c.is_float(out.name) and not c.keep_io_fp32:
            if prec.get(out.name) == FLOAT32:  # an fp32 tensor leaves as fp16
                source = f"{out.name}__fp32"
                for node in nodes:
                    node.output[:] = [source if o == out.name else o for o in node.output]
                    node.input[:] = [source if x == out.name else x for x in node.input]
                nodes.append(helper.make_node("Cast", [source], [out.name], to=FLOAT16,
                                              name=_unique(f"{out.name}__cast_fp16", c.taken)))
            out.type.tensor_type.elem_type = FLOAT16


def convert_model(model, keep_io_fp32: bool = True, keep_ops: Iterable[str] = DEFAULT_KEEP_OPS,
                  keep_nodes: Iterable[str] = ()):
    """The fp16 version of the ``onnx.ModelProto`` ``model`` (a new model; see the module
    docstring for the rules). Returns ``(model, kept)``: ``kept`` names the nodes left in
    float32."""
    import onnx

    model = onnx.ModelProto.FromString(model.SerializeToString())
    c = _typed_graph(model, keep_io_fp32)
    prec, node_prec, kept = _plan_precisions(c, frozenset(keep_ops), frozenset(keep_nodes))
    renamed = _rename_fp16_outputs(c, prec)
    half_name, new_consts = _convert_constants(c, node_prec)
    nodes = _insert_casts(c, prec, node_prec, half_name, list(new_consts))
    _cast_graph_outputs(c, nodes, prec, renamed)
    del c.graph.node[:]
    c.graph.node.extend(nodes)
    del c.graph.value_info[:]
    return onnx.shape_inference.infer_shapes(model, strict_mode=True), kept


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
