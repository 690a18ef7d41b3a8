"""ui.compat: PySide6 6.12.0's leaked references of None / True must not abort a long run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from crn_live.ui.compat import FLOOR, SINGLETONS, guard_singletons, singletons_leak

ROOT = Path(__file__).resolve().parents[2]

LONG_RUN = """
import sys
import crn_live.ui
from PySide6.QtCore import QObject, Signal
from crn_live.ui.compat import guard_singletons

class Probe(QObject):
    fired = Signal(bool)

probe = Probe()
probe.fired.connect(lambda on: None)
for i in range(200_000):  # far more than the counts Python starts with
    probe.fired.emit(True)
    probe.setObjectName("x")
    if i % 10_000 == 0:
        guard_singletons()
print("ok")
"""


def test_guarded_counts_stay_far_from_zero():
    guard_singletons()
    if singletons_leak():
        assert all(sys.getrefcount(value) >= FLOOR for value in SINGLETONS)
    else:
        assert guard_singletons() == 0 or sys.version_info < (3, 12)


def test_a_long_run_of_void_calls_and_emits_does_not_abort():
    done = subprocess.run([sys.executable, "-c", LONG_RUN], cwd=ROOT, capture_output=True,
                          text=True, timeout=120,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"
