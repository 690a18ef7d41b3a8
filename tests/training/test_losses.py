"""Loss values on hand-built cases (numbers worked out by hand in the comments)."""

import math

import pytest
import torch

from crn_live.training.losses import LossWeights, crn_loss, mask_weight, ratio_mask


def test_ratio_mask_clamps_and_handles_silence():
    stem = torch.tensor([1.0, 2.0, 30.0, 1.0])
    mix = torch.tensor([2.0, 2.0, 3.0, 0.0])
    # 1/2, 2/2, 30/3 = 10 -> clamped to 5, silent mixture -> 0
    assert torch.equal(ratio_mask(stem, mix), torch.tensor([0.5, 1.0, 5.0, 0.0]))


def test_mask_weight_is_clamped_log1p():
    mix = torch.tensor([0.0, math.e - 1.0, 1e6])
    # log1p(0) = 0 -> 1e-3; log1p(e - 1) = 1; log1p(1e6) = 13.8 -> 10
    assert torch.allclose(mask_weight(mix), torch.tensor([1e-3, 1.0, 10.0]))


def test_crn_loss_on_a_hand_built_case():
    mix = torch.full((1, 1, 1, 2), math.e - 1.0)  # weight 1 in both bins
    stem = torch.tensor([[[[0.0, math.e - 1.0]]]])  # target mask [0, 1]
    separator = torch.tensor([[[[0.5, 0.5]]]])  # |0.5 - 0| + |0.5 - 1| -> mean 0.5
    refined = torch.tensor([[[[0.0, 0.75]]]])  # |0| + |0.25| -> mean 0.125
    logits = torch.tensor([[0.0, 0.0]])  # CE with two equal logits = ln 2
    terms = crn_loss([separator, refined, refined], stem, mix, 5.0, LossWeights(),
                     class_logits=logits, class_ids=torch.tensor([1]))
    assert terms.mask.item() == pytest.approx(0.5)
    assert terms.refine.item() == pytest.approx(0.25)  # two refinement stages
    assert terms.classifier.item() == pytest.approx(math.log(2))
    assert terms.total.item() == pytest.approx(0.5 + 0.25 + 0.05 * math.log(2))


def test_perfect_masks_give_zero_mask_loss():
    mix = torch.rand(2, 1, 8, 4) + 0.1
    stem = mix * torch.rand(2, 1, 8, 4)
    target = ratio_mask(stem, mix)
    terms = crn_loss([target, target], stem, mix, 5.0)
    assert terms.mask.item() == 0.0 and terms.refine.item() == 0.0


def test_causal_term_scores_only_the_emitted_frames():
    mix = torch.full((1, 1, 1, 2), math.e - 1.0)  # weight 1 in both bins
    stem = torch.tensor([[[[0.0, math.e - 1.0]]]])  # target mask [0, 1]
    refined = torch.tensor([[[[0.0, 0.75]]]])  # errors 0 (frame 0) and 0.25 (frame 1)
    weights = LossWeights(classifier=0.0, causal=2.0)
    last = crn_loss([refined, refined], stem, mix, 5.0, weights, emitted=slice(1, 2))
    first = crn_loss([refined, refined], stem, mix, 5.0, weights, emitted=slice(0, 1))
    assert last.causal.item() == pytest.approx(0.25)
    assert first.causal.item() == 0.0
    assert last.total.item() == pytest.approx(0.125 + 0.125 + 2.0 * 0.25)
    assert crn_loss([refined, refined], stem, mix, 5.0, weights).causal.item() == 0.0


def test_visual_term_is_the_embedding_class_cross_entropy():
    mix = torch.full((1, 1, 1, 2), math.e - 1.0)
    stem = torch.tensor([[[[0.0, math.e - 1.0]]]])
    target = ratio_mask(stem, mix)
    logits = torch.tensor([[0.0, 0.0, 0.0, 0.0]])  # four equal logits: ln 4
    terms = crn_loss([target, target], stem, mix, 5.0, LossWeights(classifier=0.0, visual=0.5),
                     class_ids=torch.tensor([2]), visual_logits=logits)
    assert terms.visual.item() == pytest.approx(math.log(4))
    assert terms.total.item() == pytest.approx(0.5 * math.log(4))
