"""Start a 28-class (version 2) model from a version 1 checkpoint's trained networks.

Version 1 checkpoints (15 classes; separators conditioned on pictures alone) are refused by
crn-live. Their networks still know how to make masks, read drawings and find players: this
copies every tensor whose name and shape still fit into a fresh version 2 model of the same
sizes with 28 classes, and writes it for ``crn-train --init``. A tensor whose first dimension
is per class (the detector's score head) keeps the 15 old classes' rows; the class ids of the
15 did not change. A separator becomes a ``crn_system`` whose class embeddings, appearance
projection and class head start from their seeded initialisation. Usage::

    python scripts/warm_start.py --old OLD_V1_SEPARATOR.pt --out runs/warm.pt
    python scripts/warm_start.py --old OLD_V1_DETECTOR.pt --out runs/warm_detector.pt
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from crn_live.config import DetectorConfig, ModelConfig, from_dict
from crn_live.instruments import CLASSES
from crn_live.models import CRNSystem, save_checkpoint
from crn_live.models.detector import InstrumentDetector


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--old", type=Path, required=True, help="a version 1 separator checkpoint")
    p.add_argument("--out", type=Path, required=True, help="where to write the v2 crn_system")
    p.add_argument("--seed", type=int, default=0, help="seed of the new parts (0)")
    args = p.parse_args(argv)
    try:
        payload = torch.load(args.old, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError) as error:
        print(f"warm_start: cannot read {args.old} ({error})", file=sys.stderr)
        return 2
    if not isinstance(payload, dict) or payload.get("version") != 1 \
            or payload.get("kind") not in ("separator", "crn_system", "detector"):
        print(f"warm_start: {args.old} is not a version 1 separator or detector checkpoint",
              file=sys.stderr)
        return 2
    torch.manual_seed(args.seed)
    if payload["kind"] == "detector":
        config = from_dict(DetectorConfig, {**payload["config"], "classes": list(CLASSES)})
        model = InstrumentDetector(config)
    else:
        config = from_dict(ModelConfig, {**payload["config"], "n_classes": len(CLASSES)})
        model = CRNSystem(config)
    state = model.state_dict()
    copied = partial = 0
    for name, value in payload["state_dict"].items():
        if name not in state:
            continue
        if state[name].shape == value.shape:
            state[name] = value.float()
            copied += 1
        elif state[name].shape[1:] == value.shape[1:] and len(value) < len(state[name]):
            state[name][:len(value)] = value.float()  # per-class rows: the old classes'
            partial += 1
    model.load_state_dict(state)
    save_checkpoint(args.out, model, config, {"warm_start": str(args.old),
                                              "copied_tensors": copied,
                                              "per_class_rows_copied": partial})
    print(f"copied {copied} tensors and the old classes' rows of {partial} more (of "
          f"{len(payload['state_dict'])}) into a 28-class {type(model).__name__}; "
          f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
