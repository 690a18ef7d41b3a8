"""The live mixer: solo / mute / gain per strip, click-free ramps, and a mix written into the
caller's array."""

from __future__ import annotations

import numpy as np
import pytest

from crn_live.stream.mixer import RESIDUAL, Mixer


def test_mixer_solo_mute_and_ramps() -> None:
    mixer = Mixer(44100, ramp_ms=10)
    n = 2048
    sources = np.stack([np.full(n, 1.0, np.float32), np.full(n, 2.0, np.float32)])
    residual = np.full(n, 4.0, np.float32)
    keys = (7, 9)
    assert np.allclose(mixer.mix(sources, residual, keys), 7.0)
    mixer.set_solo(9, True)  # only 9 is heard
    out = mixer.mix(sources, residual, keys)
    assert np.allclose(out[-1], 2.0) and np.abs(np.diff(out)).max() < 0.02  # a ramp, no step
    mixer.set_mute(9, True)  # mute wins over solo: silence
    mixer.mix(sources, residual, keys)
    assert np.allclose(mixer.mix(sources, residual, keys), 0.0)
    mixer.set_mute(9, False)
    mixer.set_solo(RESIDUAL, True)  # two solos: both heard
    mixer.set_gain(RESIDUAL, 0.5)
    mixer.mix(sources, residual, keys)
    assert np.allclose(mixer.mix(sources, residual, keys), 2.0 + 2.0)
    with pytest.raises(ValueError):
        mixer.set_gain(7, -1.0)


def test_a_gain_change_is_a_linear_ramp_over_ramp_ms() -> None:
    mixer = Mixer(1000, ramp_ms=100)  # 100 samples
    assert mixer.ramp_samples == 100
    sources = np.zeros((1, 250), np.float32)
    residual = np.ones(250, np.float32)
    assert np.array_equal(mixer.mix(sources, residual, (0,)), residual)  # empty slot ignored
    mixer.set_gain(RESIDUAL, 0.0)
    played = mixer.mix(sources, residual, (0,))
    assert np.allclose(played[:100], 1.0 - np.arange(1, 101) / 100, atol=1e-6)
    assert not played[100:].any() and mixer.gains() == {RESIDUAL: 0.0}
    # blocks shorter than the ramp: each moves part of the way, never by a step
    mixer.set_gain(RESIDUAL, 1.0)
    short = np.concatenate([mixer.mix(sources[:, :30], residual[:30], (0,)) for _ in range(5)])
    assert np.all(np.diff(short) > 0) and np.diff(short).max() <= 1.0 / 100 + 1e-6
    assert 0.0 < short[0] <= 0.01 + 1e-6 and short[-1] < 1.0


def test_target_gains_and_forgetting_a_track() -> None:
    mixer = Mixer(44100)
    present = [3, 4, RESIDUAL]
    mixer.set_gain(3, 0.5)
    assert mixer.target(3, present) == 0.5 and mixer.target(4, present) == 1.0
    mixer.set_solo(4, True)
    assert mixer.target(3, present) == 0.0 and mixer.target(4, present) == 1.0
    assert mixer.target(3, [3, RESIDUAL]) == 0.5  # the soloed track is gone: 3 is heard
    mixer.set_mute(3, True)
    mixer.forget(3)
    assert mixer.target(3, [3, RESIDUAL]) == 1.0  # a new track 3 starts afresh
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError):
            mixer.set_gain(4, bad)


def test_mix_into_the_callers_array() -> None:
    mixer = Mixer(44100)
    sources = np.stack([np.full(64, 0.25, np.float32)])
    residual = np.full(64, 0.5, np.float32)
    out = np.full(64, 9.0, np.float32)  # stale content is overwritten, not added to
    assert mixer.mix(sources, residual, (5,), out=out) is out
    assert np.allclose(out, 0.75)
    fresh = mixer.mix(sources, residual, (5,))
    assert fresh is not out and np.array_equal(fresh, out)
    assert set(mixer.gains()) == {5, RESIDUAL}  # a new strip starts at its target
