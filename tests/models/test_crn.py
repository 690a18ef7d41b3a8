"""CRN: stages, shapes, residual mask, and how refinement couples objects (eval mode, exact)."""

from __future__ import annotations

import pytest
import torch

from crn_live.config import ModelConfig
from crn_live.models import CRN, MIX_EPS, mixture_membership, residual_mask
from tests.helpers import lively, mixture_inputs, tiny_config


def _two_mixtures(config: ModelConfig, seed_b: int) -> tuple[torch.Tensor, ...]:
    """Objects 0, 1 in mixture A and 2, 3 in mixture B: ``(log_mix, mix_mag, emb, ids)``."""
    log_a, mag_a, emb_a = mixture_inputs(config, 2, 16, seed=0)
    log_b, mag_b, emb_b = mixture_inputs(config, 2, 16, seed=seed_b)
    ids = torch.tensor([0, 0, 1, 1])
    return (torch.cat((log_a, log_b)), torch.cat((mag_a, mag_b)), torch.cat((emb_a, emb_b)),
            ids)


@pytest.mark.parametrize("iterations", [0, 3])
def test_one_mask_per_stage(iterations: int) -> None:
    config = tiny_config(refine_iterations=iterations)
    log_mix, mix_mag, embeddings = mixture_inputs(config, 2, 32)
    with torch.no_grad():
        masks = CRN(config).eval()(log_mix, mix_mag, embeddings, torch.zeros(2, dtype=torch.long))
    assert len(masks) == 1 + iterations
    assert all(m.shape == (2, 1, config.log_bins, 32) for m in masks)


def test_frames_must_fit_the_time_strides() -> None:
    config = tiny_config()  # 16-frame windows: 3 time strides -> multiples of 8
    log_mix, mix_mag, embeddings = mixture_inputs(config, 1, 12)
    with pytest.raises(ValueError, match="multiple of 8"):
        CRN(config)(log_mix, mix_mag, embeddings, torch.zeros(1, dtype=torch.long))


def test_residual_mask_is_one_minus_claimed_even_in_silence() -> None:
    masks = torch.tensor([0.25, 0.5, 0.9]).reshape(3, 1, 1, 1)
    mix = torch.zeros(3, 1, 1, 1) + MIX_EPS
    got = residual_mask(masks, mix, mixture_membership(torch.tensor([0, 0, 1]), torch.float32))
    torch.testing.assert_close(got.flatten(), torch.tensor([0.25, 0.25, 0.1]))


def test_residual_mask_is_clamped_when_overclaimed() -> None:
    masks = torch.ones(3, 1, 1, 1)
    mix = torch.ones(3, 1, 1, 1)
    got = residual_mask(masks, mix, mixture_membership(torch.zeros(3, dtype=torch.long),
                                                       torch.float32))
    assert torch.equal(got, -torch.ones(3, 1, 1, 1))


def test_refinement_never_crosses_mixtures() -> None:
    config = tiny_config(refine_iterations=2)
    crn = lively(CRN(config))
    with torch.no_grad():
        first = crn(*_two_mixtures(config, seed_b=1))[-1]
        second = crn(*_two_mixtures(config, seed_b=2))[-1]
    assert torch.equal(first[:2], second[:2])
    assert not torch.equal(first[2:], second[2:])


@pytest.mark.parametrize("iterations, coupled", [(2, True), (0, False)])
def test_refinement_couples_objects_of_one_mixture(iterations: int, coupled: bool) -> None:
    config = tiny_config(refine_iterations=iterations)
    crn = lively(CRN(config))
    log_mix, mix_mag, embeddings = mixture_inputs(config, 2, 16)
    ids = torch.zeros(2, dtype=torch.long)
    changed = embeddings.clone()
    changed[1] += 1.0
    with torch.no_grad():
        before = crn(log_mix, mix_mag, embeddings, ids)[-1]
        after = crn(log_mix, mix_mag, changed, ids)[-1]
    assert torch.equal(before[0], after[0]) is not coupled
    assert not torch.equal(before[1], after[1])
