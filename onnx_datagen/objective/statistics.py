"""Per-channel first and second moments of BN inputs, at each granularity, and the all-images cache."""

from __future__ import annotations

import numpy as np
import torch

from onnx_datagen.config.choices import Granularity


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

    Slots and sums are allocated once and updated in place: a step's small moment tensors, kept alive between
    steps, would pin holes in the heap that the next step's activations were freed into, and glibc's heap then
    grows with every step (MobileNetV2 at 224x224, 128 images: 3.6 GB instead of 2 GB; benchmarks/results/IMAGENET.md).
    """

    def __init__(self, n_batches: int) -> None:
        self.n_batches = n_batches
        self.slots: list[tuple] | None = None  # per layer: (means, squares), each n_batches x the moment's shape
        self.sums: list[tuple] | None = None  # per layer: the slots summed, kept up to date step by step
        self.filled = [False] * n_batches

    def store(self, batch: int, layer_moments: list[tuple]) -> None:
        """Batch `batch`'s latest moments (detached by the caller), copied into its slot."""
        if self.slots is None:
            self.slots = [(_zeros(m, self.n_batches), _zeros(q, self.n_batches)) for m, q in layer_moments]
            self.sums = [(_zeros(m), _zeros(q)) for m, q in layer_moments]
        for (sm, sq), (slot_m, slot_q), (m, q) in zip(self.sums, self.slots, layer_moments):
            sm += m
            sq += q
            if self.filled[batch]:  # the running sum loses the slot's old moments
                sm -= slot_m[batch]
                sq -= slot_q[batch]
            slot_m[batch] = m
            slot_q[batch] = q
        self.filled[batch] = True

    def rest(self, batch: int) -> list[tuple]:
        """The summed moments of every batch but `batch`."""
        assert self.filled[batch], "store every batch before combining"
        return [(sm - slot_m[batch], sq - slot_q[batch]) for (sm, sq), (slot_m, slot_q) in zip(self.sums, self.slots)]

    def combined(self, batch: int, layer_moments: list[tuple]) -> list[tuple]:
        """Global moments where batch `batch`'s slot is replaced by `layer_moments` (which carry grad)."""
        return [
            ((rm + m) / self.n_batches, (rq + q) / self.n_batches)
            for (rm, rq), (m, q) in zip(self.rest(batch), layer_moments)
        ]


def _zeros(like, n: int | None = None):
    """Zeros of `like`'s type, dtype and device: its shape, or n stacked."""
    shape = tuple(like.shape) if n is None else (n, *like.shape)
    return like.new_zeros(shape) if isinstance(like, torch.Tensor) else np.zeros(shape, like.dtype)
