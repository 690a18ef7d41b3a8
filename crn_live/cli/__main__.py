"""``python -m crn_live.cli COMMAND ...`` (e.g. ``torchrun -m crn_live.cli train ...``)."""

import importlib
import sys

from crn_live.cli import COMMANDS

if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
    print(f"usage: python -m crn_live.cli {{{','.join(COMMANDS)}}} ...", file=sys.stderr)
    sys.exit(2)
importlib.import_module(f"crn_live.cli.{sys.argv.pop(1)}").console()
