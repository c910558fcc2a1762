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
    if isinstance(x, torch.Tensor) and _positions_view(x) is not None:
        return FusedMoments.apply(x, granularity is Granularity.PER_IMAGE)
    spatial = tuple(range(2, x.dim()))
    dims = spatial if granularity is Granularity.PER_IMAGE else (0, *spatial)
    if not dims:
        return x, x * x
    return x.mean(dim=dims), (x * x).mean(dim=dims)


class FusedMoments(torch.autograd.Function):
    """Both moments from two reductions of a view and the gradient as one activation-sized tensor: the arithmetic
    above makes a squared copy of every BN input and five more activation-sized tensors in its backward (MobileNetV2's
    step at 224x224: 0.35 -> 0.24 s with channels-last activations, 0.29 -> 0.23 s contiguous; results notes,
    "Moments in one pass")."""

    @staticmethod
    def forward(ctx, x, per_image: bool):
        rows, axis = _positions_view(x)
        first, second = rows.sum(axis), torch.linalg.vector_norm(rows, dim=axis).square()
        count = rows.shape[axis]
        if not per_image:
            first, second, count = first.sum(0), second.sum(0), count * x.shape[0]
        ctx.save_for_backward(x)
        ctx.count = count
        return first / count, second / count

    @staticmethod
    def backward(ctx, grad_first, grad_second):
        (x,) = ctx.saved_tensors
        shape = (-1 if grad_first.dim() == 2 else 1, x.shape[1]) + (1,) * (x.dim() - 2)
        per_value = (grad_first / ctx.count).reshape(shape)
        per_square = (grad_second * (2.0 / ctx.count)).reshape(shape)
        return torch.addcmul(per_value, per_square, x), None


def _positions_view(x: torch.Tensor) -> tuple[torch.Tensor, int] | None:
    """x as (N, C, positions), or for channels-last activations (N, positions, C), without a copy, and the axis of
    the positions; None for an (N, C) input or another layout."""
    if x.dim() < 3:
        return None
    if x.is_contiguous():
        return x.view(x.shape[0], x.shape[1], -1), 2
    if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last):
        return x.permute(0, 2, 3, 1).view(x.shape[0], -1, x.shape[1]), 1
    return None


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
