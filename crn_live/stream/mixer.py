"""The live mixer: solo / mute / gain per strip (each instrument and the residual), with
click-free linear ramps.

Semantics of a mixing desk: if any strip is soloed, every strip that is not soloed is silent;
mute wins over solo on the same strip; the strip's gain applies otherwise. Gains change by a
linear ramp over ``ramp_ms`` (never a step), per sample. Pure numpy; the control methods may be
called from another thread (the GUI): they only replace small dicts, which the audio-side
:meth:`Mixer.mix` reads once per block.
"""

from __future__ import annotations

import numpy as np

#: The strip key of the residual ("everything else").
RESIDUAL = "residual"


class Mixer:
    """Mixes ``sources (slots, n)`` + ``residual (n,)`` into one signal.

    Strips are keyed by track id (int) or :data:`RESIDUAL`. ``keys`` of :meth:`mix` say which
    track sits in each slot (``0``: empty slot).
    """

    def __init__(self, rate: int, ramp_ms: float = 20.0) -> None:
        self.ramp_samples = max(1, int(round(rate * ramp_ms / 1000.0)))
        self.solo: dict = {}
        self.mute: dict = {}
        self.gain: dict = {}
        self._current: dict = {}  # gain actually applied at the end of the last block
        self._ramp_cache = np.zeros(0, np.float32)

    # --- control (any thread) -----------------------------------------------------------------
    def set_solo(self, key, on: bool) -> None:
        self.solo = {**self.solo, key: bool(on)}

    def set_mute(self, key, on: bool) -> None:
        self.mute = {**self.mute, key: bool(on)}

    def set_gain(self, key, gain: float) -> None:
        if not np.isfinite(gain) or gain < 0:
            raise ValueError(f"gain must be a finite number >= 0, got {gain}")
        self.gain = {**self.gain, key: float(gain)}

    def forget(self, key) -> None:
        """A track ended: drop its settings."""
        self.solo = {k: v for k, v in self.solo.items() if k != key}
        self.mute = {k: v for k, v in self.mute.items() if k != key}
        self.gain = {k: v for k, v in self.gain.items() if k != key}

    def target(self, key, keys_present) -> float:
        """The gain a strip is heading to under the current solo / mute / gain settings."""
        solo, mute = self.solo, self.mute
        if mute.get(key, False):
            return 0.0
        if any(solo.get(k, False) for k in keys_present) and not solo.get(key, False):
            return 0.0
        return self.gain.get(key, 1.0)

    # --- audio side ---------------------------------------------------------------------------
    def mix(self, sources: np.ndarray, residual: np.ndarray, keys,
            out: np.ndarray | None = None) -> np.ndarray:
        """``sum_k g_k(t) sources[k] + g_r(t) residual`` for ``sources (slots, n)`` and
        ``residual (n,)``; ramps toward the targets. Written into ``out (n,)`` float32 when
        given (else a new array), which is returned."""
        n = residual.shape[-1]
        present = [k for k in keys if k] + [RESIDUAL]
        if out is None:
            out = np.zeros(n, np.float32)
        else:
            out.fill(0.0)
        ramp = self._ramp(n)
        for key, signal in [*((k, s) for k, s in zip(keys, sources) if k),
                            (RESIDUAL, residual)]:
            goal = self.target(key, present)
            start = self._current.get(key, goal)  # a new strip starts where it is heading
            if start == goal:
                if goal != 0.0:
                    out += goal * signal
            else:
                # the remaining part of a ramp of ramp_samples from start to goal
                out += (start + (goal - start) * ramp) * signal
                goal = goal if n >= self.ramp_samples else start + (goal - start) * ramp[-1]
            self._current[key] = float(goal)
        return out

    def _ramp(self, n: int) -> np.ndarray:
        """``(n,)`` float32: ``min((i + 1) / ramp_samples, 1)``, computed once per length."""
        if len(self._ramp_cache) != n:
            self._ramp_cache = np.minimum(np.arange(1, n + 1, dtype=np.float32)
                                          / self.ramp_samples, 1.0)
        return self._ramp_cache

    def gains(self) -> dict:
        """Gains applied at the end of the last block, per strip."""
        return dict(self._current)
