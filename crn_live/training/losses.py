"""Training targets and losses of the reference design (mix-and-separate).

- ratio-mask target ``gt_k = |S_k| / |mix|``, clamped to ``[0, mask_clamp]`` (5 in the paper);
- weighted L1 mask loss, weight ``log1p(|mix|)`` clamped to ``[1e-3, 10]``, for the separator's
  masks and again for every refinement stage;
- ``classifier_weight`` (0.05) times the cross-entropy of the audio classifier on separated
  spectrograms (the co-separation consistency term), plus an optional feature-matching term;
- ours, since our visual encoder starts from scratch (the reference's is ImageNet-pretrained):
  ``visual`` times the cross-entropy of a linear class head on the object embeddings, which
  teaches the encoder to tell instruments apart long before the separation loss alone would;
- ours, for the chunked causal use: ``causal`` times the same weighted L1 of the final masks on
  the frames a streaming step emits (the newest ones of a window, which see no future frames),
  so the window's edge is trained as hard as its middle.

All spectrogram tensors are ``(objects, 1, bins, frames)``; ``mixture_ids (objects,)`` says which
mixture each object belongs to.
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F


@dataclasses.dataclass(frozen=True)
class LossWeights:
    """Weights of the loss terms (the paper's values by default)."""

    mask: float = 1.0
    refine: float = 1.0
    classifier: float = 0.05
    feature: float = 0.0
    causal: float = 0.0
    visual: float = 0.0


def ratio_mask(stem_mag: torch.Tensor, mix_mag: torch.Tensor, clamp: float = 5.0,
               eps: float = 1e-8) -> torch.Tensor:
    """Ideal ratio mask ``|S_k| / |mix|`` in ``[0, clamp]``; 0 where the mixture is silent."""
    mask = stem_mag / mix_mag.clamp_min(eps)
    return torch.where(mix_mag > eps, mask, torch.zeros_like(mask)).clamp(0.0, clamp)


def mask_weight(mix_mag: torch.Tensor) -> torch.Tensor:
    """Per-bin loss weight ``log1p(|mix|)`` clamped to ``[1e-3, 10]`` (loud bins count more)."""
    return torch.log1p(mix_mag).clamp(1e-3, 10.0)


def weighted_mask_loss(pred: torch.Tensor, target: torch.Tensor,
                       weight: torch.Tensor) -> torch.Tensor:
    """Weighted L1 between predicted and target masks, averaged over all elements."""
    return torch.mean(weight * torch.abs(pred - target))


@dataclasses.dataclass(frozen=True)
class LossTerms:
    """The total and each term (for logging)."""

    total: torch.Tensor
    mask: torch.Tensor
    refine: torch.Tensor
    classifier: torch.Tensor
    feature: torch.Tensor
    causal: torch.Tensor
    visual: torch.Tensor

    def as_floats(self) -> dict[str, float]:
        return {f.name: float(getattr(self, f.name).detach()) for f in dataclasses.fields(self)}


def crn_loss(stage_masks: list[torch.Tensor], stem_mag: torch.Tensor, mix_mag: torch.Tensor,
             mask_clamp: float, weights: LossWeights = LossWeights(),
             class_logits: torch.Tensor | None = None, class_ids: torch.Tensor | None = None,
             features: torch.Tensor | None = None,
             target_features: torch.Tensor | None = None,
             emitted: slice | None = None,
             visual_logits: torch.Tensor | None = None) -> LossTerms:
    """The CRN objective.

    ``stage_masks[0]`` is the separator's output and ``stage_masks[1:]`` the refinement stages,
    each ``(objects, 1, bins, frames)``; ``stem_mag`` and ``mix_mag`` are the same shape (each
    object's own stem and its mixture); ``mask_clamp`` is the model config's target ceiling
    (:attr:`~crn_live.config.ModelConfig.mask_clamp`). ``class_logits (objects, classes)`` with
    ``class_ids (objects,)`` add the classifier term; ``features`` against ``target_features``
    (both ``(objects, dims)``) the feature-matching term (L1); ``emitted`` (the frames a
    streaming step keeps, :attr:`~crn_live.models.ChunkedCausalCRN.chunk_slice`) the causal term;
    ``visual_logits (objects, classes)`` with ``class_ids`` the visual term.
    """
    target = ratio_mask(stem_mag, mix_mag, mask_clamp)
    weight = mask_weight(mix_mag)
    mask = weighted_mask_loss(stage_masks[0], target, weight)
    zero = mask.new_zeros(())
    refine = sum((weighted_mask_loss(m, target, weight) for m in stage_masks[1:]), zero)
    classifier = (F.cross_entropy(class_logits, class_ids)
                  if class_logits is not None and class_ids is not None else zero)
    feature = (F.l1_loss(features, target_features)
               if features is not None and target_features is not None else zero)
    causal = (weighted_mask_loss(stage_masks[-1][..., emitted], target[..., emitted],
                                 weight[..., emitted]) if emitted is not None else zero)
    visual = (F.cross_entropy(visual_logits, class_ids)
              if visual_logits is not None and class_ids is not None else zero)
    total = (weights.mask * mask + weights.refine * refine + weights.classifier * classifier
             + weights.feature * feature + weights.causal * causal + weights.visual * visual)
    return LossTerms(total, mask, refine, classifier, feature, causal, visual)
