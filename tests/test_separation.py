"""Separator: masks offline (windows, averaged) and streaming (the live windows), applied full
band at any rate; the reference mask path at the model rate. (crn-eval: tests/cli/test_eval.py;
the fixtures ``separator`` and ``checkpoint``: tests/conftest.py.)"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from crn_live.dsp.masking import apply_log_masks
from crn_live.models import log_magnitude
from crn_live.separation import Separator, separate


def _noise(seconds: float, rate: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(int(seconds * rate)).astype(np.float32) * 0.1


def test_unit_masks_give_back_the_full_band_input(separator):
    mix = _noise(1.0, 44100)  # white: half its energy lies above the model's 5.5 kHz
    frames = separator.spectrogram(mix[::4]).shape[-1]
    unit = np.ones((1, separator.config.log_bins, frames), np.float32)
    result = separator.apply(mix, 44100, unit)
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
    """A mask stepping from 0 to 1 at model frame 100, applied at 48 kHz: one mask for every
    bin scales each sample, so ``sources / mix`` is the mask on the output's time axis."""
    model, device = separator.config.audio.stft, separator.config.audio.stft.scaled_to(48000)
    mix = _noise(4.0, 48000, seed=8)
    frames = separator.spectrogram(np.zeros(4 * model.sample_rate, np.float32)).shape[-1]
    masks = np.zeros((1, separator.config.log_bins, frames), np.float32)
    masks[..., 100:] = 1.0  # a step at model frame 100
    gain = separator.apply(mix, 48000, masks).sources[0] / mix
    step_time = ((100 + 0.5) * model.hop - model.n_fft / 2) / model.sample_rate  # half-way
    crossing_time = int(np.argmax(gain >= 0.5)) / device.sample_rate
    assert abs(crossing_time - step_time) <= device.hop / device.sample_rate
    times = np.arange(len(mix)) / device.sample_rate
    window = device.n_fft / device.sample_rate
    assert np.all(np.diff(gain) >= -1e-5)  # one step up, no ringing
    assert np.max(np.abs(gain[times < step_time - window])) < 1e-5
    assert np.max(np.abs(gain[times > step_time + window] - 1.0)) < 1e-5


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


def test_separate_in_one_call_is_the_separator_on_the_averaged_embeddings(separator,
                                                                          checkpoint):
    mix = _noise(1.0, 22050, seed=9)
    size = separator.config.crop_size
    rng = np.random.default_rng(10)
    pictures = [rng.integers(0, 256, (n, size, size, 3), np.uint8) for n in (1, 3)]
    instruments = [("violin", pictures[0]), ("Contrabass", pictures[1]), "flute"]
    result = separate(mix, 22050, instruments, model=checkpoint, mode="streaming")
    embeddings = np.stack([separator.embed("Violin", pictures[0]),
                           separator.embed("Double bass", pictures[1]), separator.embed("Flute")])
    direct = separator.separate(mix, 22050, embeddings, "streaming")
    assert result.sources.shape == (3, len(mix)) and result.sample_rate == 22050
    np.testing.assert_allclose(result.sources, direct.sources, atol=1e-6)
    assert np.allclose(result.sources.sum(0) + result.residual, mix, atol=1e-6)
    with pytest.raises(ValueError, match="mode must be one of"):
        separate(mix, 22050, instruments, model=checkpoint, mode="live")
    with pytest.raises(ValueError, match="no instrument"):
        separate(mix, 22050, [], model=checkpoint)
    with pytest.raises(ValueError, match="did you mean Violin"):
        separate(mix, 22050, ["violn"], model=checkpoint)
    with pytest.raises(ValueError, match="crops must be"):
        separator.embed("Violin", np.zeros((1, size + 1, size, 3), np.uint8))


def test_two_players_of_one_class_are_told_apart_by_their_pictures(separator) -> None:
    mix = _noise(1.0, separator.rate, seed=12)
    size = separator.config.crop_size
    rng = np.random.default_rng(13)
    light = np.full((2, size, size, 3), 230, np.uint8)
    dark = rng.integers(0, 60, (2, size, size, 3), np.uint8)
    first = separator.describe("Violin", light, guard=False)
    second = separator.describe("violin", dark, guard=False)
    assert first.used_appearance and second.used_appearance
    masks = separator.masks(separator.spectrogram(mix),
                            np.stack([first.embedding, second.embedding]), "streaming")
    assert np.abs(masks[0] - masks[1]).mean() > 1e-3  # same class, different outputs
    alone = separator.describe("Violin")  # by name: both would be the same instrument
    assert not alone.used_appearance and alone.reason == "no picture"
    np.testing.assert_array_equal(alone.embedding, separator.describe("fiddle").embedding)


def test_the_guard_keeps_an_unrecognised_picture_out(separator) -> None:
    size = separator.config.crop_size
    photo = np.random.default_rng(14).integers(0, 256, (3, size, size, 3), np.uint8)
    guarded = separator.describe("Flute", photo)
    assert not guarded.used_appearance and guarded.reason  # the tiny model recognises nothing
    np.testing.assert_array_equal(guarded.embedding, separator.embed("Flute"))
    assert separator.describe("Flute", photo, guard=False).used_appearance


def _photo_crops(size: int) -> np.ndarray:
    """Crops of a real photograph (matplotlib's sample portrait): a picture unlike any drawing
    the visual encoder was trained on."""
    import cv2
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    h, w = image.shape[:2]
    boxes = [(0, 0, w, h), (0, 0, w // 2, h // 2), (w // 4, h // 4, 3 * w // 4, 3 * h // 4),
             (w // 2, h // 2, w, h)]
    return np.stack([cv2.resize(image[y0:y1, x0:x1], (size, size), interpolation=cv2.INTER_AREA)
                     for x0, y0, x1, y1 in boxes])


@pytest.mark.slow
def test_the_bundled_model_uses_drawn_pictures_and_leaves_a_real_photo_out() -> None:
    from crn_live.training.evaluate import drawn_crops

    separator = Separator.load()
    size = separator.config.crop_size
    classes = ("Violin", "Guitar", "Flute", "Double bass", "Erhu")
    drawn = drawn_crops(classes, size)
    photo = _photo_crops(size)
    for k, name in enumerate(classes):
        assert separator.describe(name, drawn[:, k]).used_appearance, name
        for crop in photo:
            left_out = separator.describe(name, crop[None])
            assert not left_out.used_appearance, (name, left_out.confidence)
            np.testing.assert_array_equal(left_out.embedding, separator.embed(name))


def test_pictures_are_used_only_to_tell_players_of_one_class_apart(separator) -> None:
    size = separator.config.crop_size
    rng = np.random.default_rng(15)
    a, b, c = (rng.integers(0, 256, (2, size, size, 3), np.uint8) for _ in range(3))
    unguarded = separator.conditioner.without_guard()
    separator.conditioner, saved = unguarded, separator.conditioner
    try:
        violin, viola, violin2 = separator.describe_all([("violin", a), ("viola", b),
                                                         ("Violin", c)])
        alone = separator.describe_all([("violin", a), ("viola", b)])
        every = separator.describe_all([("violin", a), ("viola", b)], only_when_needed=False)
    finally:
        separator.conditioner = saved
    assert violin.used_appearance and violin2.used_appearance and not viola.used_appearance
    assert "no other instrument of its class" in viola.reason
    assert not any(c.used_appearance for c in alone)
    np.testing.assert_array_equal(alone[0].embedding, separator.embed("Violin"))
    assert all(c.used_appearance for c in every)
