"""The Cycle-Refining Network (offline, faithful to the reference design).

A separator U-Net predicts a first mask per object from the log magnitude of its mixture and
its object embedding. Then, ``refine_iterations`` times, for every object ``k``::

    separated_k   = mask_k * mix
    residual      = mix - sum_{j in mixture(k)} separated_j     (shared within one mixture)
    residual_mask = clamp(residual / mix, -1, 1)
    mask_k        = refiner([mask_k, residual_mask], embedding_k)

The same refiner weights are used in every iteration (the reference calls one ``net_refine``
in a loop). Objects are grouped by ``mixture_ids``: the sum runs over a 0/1 membership matrix
``same[i, j] = (mixture_ids[i] == mixture_ids[j])`` as one matmul, so the residual never
crosses mixtures (objects of other mixtures enter with weight exactly 0) and the graph has no
data-dependent shapes (ONNX / TensorRT friendly).

``mix`` is ``mix_mag + MIX_EPS`` (the reference adds 1e-10), so ``residual / mix`` equals
``1 - sum_j mask_j`` even in digital silence. With sigmoid masks that lies in
``[1 - objects_in_mixture, 1]``; it is clamped to ``[-1, 1]`` so the refiner sees the same
input range whatever the number of objects (``-1``: the mixture energy is claimed twice).
"""

from __future__ import annotations

import torch
from torch import nn

from crn_live.config import ModelConfig
from crn_live.models.unet import ConditionedUNet

#: Added to the linear mixture magnitude before masking and division (reference: 1e-10).
MIX_EPS = 1e-10
#: Range the residual mask is clamped to.
RESIDUAL_MASK_RANGE = (-1.0, 1.0)


def log_magnitude(mag: torch.Tensor) -> torch.Tensor:
    """The network input ``log(mag + MIX_EPS)``, same shape as ``mag`` (silence: ``log 1e-10``)."""
    return torch.log(mag + MIX_EPS)


def mixture_membership(mixture_ids: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``(objects,)`` long -> ``(objects, objects)`` 0/1 matrix: do objects share a mixture."""
    return (mixture_ids[:, None] == mixture_ids[None, :]).to(dtype)


def mixture_sum(x: torch.Tensor, membership: torch.Tensor) -> torch.Tensor:
    """Sum of ``x (objects, ...)`` over the objects of each object's mixture, same shape."""
    return torch.matmul(membership, x.flatten(1)).reshape(x.shape)


def residual_mask(
    masks: torch.Tensor, mix: torch.Tensor, membership: torch.Tensor
) -> torch.Tensor:
    """What no object of the mixture claimed, as a mask.

    ``masks``, ``mix`` (``mix_mag + MIX_EPS``): ``(objects, 1, bins, frames)``;
    ``membership``: ``(objects, objects)`` -> ``(objects, 1, bins, frames)`` in ``[-1, 1]``.
    """
    residual = mix - mixture_sum(masks * mix, membership)
    return torch.clamp(residual / mix, *RESIDUAL_MASK_RANGE)


class CRN(nn.Module):
    """Separator + shared cycle refiner on spectrogram windows (no STFT, no files).

    Frame counts must be multiples of ``config.time_multiple`` (any such length works; the
    reference uses 256 frames).
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        args = (config.ngf, config.unet_depth, config.embed_dim, config.time_strides)
        self.separator = ConditionedUNet(1, *args)
        self.refiner = ConditionedUNet(2, *args)

    def forward(
        self,
        log_mix: torch.Tensor,
        mix_mag: torch.Tensor,
        embeddings: torch.Tensor,
        mixture_ids: torch.Tensor,
        iterations: int | None = None,
    ) -> list[torch.Tensor]:
        """Masks of every stage.

        ``log_mix`` (:func:`log_magnitude` of ``mix_mag``) and ``mix_mag``: ``(objects, 1,
        bins, frames)``, each object's own mixture (repeated for objects of one mixture);
        ``embeddings``: ``(objects, embed_dim)``; ``mixture_ids``: ``(objects,)`` long, equal
        for objects of one mixture. ``iterations`` defaults to ``config.refine_iterations``.
        Returns ``1 + iterations`` masks ``(objects, 1, bins, frames)``: separator first,
        then each refinement.
        """
        self._check_shapes(log_mix, mix_mag, embeddings, mixture_ids)
        iterations = self.config.refine_iterations if iterations is None else iterations
        masks = [self.separator(log_mix, embeddings)]
        mix = mix_mag + MIX_EPS
        membership = mixture_membership(mixture_ids, mix.dtype)
        for _ in range(iterations):
            residual = residual_mask(masks[-1], mix, membership)
            masks.append(self.refiner(torch.cat((masks[-1], residual), dim=1), embeddings))
        return masks

    def _check_shapes(
        self,
        log_mix: torch.Tensor,
        mix_mag: torch.Tensor,
        embeddings: torch.Tensor,
        mixture_ids: torch.Tensor,
    ) -> None:
        """``ValueError`` on inconsistent shapes; skipped while tracing (shapes are symbolic)."""
        if torch.jit.is_tracing():
            return
        objects, _, bins, frames = log_mix.shape
        if log_mix.shape[1] != 1 or bins != self.config.log_bins or mix_mag.shape != log_mix.shape:
            raise ValueError(f"log_mix and mix_mag must both be (objects, 1, "
                             f"{self.config.log_bins}, frames), got {tuple(log_mix.shape)} "
                             f"and {tuple(mix_mag.shape)}")
        if frames % self.config.time_multiple:
            raise ValueError(f"frames ({frames}) must be a multiple of "
                             f"{self.config.time_multiple}")
        if embeddings.shape != (objects, self.config.embed_dim) or mixture_ids.shape != (objects,):
            raise ValueError(f"embeddings must be ({objects}, {self.config.embed_dim}) and "
                             f"mixture_ids ({objects},), got {tuple(embeddings.shape)} and "
                             f"{tuple(mixture_ids.shape)}")
