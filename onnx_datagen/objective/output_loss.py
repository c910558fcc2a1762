"""Output ("stretching") losses on the model's outputs, which push logits apart."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from onnx_datagen.config.choices import Granularity, OutputLoss
from onnx_datagen.objective.statistics import mean_std, moments

EPS = 1e-6  # keeps the inverse losses finite when the output range collapses
BN_HINGE_MARGIN = 0.5  # DGH: per-image gaps of the last BN layer below this cost nothing


@dataclass
class HeadActivation:
    """A model output z (B, K), the input a of its linear layer, and that layer's weight rows w (K, F)."""

    output: torch.Tensor
    features: torch.Tensor
    weight_rows: torch.Tensor


@dataclass
class LastBn:
    """The last BN layer's input (B, C, ...) and its running mean and std (C,)."""

    input: torch.Tensor
    mean: torch.Tensor
    std: torch.Tensor
    eps: float


def _ranges(z: torch.Tensor) -> torch.Tensor:
    flat = z.float().reshape(z.shape[0], -1)
    return flat.max(dim=1).values - flat.min(dim=1).values


def no_output_loss(
    outputs: list[torch.Tensor], heads: list[HeadActivation], last_bn: LastBn | None = None
) -> torch.Tensor:
    return torch.zeros((), device=outputs[0].device)


def negative_min_max(
    outputs: list[torch.Tensor], heads: list[HeadActivation], last_bn: LastBn | None = None
) -> torch.Tensor:
    """-(mean over samples of max - min), summed over outputs."""
    return sum(-_ranges(z).mean() for z in outputs)


def inverse_min_max(
    outputs: list[torch.Tensor], heads: list[HeadActivation], last_bn: LastBn | None = None
) -> torch.Tensor:
    """1 / (mean over samples of max - min), summed over outputs."""
    return sum(1.0 / (_ranges(z).mean() + EPS) for z in outputs)


def regularized_min_max(
    outputs: list[torch.Tensor], heads: list[HeadActivation], last_bn: LastBn | None = None
) -> torch.Tensor:
    """Inverse range per sample, plus pulling the extreme logits to half their Cauchy-Schwarz bound ||a|| ||w_j||."""
    total = torch.zeros((), device=outputs[0].device)
    for head in heads:
        z = head.output.float()
        z = z.mean(dim=(2, 3)) if z.dim() == 4 else z.reshape(z.shape[0], -1)
        a = head.features.float()
        a = a.mean(dim=(2, 3)) if a.dim() == 4 else a.reshape(a.shape[0], -1)
        a_norm = a.norm(dim=1)
        w_norm = head.weight_rows.norm(dim=1)
        top, bottom = z.argmax(dim=1), z.argmin(dim=1)
        rows = torch.arange(z.shape[0], device=z.device)
        z_top, z_bottom = z[rows, top], z[rows, bottom]
        bound_top, bound_bottom = 0.5 * a_norm * w_norm[top], 0.5 * a_norm * w_norm[bottom]
        per_sample = (
            (z_top.abs() - bound_top).abs() + (z_bottom.abs() - bound_bottom).abs() + 1.0 / (z_top - z_bottom + EPS)
        )
        total = total + per_sample.mean()
    return total


def negative_min_max_bn_hinge(
    outputs: list[torch.Tensor], heads: list[HeadActivation], last_bn: LastBn | None = None
) -> torch.Tensor:
    """DGH: per sample, -(max - min) plus max(||m_b - mu||^2 / C - 0.5, 0) and the same for the std, with m_b, s_b
    the last BN layer's per-image statistics; mean over samples, summed over outputs. The hinges keep the output
    stretching from pulling the last BN layer (the one nearest the outputs) away from its statistics."""

    if last_bn is None:
        raise ValueError("negative-min-max-bn-hinge needs a BatchNorm layer")
    mean, std = mean_std(*moments(last_bn.input, Granularity.PER_IMAGE), last_bn.eps)
    channels = mean.shape[-1]
    hinge = (((mean - last_bn.mean) ** 2).sum(dim=1) / channels - BN_HINGE_MARGIN).clamp_min(0) + (
        ((std - last_bn.std) ** 2).sum(dim=1) / channels - BN_HINGE_MARGIN
    ).clamp_min(0)
    return sum((-_ranges(z) + hinge).mean() for z in outputs)


OUTPUT_LOSSES = {
    OutputLoss.NONE: no_output_loss,
    OutputLoss.NEGATIVE_MIN_MAX: negative_min_max,
    OutputLoss.INVERSE_MIN_MAX: inverse_min_max,
    OutputLoss.REGULARIZED_MIN_MAX: regularized_min_max,
    OutputLoss.NEGATIVE_MIN_MAX_BN_HINGE: negative_min_max_bn_hinge,
}
