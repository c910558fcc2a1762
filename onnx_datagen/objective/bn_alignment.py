"""How far synthetic statistics are from a BN layer's running statistics.

The loss functions are plain arithmetic, so the same code scores torch tensors during optimisation
and numpy arrays in the manifest's report.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from onnx_datagen.config.choices import BnLoss
from onnx_datagen.config.generation import GenerationConfig
from onnx_datagen.graph.bn import BnSite


def alignment_targets(sites: list[BnSite], channels: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(mean, std) targets: the input pseudo-layer first, then each BN layer in graph order.

    The input term assumes normalised input (mean 0, std 1 per channel). A BN layer's std target is
    sqrt(running_var) without BN's epsilon: the population std itself (MCT, quirk Q6).
    """
    return [(np.zeros(channels), np.ones(channels))] + [(s.running_mean, s.running_std) for s in sites]


def mean_only_layers(sites: list[BnSite]) -> frozenset[int]:
    """The layers (input pseudo-layer 0) whose std target is unknown (a decomposed BN's scale folds it in)."""
    return frozenset(i + 1 for i, s in enumerate(sites) if not s.std_known)


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


def slack_l2_square(mean, std, target_mean, target_std, std_weight=1.0, margins=(0.0, 0.0), image_weights=None):
    """DSG's slack distribution alignment: D = max(|gap| - margin, 0) per entry, for the mean and the std with the
    layer's two margins; ||D_mean||^2 + std_weight ||D_std||^2 (squared Frobenius norms), mean over images.

    image_weights (B,) scale each image's squared gaps (layer-wise sample enhancement: 4 for one image). With zero
    margins this is l2_square x C / B. Per batch, the statistics are one "image".
    """
    mean_margin, std_margin = margins
    mean_gap = (abs(mean - target_mean) - mean_margin).clip(min=0) ** 2
    std_gap = (abs(std - target_std) - std_margin).clip(min=0) ** 2
    per_entry = mean_gap + std_weight * std_gap
    if image_weights is not None:
        per_entry = per_entry * image_weights[:, None]
    return per_entry.sum() / (mean.shape[0] if mean.ndim == 2 else 1)


BN_LOSSES = {
    BnLoss.L2_SQUARE: l2_square,
    BnLoss.L2_NORM_MEAN_VAR: l2_norm_mean_var,
    BnLoss.SLACK_L2_SQUARE: slack_l2_square,
}
ENHANCED_SAMPLES = 20  # DSG enhances samples 0..19, one per BN layer
ENHANCEMENT = 4.0  # the enhanced sample's residual is doubled: its squared gaps count 4 times


def enhancement_weights(bn_layer: int, n_images: int) -> np.ndarray:
    """DSG's layer-wise sample enhancement: image j of a batch weighs BN layer j (0-based, j < 20) 4 times."""
    weights = np.ones(n_images, dtype=np.float32)
    if bn_layer < min(n_images, ENHANCED_SAMPLES):
        weights[bn_layer] = ENHANCEMENT
    return weights


def slack_margins(gaps: list[tuple[np.ndarray, np.ndarray]], percentile: float) -> list[tuple[float, float]]:
    """One (mean, std) margin per layer: the percentile of that layer's absolute per-image gaps (all images and
    channels). DSG's margin files are not public; this is our rule, applied to a pilot batch (see the engine)."""
    return [(float(np.percentile(m, percentile)), float(np.percentile(s, percentile))) for m, s in gaps]


def alignment_loss(
    layer_moments: list, targets: list, weights: list[float], bn_loss, eps: float, options=None, mean_only=frozenset()
):
    """sum over layers of weight x bn_loss(mean, std, targets), from each layer's (first, second) moments.

    `options(layer, mean)` gives a layer's extra bn_loss arguments (slack margins). Layers in `mean_only` match
    their means alone: their std is replaced by the (constant) target, so its term is 0 with no gradient. Plain
    arithmetic: torch tensors and graph values (objective/lowering.py) both go through it.
    """
    from onnx_datagen.objective.statistics import mean_std

    terms = []
    for layer, (weight, (first, second), (target_mean, target_std)) in enumerate(zip(weights, layer_moments, targets)):
        if weight:
            mean, std = mean_std(first, second, eps)
            if layer in mean_only:
                std = target_std
            extra = options(layer, mean) if options else {}
            terms.append(weight * bn_loss(mean, std, target_mean, target_std, **extra))
    return sum(terms)


def bn_loss_for(config: GenerationConfig):
    """The configured per-layer BN loss, with its std weight: one function for optimising and reporting."""
    return partial(BN_LOSSES[config.bn_loss], std_weight=config.std_weight)
