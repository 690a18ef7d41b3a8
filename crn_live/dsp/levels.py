"""Signal levels in decibels: one floor for silence everywhere."""

from __future__ import annotations

import numpy as np

#: The level reported for digital silence (and anything quieter), dB.
FLOOR_DB = -120.0


def power_db(mean_square: float) -> float:
    """``10 log10(mean_square)``, never below :data:`FLOOR_DB`."""
    return max(10.0 * float(np.log10(max(float(mean_square), 1e-30))), FLOOR_DB)


def rms_db(signal: np.ndarray) -> float:
    """RMS level of ``signal`` (any shape) in dB relative to full scale 1.0, floored at
    :data:`FLOOR_DB`; computed in float64."""
    samples = np.asarray(signal)
    if samples.size == 0:
        return FLOOR_DB
    return power_db(np.mean(np.square(samples, dtype=np.float64)))
