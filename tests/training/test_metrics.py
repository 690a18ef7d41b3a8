"""BSS Eval on signals whose answer is known: a perfect estimate, an estimate with the other
source leaking in, estimates kept in their order; which references are audible."""

from __future__ import annotations

import numpy as np

from crn_live.training.metrics import audible, bss_eval


def _sources(samples: int = 8000) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.standard_normal((2, samples)).astype(np.float32) * [[0.3], [0.2]]


def test_perfect_estimates_score_far_above_the_mixture() -> None:
    references = _sources()
    perfect = bss_eval(references, references + 1e-6 * _sources()[::-1])
    mixture = bss_eval(references, np.repeat(references.sum(0, keepdims=True), 2, 0))
    assert set(perfect) == {"sdr", "sir", "sar"} and perfect["sdr"].shape == (2,)
    assert perfect["sdr"].min() > 60 and perfect["sir"].min() > 60
    assert mixture["sdr"].max() < 5 and mixture["sdr"].min() > -5


def test_interference_lowers_sir_by_its_level() -> None:
    references = _sources()
    leak = 0.1 * references[1] / np.std(references[1]) * np.std(references[0])  # -20 dB
    scores = bss_eval(references, np.stack([references[0] + leak, references[1]]))
    assert abs(scores["sir"][0] - 20.0) < 0.5 and abs(scores["sdr"][0] - 20.0) < 0.5
    assert scores["sdr"][1] > 60


def test_estimates_keep_their_order() -> None:
    references = _sources()
    swapped = bss_eval(references, references[::-1].copy())
    assert swapped["sdr"].max() < -10  # no permutation search: the wrong source scores badly


def test_audible() -> None:
    references = np.zeros((3, 1000), np.float32)
    references[0] = 0.01  # RMS 1e-2
    references[1] = 1e-5  # RMS 1e-5: silent
    assert audible(references).tolist() == [True, False, False]
    assert audible(references, threshold=1e-6).tolist() == [True, True, False]
