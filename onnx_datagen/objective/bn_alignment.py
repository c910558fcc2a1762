"""How far synthetic statistics are from a BN layer's running statistics.

The loss functions are plain arithmetic, so the same code scores torch tensors during optimisation
and numpy arrays in the manifest's report.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from onnx_datagen.config import BnLoss, GenerationConfig
from onnx_datagen.graph.bn import BnSite


def alignment_targets(sites: list[BnSite], channels: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(mean, std) targets: the input pseudo-layer first, then each BN layer in graph order.

    The input term assumes normalised input (mean 0, std 1 per channel). A BN layer's std target is
    sqrt(running_var) without BN's epsilon: the population std itself (MCT, quirk Q6).
    """
    return [(np.zeros(channels), np.ones(channels))] + [(s.running_mean, s.running_std) for s in sites]


def l2_square(mean, std, target_mean, target_std, std_weight: float = 1.0):
    """||mean - mu||^2 / C + std_weight * ||std - sigma||^2 / C (std_weight 10 in DGH, 1 in MCT).

    Per-image statistics have shape (B, C): the norm runs over all B x C entries, i.e. images add up.
    """
    channels = target_mean.shape[-1]
    return ((mean - target_mean) ** 2).sum() / channels + std_weight * ((std - target_std) ** 2).sum() / channels


def l2_norm_mean_var(mean, std, target_mean, target_std, std_weight: float = 1.0):
    """||mean - mu|| + std_weight * ||var - sigma^2||: DeepInversion's r_feature, plain L2 norms of the mean and
    variance gaps (not squared, not divided by C). Per image, the norms run over all B x C entries."""
    return ((mean - target_mean) ** 2).sum() ** 0.5 + std_weight * ((std**2 - target_std**2) ** 2).sum() ** 0.5


BN_LOSSES = {BnLoss.L2_SQUARE: l2_square, BnLoss.L2_NORM_MEAN_VAR: l2_norm_mean_var}


def bn_loss_for(config: GenerationConfig):
    """The configured per-layer BN loss, with its std weight: one function for optimising and reporting."""
    return partial(BN_LOSSES[config.bn_loss], std_weight=config.std_weight)
