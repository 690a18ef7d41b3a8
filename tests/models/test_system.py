"""CRNSystem (every network of one model) and SeparatorModel (what inference keeps of it)."""

from __future__ import annotations

import torch

from crn_live.models import CRNSystem, SeparatorModel
from tests.helpers import lively, mixture_inputs, tiny_config


def test_forward_is_the_crn_on_the_class_and_appearance_conditions() -> None:
    config = tiny_config(refine_iterations=2)
    system = lively(CRNSystem(config))
    crops = torch.rand(2, 3, config.crop_size, config.crop_size)
    classes, keep = torch.tensor([3, 11]), torch.tensor([1.0, 0.0])
    log_mix, mix_mag, _ = mixture_inputs(config, objects=2, frames=config.context_frames)
    ids = torch.zeros(2, dtype=torch.long)
    with torch.no_grad():
        stages = system(crops, classes, keep, log_mix, mix_mag, ids)
        conditions = system.condition.classes(classes)
        conditions[0] += system.condition.appearance(system.visual(crops[:1]))[0]
        direct = system.crn(log_mix, mix_mag, conditions, ids)
    assert len(stages) == 1 + config.refine_iterations
    for ours, theirs in zip(stages, direct):
        assert ours.shape == (2, 1, config.log_bins, config.context_frames)
        torch.testing.assert_close(ours, theirs)
    assert system.condition.head.out_features == config.n_classes


def test_separator_state_is_a_separator_models_state() -> None:
    system = CRNSystem(tiny_config())
    state = system.separator_state()
    assert {k.split(".")[0] for k in state} == {"visual", "condition", "crn"}
    model = SeparatorModel(system.config)
    assert set(model.state_dict()) == set(state)
    model.load_state_dict(state)
    for name, value in model.state_dict().items():
        assert torch.equal(value, state[name]), name


def test_from_system_shares_the_networks() -> None:
    system = CRNSystem(tiny_config())
    model = SeparatorModel.from_system(system)
    assert model.visual is system.visual and model.crn is system.crn
    assert model.condition is system.condition
    assert model.config == system.config
