"""Terms that need no BatchNorm statistics: image priors (DeepInversion's TV and L2) and class targets.

DeepInversion (NVlabs/DeepInversion, deepinversion.py): TV_2 sums the Frobenius norms of the
horizontal, vertical and both diagonal pixel differences over the batch; the L2 prior is the mean
over images of each image's L2 norm. Class targets here are balanced: image i aims at class i mod K.
"""

from __future__ import annotations

import torch


def total_variation_l2(x: torch.Tensor) -> torch.Tensor:
    """||dx|| + ||dy|| + ||d(down-right)|| + ||d(down-left)||, each a Frobenius norm over the batch."""
    horizontal = x[..., :, 1:] - x[..., :, :-1]
    vertical = x[..., 1:, :] - x[..., :-1, :]
    diagonal = x[..., 1:, 1:] - x[..., :-1, :-1]
    anti_diagonal = x[..., 1:, :-1] - x[..., :-1, 1:]
    return sum(torch.linalg.vector_norm(d) for d in (horizontal, vertical, diagonal, anti_diagonal))


def l2_prior(x: torch.Tensor) -> torch.Tensor:
    """Mean over images of each image's L2 norm."""
    return torch.linalg.vector_norm(x.reshape(x.shape[0], -1), dim=1).mean()


def target_labels(cycle: list[int], first_index: int, count: int, device=None) -> torch.Tensor:
    """Class cycle[(first_index + j) mod len(cycle)] for the j-th image of a batch (range(K): balanced)."""
    positions = torch.arange(first_index, first_index + count, device=device) % len(cycle)
    return torch.as_tensor(cycle, device=device)[positions]


def class_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    if logits.dim() != 2:
        raise ValueError(f"class targets need a classifier output of shape [N, classes], got {tuple(logits.shape)}")
    return torch.nn.functional.cross_entropy(logits.float(), labels)
