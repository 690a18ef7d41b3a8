"""Mix-and-separate examples from real generated clips."""

import dataclasses

import numpy as np
import pytest

from crn_live.data.clips import find_clips
from crn_live.data.mixtures import MixtureSampler, MixtureSpec


@pytest.fixture(scope="module")
def sampler(clip_sets):
    """Examples of the four 3-second 2-source clips of the shared clip sets."""
    spec = MixtureSpec(sample_rate=11025, window_samples=256 * 64, crop_size=48)
    return MixtureSampler(find_clips(clip_sets[2]), spec)


def _only(sampler: MixtureSampler, ensemble_probability: float) -> MixtureSampler:
    """The same clips drawing only artificial mixtures (0.0) or only ensemble clips (1.0)."""
    spec = dataclasses.replace(sampler.spec, ensemble_probability=ensemble_probability)
    return MixtureSampler(sampler.clips, spec)


def test_artificial_mixtures_combine_different_clips(sampler):
    rng = np.random.default_rng(0)
    artificial = _only(sampler, 0.0)
    seen_sizes = set()
    for _ in range(12):
        ex = artificial.example(rng)
        n = len(ex.sources)
        seen_sizes.add(n)
        assert ex.stems.shape == (n, 256 * 64) and ex.mix.shape == (256 * 64,)
        assert ex.crops.shape == (n, 48, 48, 3) and ex.class_ids.shape == (n,)
        assert len({s.split("/")[0] for s in ex.sources}) == n  # one stem per clip
        # the mixture: the stems plus one recording's microphone noise (tens of dB below)
        noise = ex.mix - ex.stems.sum(axis=0)
        assert 0 < np.sqrt(np.mean(noise**2)) < 0.01 * np.sqrt(np.mean(ex.mix**2))
    assert seen_sizes == {2, 3}


def test_the_noise_floor_is_what_a_mix_holds_beyond_its_stems(clip_sets):
    clips = find_clips(clip_sets[2])
    spec = MixtureSpec(sample_rate=11025, window_samples=256 * 64, crop_size=48,
                       ensemble_probability=0.0)
    sampler = MixtureSampler(clips, spec)
    for clip in clips:  # the clip's own noise is what its mix holds beyond its stems
        data = sampler._load(clip)
        recorded = clip.mix(11025) - clip.stems(11025).sum(axis=0)
        window = sampler.spec.window_samples
        assert np.allclose(sampler._noise(data, 0), recorded[:window], atol=1e-7)
        assert np.sqrt(np.mean(recorded**2)) > 1e-6


def test_ensemble_example_is_the_clip_mix(sampler):
    ex = _only(sampler, 1.0).example(np.random.default_rng(1))
    clip = ex.sources[0].split("/")[0]
    assert all(s.startswith(clip + "/") for s in ex.sources)
    noise = ex.mix - ex.stems.sum(axis=0)  # the microphone's noise floor: far below the music
    assert np.sqrt(np.mean(noise**2)) < 0.01 * np.sqrt(np.mean(ex.mix**2))


def test_examples_are_reproducible(sampler):
    a = sampler.example(np.random.default_rng(5))
    b = sampler.example(np.random.default_rng(5))
    assert a.sources == b.sources and np.array_equal(a.mix, b.mix)
