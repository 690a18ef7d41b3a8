"""Tiny model configs and inputs shared by the model tests (fast on two CPU cores)."""

from __future__ import annotations

import torch

from crn_live.config import AudioConfig, ModelConfig, WarpConfig
from crn_live.models.crn import log_magnitude


def tiny_config(**changes: object) -> ModelConfig:
    """64 log bins, 5-layer U-Nets with ngf 4, 16-frame windows, 4-frame chunks."""
    sizes: dict[str, object] = dict(
        ngf=4, unet_depth=5, embed_dim=8, crop_size=32, visual_width=4, classifier_width=4,
        n_classes=5, context_frames=16, chunk_frames=4, log_bins=64,
        audio=AudioConfig(warp=WarpConfig(log_bins=64)),
    )
    return ModelConfig.small(**{**sizes, **changes})


def mixture_inputs(
    config: ModelConfig, objects: int, frames: int, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(log_mix, mix_mag, embeddings)`` for ``objects`` objects of ONE mixture.

    ``log_mix``, ``mix_mag``: ``(objects, 1, log_bins, frames)`` (the same mixture repeated);
    ``embeddings``: ``(objects, embed_dim)``.
    """
    generator = torch.Generator().manual_seed(seed)
    mix_mag = torch.rand(1, 1, config.log_bins, frames, generator=generator).expand(
        objects, -1, -1, -1).contiguous()
    embeddings = torch.randn(objects, config.embed_dim, generator=generator)
    return log_magnitude(mix_mag), mix_mag, embeddings


def lively(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Re-initialise conv weights at unit gain and put ``model`` in eval mode.

    With the reference's N(0, 0.02) init and fresh BatchNorm statistics an untrained net is
    almost constant (changes vanish below float32 resolution), which would make causality,
    coupling and export checks pass vacuously.
    """
    torch.manual_seed(seed)
    for module in model.modules():
        if isinstance(module, (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.Linear)):
            torch.nn.init.normal_(module.weight, 0.0, (2.0 / module.weight[0].numel()) ** 0.5)
    return model.eval()
