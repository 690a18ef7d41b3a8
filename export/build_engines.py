"""Build crn-live's inference engines for this machine's NVIDIA GPU.

1. Exports every graph to ONNX (``<out>/onnx/``: the visual encoder, the separator step at each
   refinement level, the detector), checks each with ``onnx.checker`` and against PyTorch in
   onnxruntime (fails above 1e-4 max abs error; ``<out>/onnx/parity.json``).
2. Unless ``--onnx-only``: builds a TensorRT engine per graph into
   ``<out>/<gpu-name>-sm<cc>-trt<version>/`` with an optimization profile for 1..K objects,
   FP16 by default, a timing cache shared by later builds, then ``manifest.json`` (model hashes,
   tensors, precision, GPU, compute capability, TensorRT version, build time) and checks every
   engine against onnxruntime.

Engines only run on the GPU architecture and TensorRT version they were built with; crn-live
refuses any other (and falls back to onnxruntime). TensorRT 11 networks are strongly typed (no
FP16 builder flag): FP16 then comes from an FP16 copy of each ONNX graph
(:mod:`crn_live.runtime.fp16`); TensorRT 10 uses the builder's FP16 flag on the FP32 graph.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

if __package__ in (None, ""):  # run as a script from a checkout: python export/build_engines.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crn_live.errors import UserError  # noqa: E402 - after the path set-up above
from crn_live.runtime.engines import EngineBuild, build_all, build_target, export_verified  # noqa: E402

PROG = "build_engines.py"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0],
                                epilog="Engines are tied to the GPU architecture and TensorRT "
                                       "version: rebuild after changing either.")
    p.add_argument("--gpu", default="auto", help="CUDA device index, or auto (device 0)")
    p.add_argument("--precision", choices=("fp16", "fp32"), default="fp16",
                   help="engine precision (fp16)")
    p.add_argument("--max-objects", type=int, default=4,
                   help="most instruments separated at once: the profiles' upper bound (4)")
    p.add_argument("--onnx-only", action="store_true",
                   help="only export and verify the ONNX graphs (no TensorRT or GPU needed)")
    p.add_argument("--out", type=Path, default=Path("engines"), help="output folder (engines/)")
    p.add_argument("--via", choices=("onnx", "torch-tensorrt"), default="onnx",
                   help="build from the ONNX graphs with TensorRT's parser (default) or compile "
                        "the PyTorch modules with torch-tensorrt")
    p.add_argument("--model", type=Path, help="separator checkpoint (default: bundled)")
    p.add_argument("--detector", type=Path, help="detector checkpoint (default: bundled)")
    p.add_argument("--clip", type=Path, help="crn-synth clip whose real inputs are checked too")
    p.add_argument("--workspace-gb", type=float, default=4.0,
                   help="TensorRT builder workspace limit in GiB (4)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if not 1 <= args.max_objects <= 16:
        print(f"{PROG}: error: --max-objects must be in 1..16, got {args.max_objects}",
              file=sys.stderr)
        return 2
    build = EngineBuild(out=args.out, model=args.model, detector=args.detector,
                        precision=args.precision, max_objects=args.max_objects, via=args.via,
                        workspace_gb=args.workspace_gb)
    try:
        target = None if args.onnx_only else build_target(args.gpu)
        onnx_dir = args.out / "onnx"
        print(f"exporting ONNX graphs to {onnx_dir} ...", flush=True)
        report = export_verified(onnx_dir, build, args.clip)
        for name, r in report.items():
            print(f"  {name:>17}: max abs err vs PyTorch {r['max_abs_err']:.2e}")
        if target is None:
            print(f"ONNX graphs written and verified in {onnx_dir} (no engines: --onnx-only)")
            return 0
        folder = build_all(target, onnx_dir, build)
    except UserError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; engines already built are kept, the manifest is written "
              f"only when all are done", file=sys.stderr)
        return 130
    print(f"engines and manifest.json written to {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
