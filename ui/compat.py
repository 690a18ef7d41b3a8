"""A guard against a reference-counting bug of PySide6 6.12.0 on Python < 3.12.

On that combination every call of a Qt method that returns nothing (``update()``,
``setText()``, ...) takes one reference from ``None`` without having given it one, and every
``Signal.emit()`` one from ``True``. Python 3.12 made these singletons immortal, so the bug is
harmless there; on 3.10 / 3.11 their counts (a few thousand at start-up) run out within a
minute of a live window (pyqtgraph emits signals on every image update) and the interpreter
aborts with "Fatal Python error: none_dealloc: deallocating None" (or ``bool_dealloc``).
PySide6 6.11.x does not have the bug.

:func:`guard_singletons` measures once whether the running PySide6 leaks (100 calls of a void
method, 100 emits) and, only then, keeps the counts of ``None``, ``True`` and ``False`` far
from zero by raising them in large steps: these are static objects that are never freed, so a
higher count changes nothing else. The bridge calls it every tick; importing this module calls
it once.
"""

from __future__ import annotations

import ctypes
import sys

#: Top a count up when it falls below this ...
FLOOR = 1 << 22
#: ... by this much (at the few thousand leaked references a second of a live window: hours).
STEP = 1 << 24
#: The objects guarded.
SINGLETONS = (None, True, False)

_state: dict = {"leaks": None, "topped_up": 0}


def _measure() -> bool:
    from PySide6.QtCore import QObject, Signal

    class Probe(QObject):
        fired = Signal(bool)

    probe = Probe()
    probe.fired.connect(lambda on: None)
    none, true = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(100):
        probe.setObjectName("probe")
        probe.fired.emit(True)
    leaks = sys.getrefcount(None) < none - 50 or sys.getrefcount(True) < true - 50
    if leaks:  # the probe's own leak, before anything else could run out
        for value in SINGLETONS:
            ctypes.c_ssize_t.from_address(id(value)).value += 1000
    return leaks


def singletons_leak() -> bool:
    """True when the running PySide6 drops references of ``None`` / ``True`` (measured once;
    always False where they are immortal)."""
    if _state["leaks"] is None:
        immortal = sys.implementation.name != "cpython" or sys.version_info >= (3, 12)
        _state["leaks"] = False if immortal else _measure()
    return bool(_state["leaks"])


def guard_singletons() -> int:
    """Raise the count of each of :data:`SINGLETONS` that is below :data:`FLOOR` by
    :data:`STEP` when the running PySide6 leaks; returns how much was added in all."""
    if singletons_leak():
        for value in SINGLETONS:
            if sys.getrefcount(value) < FLOOR:
                # ob_refcnt is the first field of every CPython object; the GIL is held here,
                # and only code holding it touches reference counts
                ctypes.c_ssize_t.from_address(id(value)).value += STEP
                _state["topped_up"] += STEP
    return _state["topped_up"]


guard_singletons()
