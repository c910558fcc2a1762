"""Per-channel first and second moments of BN inputs, at each granularity, and the all-images cache."""

from __future__ import annotations

import torch

from onnx_datagen.config.settings import Granularity


def moments(x: torch.Tensor, granularity: Granularity) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and mean of squares per channel: shape (B, C) per image, (C,) per batch / all images.

    Works for any BN input rank (N, C, *spatial); per image, an (N, C) input has one value per entry.
    """
    x = x.float()
    spatial = tuple(range(2, x.dim()))
    dims = spatial if granularity is Granularity.PER_IMAGE else (0, *spatial)
    if not dims:
        return x, x * x
    return x.mean(dim=dims), (x * x).mean(dim=dims)


def mean_std(first: torch.Tensor, second: torch.Tensor, eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Biased variance from the moments; eps keeps the square root differentiable at zero variance."""
    var = (second - first * first).clamp_min(0.0)
    return first, (var + eps).sqrt()  # a method, so graph values (objective/lowering.py) lower it too


class MomentCache:
    """All-images statistics from per-batch moments, with gradient flowing only through the current batch.

    Each batch has a slot holding its latest (detached) moments; the global moments are the plain
    average over slots, so every batch counts equally (as in MCT and DGH).
    """

    def __init__(self, n_batches: int) -> None:
        self.n_batches = n_batches
        self.slots: list[list[tuple[torch.Tensor, torch.Tensor]] | None] = [None] * n_batches
        self.sums: list[tuple[torch.Tensor, torch.Tensor]] | None = None

    def store(self, batch: int, layer_moments: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
        fresh = [(m.detach(), q.detach()) for m, q in layer_moments]
        old = self.slots[batch]
        if self.sums is None:
            self.sums = [(torch.zeros_like(m), torch.zeros_like(q)) for m, q in fresh]
        self.sums = [
            (sm + m - (old[i][0] if old else 0), sq + q - (old[i][1] if old else 0))
            for i, ((sm, sq), (m, q)) in enumerate(zip(self.sums, fresh))
        ]
        self.slots[batch] = fresh

    def combined(
        self, batch: int, layer_moments: list[tuple[torch.Tensor, torch.Tensor]]
    ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Global moments where batch `batch`'s slot is replaced by `layer_moments` (which carry grad)."""
        assert self.sums is not None and self.slots[batch] is not None, "store every batch before combining"
        old = self.slots[batch]
        return [
            ((sm - old[i][0] + m) / self.n_batches, (sq - old[i][1] + q) / self.n_batches)
            for i, ((sm, sq), (m, q)) in enumerate(zip(self.sums, layer_moments))
        ]
