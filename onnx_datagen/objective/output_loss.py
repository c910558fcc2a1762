"""Output ("stretching") losses on the model's outputs, which push logits apart."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from onnx_datagen.config import OutputLoss

EPS = 1e-6  # keeps the inverse losses finite when the output range collapses


@dataclass
class HeadActivation:
    """A model output z (B, K), the input a of its linear layer, and that layer's weight rows w (K, F)."""

    output: torch.Tensor
    features: torch.Tensor
    weight_rows: torch.Tensor


def _ranges(z: torch.Tensor) -> torch.Tensor:
    flat = z.float().reshape(z.shape[0], -1)
    return flat.max(dim=1).values - flat.min(dim=1).values


def no_output_loss(outputs: list[torch.Tensor], heads: list[HeadActivation]) -> torch.Tensor:
    return torch.zeros((), device=outputs[0].device)


def negative_min_max(outputs: list[torch.Tensor], heads: list[HeadActivation]) -> torch.Tensor:
    """-(mean over samples of max - min), summed over outputs."""
    return sum(-_ranges(z).mean() for z in outputs)


def inverse_min_max(outputs: list[torch.Tensor], heads: list[HeadActivation]) -> torch.Tensor:
    """1 / (mean over samples of max - min), summed over outputs."""
    return sum(1.0 / (_ranges(z).mean() + EPS) for z in outputs)


def regularized_min_max(outputs: list[torch.Tensor], heads: list[HeadActivation]) -> torch.Tensor:
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


OUTPUT_LOSSES = {
    OutputLoss.NONE: no_output_loss,
    OutputLoss.NEGATIVE_MIN_MAX: negative_min_max,
    OutputLoss.INVERSE_MIN_MAX: inverse_min_max,
    OutputLoss.REGULARIZED_MIN_MAX: regularized_min_max,
}
