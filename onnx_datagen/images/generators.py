"""Torch modules that make or perturb images during optimisation: image generators and swing convs.

GENIE (SamsungLabs/Genie, distill.py) does not optimise pixels: each batch has its own small generator and
latent codes, both trained against the BN objective; the generator is a smooth image prior. Its last,
non-affine BatchNorm runs on batch statistics, so every batch comes out with zero mean and unit variance per
channel. The same network with a class embedding multiplying the latent (GDFQ's conditioning) is the
`generator` method's conditional generator. Swing convolutions are GENIE's sub-pixel jitter where the teacher
downsamples.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

GENIE_WIDTH = 128  # channels of the generator's first feature map (GENIE)
GENERATOR_DECAY, GENERATOR_DECAY_EVERY = 0.95, 100  # GENIE's ExponentialLR(0.95) on G, stepped every 100 iterations


class ConvGenerator(nn.Module):
    """Linear(latent -> 128 x H/4 x W/4) -> BN -> up x2 -> conv 3x3 (128 -> 64) -> BN -> LeakyReLU(0.2) -> up x2
    -> conv 3x3 (64 -> C) -> tanh -> BN(C, no affine); sides not divisible by 4 are made larger and centre-cropped.
    With `classes`, the latent is first multiplied by a learned embedding of the image's class (GDFQ)."""

    def __init__(self, latent_dim: int, channels: int, height: int, width: int, classes: int | None = None) -> None:
        super().__init__()
        self.height, self.width = height, width
        self.embed = nn.Embedding(classes, latent_dim) if classes else None
        self.grid = (-(-height // 4), -(-width // 4))
        self.project = nn.Sequential(nn.Linear(latent_dim, GENIE_WIDTH * self.grid[0] * self.grid[1]))
        self.body = nn.Sequential(
            nn.BatchNorm2d(GENIE_WIDTH),
            nn.Upsample(scale_factor=2),
            nn.Conv2d(GENIE_WIDTH, GENIE_WIDTH // 2, 3, padding=1),
            nn.BatchNorm2d(GENIE_WIDTH // 2),
            nn.LeakyReLU(0.2),
            nn.Upsample(scale_factor=2),
            nn.Conv2d(GENIE_WIDTH // 2, channels, 3, padding=1),
            nn.Tanh(),
            nn.BatchNorm2d(channels, affine=False),
        )

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            z = self.embed(labels) * z
        x = self.body(self.project(z).view(z.shape[0], GENIE_WIDTH, *self.grid))
        top, left = (x.shape[2] - self.height) // 2, (x.shape[3] - self.width) // 2
        return x[:, :, top : top + self.height, left : left + self.width]


def generator_lr(base_lr: float, steps_done: int) -> float:
    return base_lr * GENERATOR_DECAY ** (steps_done // GENERATOR_DECAY_EVERY)


class SwingConv(nn.Module):
    """A strided convolution whose input is reflect-padded by 1 px and cropped back at a random offset (0-2 px in
    each axis, one per forward for the whole batch) while `offset` is set; exactly the wrapped conv otherwise."""

    def __init__(self, conv: nn.Module) -> None:
        super().__init__()
        self.conv = conv
        self.offset: tuple[int, int] | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.offset is None:
            return self.conv(x)
        top, left = self.offset
        height, width = x.shape[-2:]
        shifted = F.pad(x, (1, 1, 1, 1), mode="reflect")[..., top : top + height, left : left + width]
        return self.conv(shifted)


def install_swing(module: nn.Module) -> list[SwingConv]:
    """Wrap every 2-D convolution with a stride other than 1 among `module`'s children (onnx2torch's flat fx
    module calls children by name, so swapping the attribute swaps the call)."""
    wrapped = []
    for name, child in list(module.named_children()):
        if isinstance(child, nn.Conv2d) and tuple(child.stride) != (1, 1):
            swing = SwingConv(child)
            setattr(module, name, swing)
            wrapped.append(swing)
        elif not isinstance(child, SwingConv):
            wrapped += install_swing(child)
    return wrapped


@contextlib.contextmanager
def swinging(convs: list[SwingConv], rng: np.random.Generator):
    """Draw each swing conv's offset from `rng` for one forward pass, and switch them off again after it."""
    for conv in convs:
        conv.offset = tuple(int(v) for v in rng.integers(0, 3, size=2))
    try:
        yield
    finally:
        for conv in convs:
            conv.offset = None
