"""Separator: masks offline (windows, averaged) and streaming (the live windows), applied full
band at any rate; crn-eval on real clips; the reference mask path at the model rate."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from crn_live.cli.train import model_config
from crn_live.cli.eval import main as eval_main
from crn_live.dsp.masking import apply_log_masks
from crn_live.models import CRNSystem, SeparatorModel, log_magnitude, save_checkpoint
from crn_live.separation import Separator, _resample_frames
from tests.models.tiny import lively


@pytest.fixture(scope="module")
def separator(tiny_config_file) -> Separator:
    config = model_config("small", tiny_config_file)
    system = lively(CRNSystem(config))
    return Separator(system.visual, system.crn, config)


@pytest.fixture(scope="module")
def checkpoint(separator, tmp_path_factory) -> Path:
    model = SeparatorModel(separator.config)
    model.visual, model.crn = separator.visual, separator.crn
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    save_checkpoint(path, model, separator.config)
    return path


def _noise(seconds: float, rate: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(int(seconds * rate)).astype(np.float32) * 0.1


def test_unit_masks_give_back_the_full_band_input(separator):
    mix = _noise(1.0, 44100)  # white: half its energy lies above the model's 5.5 kHz
    frames = separator.spectrogram(mix[::4]).shape[-1]
    result = separator.apply(mix, 44100, np.ones((1, separator.config.log_bins, frames), np.float32))
    assert result.sources.shape == (1, len(mix)) and result.sample_rate == 44100
    assert np.max(np.abs(result.sources[0] - mix)) < 1e-4
    assert np.max(np.abs(result.residual)) < 1e-4


def test_model_rate_path_is_the_reference_mask_path(separator):
    mix = _noise(0.7, 11025, seed=1)
    masks = np.random.default_rng(2).random(
        (2, separator.config.log_bins, separator.spectrogram(mix).shape[-1])).astype(np.float32)
    ours = separator.apply(mix, 11025, masks)
    reference = apply_log_masks(mix, masks, separator.config.audio)
    assert np.max(np.abs(ours.sources - reference)) < 1e-5
    assert np.allclose(ours.sources.sum(0) + ours.residual, mix, atol=1e-6)


def test_masks_follow_frame_times_at_48k(separator):
    model, device = separator.config.audio.stft, separator.config.audio.stft.scaled_to(48000)
    masks = np.zeros((1, 1, 200), np.float32)
    masks[..., 100:] = 1.0  # a step at model frame 100
    frames = 200
    out = _resample_frames(masks, model, device, frames)[0, 0]
    step_time = ((100 + 0.5) * model.hop - model.n_fft / 2) / model.sample_rate  # half-way
    crossing = int(np.argmax(out >= 0.5))
    crossing_time = ((crossing + 1) * device.hop - device.n_fft / 2) / device.sample_rate
    assert abs(crossing_time - step_time) <= device.hop / device.sample_rate


def test_streaming_masks_are_the_causal_models(separator):
    mix = _noise(1.0, 11025, seed=3)
    mag = separator.spectrogram(mix)
    embeddings = np.random.default_rng(4).standard_normal((2, 8)).astype(np.float32)
    ours = separator.masks(mag, embeddings, "streaming")
    mags = torch.from_numpy(mag)[None, None].expand(2, -1, -1, -1)
    with torch.no_grad():
        direct = separator.causal.run_offline(log_magnitude(mags), mags,
                                              torch.from_numpy(embeddings),
                                              torch.zeros(2, dtype=torch.long))
    assert np.array_equal(ours, direct[:, 0].numpy())


def test_offline_windows_average_and_short_inputs(separator):
    config = separator.config
    embeddings = np.random.default_rng(5).standard_normal((2, 8)).astype(np.float32)
    short = separator.spectrogram(_noise(0.2, 11025, seed=6))  # fewer frames than one window
    assert short.shape[-1] < config.context_frames
    padded = np.zeros((config.log_bins, config.context_frames), np.float32)
    padded[:, :short.shape[-1]] = short
    mags = torch.from_numpy(padded)[None, None].expand(2, -1, -1, -1)
    with torch.no_grad():
        whole = separator.crn(log_magnitude(mags), mags, torch.from_numpy(embeddings),
                              torch.zeros(2, dtype=torch.long))[-1][:, 0].numpy()
    assert np.allclose(separator.masks(short, embeddings), whole[..., :short.shape[-1]],
                       atol=1e-6)
    long = separator.spectrogram(_noise(1.5, 11025, seed=7))
    masks = separator.masks(long, embeddings)
    assert masks.shape == (2, config.log_bins, long.shape[-1])
    assert masks.min() >= 0 and masks.max() <= 1
    # frames [0, half) lie in the first window only: its masks, unaveraged
    half = config.context_frames // 2
    mags = torch.from_numpy(long[:, :config.context_frames])[None, None].expand(2, -1, -1, -1)
    with torch.no_grad():
        first = separator.crn(log_magnitude(mags), mags, torch.from_numpy(embeddings),
                              torch.zeros(2, dtype=torch.long))[-1][:, 0].numpy()
    assert np.allclose(masks[..., :half], first[..., :half], atol=1e-6)
    assert not np.allclose(masks[..., half:config.context_frames],
                           first[..., half:config.context_frames], atol=1e-4)


def test_crn_eval_reports_every_method_and_the_oracle_beats_the_mixture(
        clip_sets, checkpoint, separator, tmp_path):
    out = tmp_path / "eval.json"
    assert eval_main(["--data", str(clip_sets[2]), "--data", str(clip_sets[3]), "--model",
                      str(checkpoint), "--streaming", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    methods = ("mixture", "oracle_irm", "offline", "streaming")
    assert set(report["methods"]) == set(methods)
    for scores in report["methods"].values():
        assert set(scores) == {"sdr", "sir", "sar", "sdri"}
    assert report["methods"]["mixture"]["sdri"] == 0.0
    assert report["methods"]["oracle_irm"]["sdri"] > 6.0
    assert set(report["by_sources"]) == {"2", "3"}
    assert [c["sources"] for c in report["clips"]] == [2] * 4 + [3] * 2
    for clip in report["clips"]:
        m = clip["methods"]
        assert m["oracle_irm"]["sdr"] > m["mixture"]["sdr"], clip["clip"]
        assert len(clip["per_source"]["offline"]["sdr"]) == clip["audible_sources"]
    assert report["streaming_minus_offline_sdr"] == pytest.approx(
        report["methods"]["streaming"]["sdr"] - report["methods"]["offline"]["sdr"], abs=1e-3)
    assert report["model"]["algorithmic_latency_ms"] == pytest.approx(
        separator.config.algorithmic_latency_ms, abs=0.1)


def test_bundled_model_is_the_default_and_separates(clip_sets, tmp_path):
    out = tmp_path / "bundled.json"
    assert eval_main(["--data", str(clip_sets[2]), "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["checkpoint"] == "bundled" and report["model"]["train_step"] >= 4000
    assert report["methods"]["offline"]["sdri"] > 3.0  # an untrained model scores about 0
