"""Separation quality: SDR / SIR / SAR with BSS Eval (``mir_eval``), and SDR improvement."""

from __future__ import annotations

import warnings

import numpy as np


def bss_eval(references: np.ndarray, estimates: np.ndarray) -> dict[str, np.ndarray]:
    """Per-source ``sdr``, ``sir``, ``sar`` (dB) of ``estimates`` against ``references``.

    Both are ``(sources, samples)``; sources keep their order (no permutation search: each
    estimate belongs to a known object). Silent references have no defined metric: callers drop
    them first (:func:`audible`).
    """
    from mir_eval.separation import bss_eval_sources

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # bss_eval_sources is marked deprecated
        sdr, sir, sar, _ = bss_eval_sources(references.astype(np.float64),
                                            estimates.astype(np.float64),
                                            compute_permutation=False)
    return {"sdr": sdr, "sir": sir, "sar": sar}


def audible(references: np.ndarray, threshold: float = 1e-4) -> np.ndarray:
    """Boolean ``(sources,)``: which references carry sound (RMS above ``threshold``)."""
    return np.sqrt(np.mean(references.astype(np.float64) ** 2, axis=-1)) > threshold
