"""Mixing: a part with no note in the clip stays silent instead of poisoning the mix with NaN."""

import numpy as np

from crn_live.data.mixing import active_rms, mix_stems


def test_silent_stem_stays_silent_and_the_mix_is_finite():
    rng = np.random.default_rng(0)
    t = np.arange(44100) / 44100
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    silent = np.zeros_like(tone)
    assert active_rms(silent, 44100) == 0.0
    for reverb in (0.0, 1.0):
        stems, mix, noise, _ = mix_stems([tone, silent], rng, 44100, reverb, 6.0)
        assert np.isfinite(stems).all() and np.isfinite(mix).all()
        assert not stems[1].any() and np.abs(stems[0]).max() > 0.01
        assert np.array_equal(mix, stems.sum(axis=0, dtype=np.float32) + noise)
