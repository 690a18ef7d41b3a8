"""All networks of one trained CRN model in one module (one checkpoint for training and live use).

``visual`` maps object crops to appearance embeddings, ``condition`` fuses each object's class
embedding with its appearance (:mod:`crn_live.models.condition`; its ``head``, appearance ->
class logits, stands in for ImageNet pretraining in training and is the appearance guard at run
time), ``crn`` separates and refines; ``classifier`` and ``extractor`` only serve the training
losses (co-separation consistency, feature matching). :class:`SeparatorModel` holds just
``visual``, ``condition`` and ``crn`` under the same names: what separation needs, and what the
bundled checkpoint ships (``CRNSystem.separator_state()`` fills it).
"""

from __future__ import annotations

import torch
from torch import nn

from crn_live.config import ModelConfig
from crn_live.models.classifier import AudioClassifier, FeatureExtractor
from crn_live.models.condition import Conditioning
from crn_live.models.crn import CRN
from crn_live.models.visual import VisualEncoder


#: The parts of a :class:`CRNSystem` that separation needs.
SEPARATOR_PARTS = ("visual", "condition", "crn")


class CRNSystem(nn.Module):
    """Visual encoder + CRN + audio classifier + feature extractor for one :class:`ModelConfig`."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.visual = VisualEncoder(config)
        self.condition = Conditioning(config)
        self.crn = CRN(config)
        self.classifier = AudioClassifier(config)
        self.extractor = FeatureExtractor(config)

    def forward(
        self,
        crops: torch.Tensor,
        class_ids: torch.Tensor,
        keep: torch.Tensor,
        log_mix: torch.Tensor,
        mix_mag: torch.Tensor,
        mixture_ids: torch.Tensor,
    ) -> list[torch.Tensor]:
        """``crops (objects, 3, crop, crop)`` in ``[0, 1]``; ``class_ids (objects,)``;
        ``keep (objects,)`` 1 to use the appearance, 0 for the class alone; ``log_mix``,
        ``mix_mag`` ``(objects, 1, log_bins, frames)``; ``mixture_ids (objects,)`` -> the masks
        of every stage, ``[(objects, 1, log_bins, frames)] * (1 + refine_iterations)``."""
        conditions = self.condition(class_ids, self.visual(crops), keep)
        return self.crn(log_mix, mix_mag, conditions, mixture_ids)

    def separator_state(self) -> dict[str, torch.Tensor]:
        """The ``visual.*``, ``condition.*`` and ``crn.*`` entries of the state: a
        :class:`SeparatorModel`'s."""
        return {k: v for k, v in self.state_dict().items()
                if k.split(".")[0] in SEPARATOR_PARTS}


class SeparatorModel(nn.Module):
    """Visual encoder + conditioning + CRN of one :class:`ModelConfig`: what inference needs."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.visual = VisualEncoder(config)
        self.condition = Conditioning(config)
        self.crn = CRN(config)

    @classmethod
    def from_system(cls, system: CRNSystem) -> "SeparatorModel":
        """Share ``system``'s visual encoder and CRN (no copy)."""
        model = cls.__new__(cls)
        nn.Module.__init__(model)
        model.config = system.config
        model.visual = system.visual
        model.condition = system.condition
        model.crn = system.crn
        return model
