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

    Each batch has a slot holding its latest moments (mean and mean of squares per layer, detached); the global
    moments are the plain average over slots, so every batch counts equally (as in MCT and DGH). Plain arithmetic
    on any array type: torch tensors in the torch engine, numpy arrays fed to the ort-training engine's graph.
    """

    def __init__(self, n_batches: int) -> None:
        self.n_batches = n_batches
        self.slots: list[list[tuple] | None] = [None] * n_batches
        self.sums: list[tuple] | None = None

    def store(self, batch: int, layer_moments: list[tuple]) -> None:
        """Batch `batch`'s latest moments (detached by the caller)."""
        old = self.slots[batch]
        if self.sums is None:
            self.sums = [(m + 0.0, q + 0.0) for m, q in layer_moments]
        elif old is None:
            self.sums = [(sm + m, sq + q) for (sm, sq), (m, q) in zip(self.sums, layer_moments)]
        else:
            self.sums = [
                (sm + m - om, sq + q - oq) for (sm, sq), (m, q), (om, oq) in zip(self.sums, layer_moments, old)
            ]
        self.slots[batch] = layer_moments

    def rest(self, batch: int) -> list[tuple]:
        """The summed moments of every batch but `batch`."""
        assert self.sums is not None and self.slots[batch] is not None, "store every batch before combining"
        return [(sm - om, sq - oq) for (sm, sq), (om, oq) in zip(self.sums, self.slots[batch])]

    def combined(self, batch: int, layer_moments: list[tuple]) -> list[tuple]:
        """Global moments where batch `batch`'s slot is replaced by `layer_moments` (which carry grad)."""
        return [
            ((rm + m) / self.n_batches, (rq + q) / self.n_batches)
            for (rm, rq), (m, q) in zip(self.rest(batch), layer_moments)
        ]
