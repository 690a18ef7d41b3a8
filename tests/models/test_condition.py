"""Conditioning: class embedding + appearance, its numpy twin and the appearance guard."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from crn_live.instruments import CLASSES
from crn_live.models.condition import GUARD_CONFIDENCE, Conditioner, Conditioning
from tests.helpers import tiny_config


def _pair() -> tuple[Conditioning, Conditioner]:
    torch.manual_seed(3)
    module = Conditioning(tiny_config()).eval()
    return module, Conditioner.from_module(module)


def test_the_numpy_twin_computes_what_the_module_does() -> None:
    module, conditioner = _pair()
    appearance = torch.randn(3, module.appearance.in_features)
    classes = torch.tensor([0, 5, 27])
    keep = torch.tensor([1.0, 0.0, 1.0])
    with torch.no_grad():
        expected = module(classes, appearance, keep).numpy()
    for k in range(3):
        got = conditioner.condition(int(classes[k]), appearance[k].numpy() if keep[k] else None,
                                    guard=False)
        np.testing.assert_allclose(got.embedding, expected[k], rtol=1e-5, atol=1e-5)
    assert conditioner.n_classes == len(CLASSES) == module.head.out_features


def test_class_only_is_the_class_row_and_unknown_ids_are_refused() -> None:
    _, conditioner = _pair()
    condition = conditioner.condition(4)
    np.testing.assert_array_equal(condition.embedding, conditioner.classes[4])
    assert not condition.used_appearance and condition.reason == "no picture"
    with pytest.raises(ValueError, match="outside the model's 28 classes"):
        conditioner.condition(28)


def _head_says(conditioner: Conditioner, class_id: int, logit: float) -> Conditioner:
    """A conditioner whose class head answers ``class_id`` with a given logit over zeros."""
    head = np.zeros_like(conditioner.head_weight)
    bias = np.zeros_like(conditioner.head_bias)
    bias[class_id] = logit
    return Conditioner(conditioner.classes, conditioner.weight, conditioner.bias, head, bias)


def test_the_guard_uses_a_picture_only_when_the_head_is_sure_of_the_named_class() -> None:
    _, conditioner = _pair()
    appearance = np.random.default_rng(0).standard_normal(conditioner.weight.shape[1])
    sure = _head_says(conditioner, 7, 10.0)  # p(7) ~ 1
    used = sure.condition(7, appearance)
    assert used.used_appearance and used.confidence > GUARD_CONFIDENCE and used.reason == ""
    np.testing.assert_allclose(used.embedding, conditioner.classes[7] + conditioner.weight
                               @ appearance + conditioner.bias, rtol=1e-5, atol=1e-5)
    other = sure.condition(3, appearance)  # the picture looks like class 7, not 3
    assert not other.used_appearance and "does not look like" in other.reason
    np.testing.assert_array_equal(other.embedding, conditioner.classes[3])
    unsure = _head_says(conditioner, 7, 2.0).condition(7, appearance)  # argmax, p ~ 0.21
    assert not unsure.used_appearance and "unsure" in unsure.reason
    forced = _head_says(conditioner, 7, 2.0).without_guard().condition(7, appearance)
    assert forced.used_appearance


def test_two_players_of_one_class_get_different_conditions_from_different_pictures() -> None:
    _, conditioner = _pair()
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((2, conditioner.weight.shape[1]))
    first = conditioner.condition(11, a, guard=False).embedding
    second = conditioner.condition(11, b, guard=False).embedding
    assert np.abs(first - second).max() > 0.1
