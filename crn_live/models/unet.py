"""The object-conditioned U-Net of the reference design (Co-Separation's 7-layer U-Net).

Down path: ``depth`` blocks of conv 4x4 stride 2 + BatchNorm + LeakyReLU(0.2), widths ``ngf,
2ngf, 4ngf, 8ngf, 8ngf, ...``. The object embedding is tiled over the bottleneck and
concatenated to it. Up path: transposed conv 4x4 stride 2 + BatchNorm + ReLU with skip
connections; the outermost up-conv ends in a sigmoid: a mask in ``(0, 1)``.

Every layer halves the frequency axis. Only the ``time_strides`` outermost layers halve the
time axis; deeper layers use a ``4 x 3`` kernel with stride ``(2, 1)`` (and its transposed twin),
so a short window (e.g. 64 frames) keeps a static time size of ``frames / 2**time_strides``
at the bottleneck instead of collapsing. With ``time_strides = depth`` this is exactly the
reference network (256 x 256 in, 2 x 2 bottleneck).
"""

from __future__ import annotations

import torch
from torch import nn


def init_weights(module: nn.Module) -> None:
    """Reference (DCGAN-style) init: conv/linear weights N(0, 0.02), BN weights N(1, 0.02)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def _kernel_stride(time_stride: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """Kernel and stride of a block: 4x4 / (2, 2) when time is halved, 4x3 / (2, 1) otherwise."""
    return ((4, 4), (2, 2)) if time_stride == 2 else ((4, 3), (2, 1))


def down_block(in_channels: int, out_channels: int, time_stride: int) -> nn.Sequential:
    """Conv + BatchNorm + LeakyReLU(0.2): ``(B, in, F, T) -> (B, out, F/2, T/time_stride)``."""
    kernel, stride = _kernel_stride(time_stride)
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel, stride, padding=1),
        nn.BatchNorm2d(out_channels),
        nn.LeakyReLU(0.2),
    )


def up_block(
    in_channels: int, out_channels: int, time_stride: int, outermost: bool = False
) -> nn.Sequential:
    """Transposed conv + BatchNorm + ReLU (sigmoid when outermost): ``(B, in, F, T) ->
    (B, out, 2F, T*time_stride)``."""
    kernel, stride = _kernel_stride(time_stride)
    conv = nn.ConvTranspose2d(in_channels, out_channels, kernel, stride, padding=1)
    if outermost:
        return nn.Sequential(conv, nn.Sigmoid())
    return nn.Sequential(conv, nn.BatchNorm2d(out_channels), nn.ReLU())


def unet_widths(ngf: int, depth: int) -> list[int]:
    """Output channels of the down blocks: ``ngf * min(2**i, 8)`` for ``i < depth``."""
    return [ngf * min(2**i, 8) for i in range(depth)]


class ConditionedUNet(nn.Module):
    """Mask U-Net conditioned on an object embedding at the bottleneck.

    ``in_channels`` is 1 for the separator (log magnitude of the mixture) and 2 for the
    refinement net (``[mask, residual_mask]``). Accepts any ``frames`` that is a multiple of
    ``2**time_strides``; ``bins`` must be a multiple of ``2**depth``.
    """

    def __init__(
        self, in_channels: int, ngf: int, depth: int, embed_dim: int, time_strides: int
    ) -> None:
        super().__init__()
        if not 0 <= time_strides <= depth or depth < 2:
            raise ValueError(f"need depth >= 2 and 0 <= time_strides <= depth, got "
                             f"depth={depth}, time_strides={time_strides}")
        widths = unet_widths(ngf, depth)
        strides = [2 if i < time_strides else 1 for i in range(depth)]
        self.time_multiple = 2**time_strides
        self.down = nn.ModuleList(
            down_block(c_in, c_out, s)
            for c_in, c_out, s in zip([in_channels] + widths[:-1], widths, strides)
        )
        up: list[nn.Module] = [up_block(widths[-1] + embed_dim, widths[-2], strides[-1])]
        for i in range(depth - 2, 0, -1):
            up.append(up_block(2 * widths[i], widths[i - 1], strides[i]))
        up.append(up_block(2 * widths[0], 1, strides[0], outermost=True))
        self.up = nn.ModuleList(up)
        self.apply(init_weights)

    def forward(self, x: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        """``x (B, in_channels, bins, frames)``, ``embedding (B, embed_dim)`` -> mask
        ``(B, 1, bins, frames)`` in ``(0, 1)``."""
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
        tiled = embedding[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
        x = self.up[0](torch.cat((tiled, x), dim=1))
        for block, skip in zip(self.up[1:], reversed(skips[:-1])):
            x = block(torch.cat((x, skip), dim=1))
        return x
