"""Masks on log bins -> signals; the oracle ratio mask beats the unprocessed mixture."""

import numpy as np

from crn_live.config import AudioConfig
from crn_live.dsp.masking import apply_log_masks, oracle_log_masks, padded_stft
from crn_live.training.metrics import audible, bss_eval

AUDIO = AudioConfig()


def _two_tones(seconds=2.0):
    t = np.arange(int(seconds * 11025)) / 11025
    low = 0.4 * np.sin(2 * np.pi * 220 * t) * (1 + 0.5 * np.sin(2 * np.pi * 1.5 * t))
    high = 0.3 * np.sign(np.sin(2 * np.pi * 1330 * t)) * (t % 0.5 < 0.3)
    stems = np.stack([low, high]).astype(np.float32)
    return stems.sum(axis=0), stems


def test_all_ones_mask_gives_the_mixture_back():
    mix, _ = _two_tones()
    frames = padded_stft(mix, AUDIO).shape[-1]
    out = apply_log_masks(mix, np.ones((1, AUDIO.warp.log_bins, frames), np.float32), AUDIO)
    assert out.shape == (1, len(mix))
    assert np.max(np.abs(out[0] - mix)) < 1e-4


def test_oracle_mask_beats_the_mixture():
    mix, stems = _two_tones()
    masks = oracle_log_masks(mix, stems, AUDIO)
    assert masks.shape[:2] == (2, AUDIO.warp.log_bins) and 0 <= masks.min() and masks.max() <= 1
    oracle = bss_eval(stems, apply_log_masks(mix, masks, AUDIO))
    unprocessed = bss_eval(stems, np.stack([mix, mix]))
    assert np.all(oracle["sdr"] > unprocessed["sdr"] + 6.0), (oracle["sdr"], unprocessed["sdr"])


def test_audible_flags_silent_references():
    refs = np.zeros((2, 100), np.float32)
    refs[0, 10] = 1.0
    assert audible(refs).tolist() == [True, False]
