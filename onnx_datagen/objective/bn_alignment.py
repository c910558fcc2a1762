"""How far synthetic statistics are from a BN layer's running statistics."""

from __future__ import annotations

import torch

from onnx_datagen.config import BnLoss


def l2_square(
    mean: torch.Tensor, std: torch.Tensor, target_mean: torch.Tensor, target_std: torch.Tensor
) -> torch.Tensor:
    """||mean - mu||^2 / C + ||std - sigma||^2 / C.

    Per-image statistics have shape (B, C): the norm runs over all B x C entries, i.e. images add up.
    """
    channels = target_mean.numel()
    return ((mean - target_mean) ** 2).sum() / channels + ((std - target_std) ** 2).sum() / channels


BN_LOSSES = {BnLoss.L2_SQUARE: l2_square}
