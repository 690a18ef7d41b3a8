"""The console commands, one module each (a parser plus ``main(argv)`` and its ``console``
script): ``crn-live``, ``crn-separate``, ``crn-synth``, ``crn-train``, ``crn-eval``,
``crn-bench``. ``python -m crn_live.cli COMMAND ...`` runs one (``torchrun -m crn_live.cli train``).
"""

COMMANDS = ("live", "separate", "synth", "train", "eval", "bench")
