"""Differentiable views of the optimised canvas: the augmented training view and the final view.

The canvas is larger than the image by `extra_pixels` so the random crop can move. `clamp` acts
only on the view, with a straight-through gradient, and never on the stored canvas (MCT today);
`reflect` folds the stored canvas back into range after every step (MCT before July 2024), and
`clamp-canvas` clamps it (DeepInversion). `jitter-and-flip` is DeepInversion's augmentation: the
canvas is the image, shifted circularly by up to the margin and flipped; in its low-resolution phases the
model sees the canvas average-pooled (`pooled`: 2x2 at half resolution, 4x4 at a quarter).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from onnx_datagen.config.choices import Clipping, ImagePipeline
from onnx_datagen.config.generation import ResolvedConfig

SMOOTHING_SIZE = 3  # Gaussian kernel size of the smoothing step


def gaussian_kernel(channels: int, sigma: float, size: int = SMOOTHING_SIZE) -> torch.Tensor:
    """A normalised depthwise size x size Gaussian kernel, shape (C, 1, size, size)."""
    grid = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    g = torch.exp(-(grid**2) / (2 * sigma**2))
    kernel = torch.outer(g, g)
    kernel = kernel / kernel.sum()
    return kernel.expand(channels, 1, size, size).contiguous()


def clip(x: torch.Tensor, low: torch.Tensor, high: torch.Tensor, mode: Clipping) -> torch.Tensor:
    """Clamp a view to [low, high] per channel; the gradient passes straight through (identity)."""
    if mode in (Clipping.NONE, Clipping.CLAMP_CANVAS):  # clamp-canvas keeps the stored images in range instead
        return x
    return x + (torch.maximum(torch.minimum(x, high), low) - x).detach()


def reflect_(canvas: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> None:
    """In place: an overshoot of d past a bound lands d inside it (then clamp, for overshoots past the range)."""
    with torch.no_grad():
        clamped = torch.maximum(torch.minimum(canvas, high), low)
        canvas.copy_(torch.maximum(torch.minimum(2 * clamped - canvas, high), low))


@dataclass(frozen=True)
class ViewDraw:
    """A training view's random choices: flip, and the crop's top-left corner (jitter: the down/right shift)."""

    flip: bool
    top: int
    left: int


class CanvasPipeline:
    """Maps a canvas batch (B, C, H + extra, W + extra) to model-input views (B, C, H, W)."""

    def __init__(
        self, config: ResolvedConfig, height: int, width: int, low: np.ndarray, high: np.ndarray, device: torch.device
    ) -> None:
        self.augment = config.pipeline is ImagePipeline.SMOOTHING_AND_AUGMENTATION
        self.extra = config.margin(height, width) if self.augment else 0
        self.jitter = config.margin(height, width) if config.pipeline is ImagePipeline.JITTER_AND_FLIP else 0
        self.height, self.width = height, width
        self.flip_probability = config.flip_probability
        self.clipping = config.clipping
        channels = len(low)
        self.low = torch.tensor(low, dtype=torch.float32, device=device).view(1, channels, 1, 1)
        self.high = torch.tensor(high, dtype=torch.float32, device=device).view(1, channels, 1, 1)
        self.kernel = gaussian_kernel(channels, config.smoothing_sigma).to(device)
        self.pool = 1  # 2 in DeepInversion's low-resolution phase, 4 at a quarter of the size
        self.fixed = False  # True: every training view is the final view (steady())

    def pooled(self, pool: int) -> CanvasPipeline:
        """The same pipeline, viewing the canvas pool x pool average-pooled with the jitter divided alike
        (DeepInversion's half resolution: pool 2); the canvas itself stays at full resolution. Not for
        smoothing-and-augmentation (the config refuses it)."""
        coarse = copy.copy(self)
        coarse.pool, coarse.jitter = pool, self.jitter // pool
        return coarse

    def steady(self) -> CanvasPipeline:
        """The same pipeline whose training views are all the final view: no flip, no shift, the centre crop. For a
        model whose statistics the views themselves move (a 48-pixel-high text line rolled by 6 rows and mirrored),
        so what a step improves is what is returned."""
        fixed = copy.copy(self)
        fixed.fixed = True
        return fixed

    @property
    def canvas_size(self) -> tuple[int, int]:
        return self.height + self.extra, self.width + self.extra

    def after_step(self, canvas: torch.Tensor) -> None:
        if self.clipping is Clipping.REFLECT:
            reflect_(canvas, self.low, self.high)
        elif self.clipping is Clipping.CLAMP_CANVAS:
            with torch.no_grad():
                canvas.copy_(torch.maximum(torch.minimum(canvas, self.high), self.low))

    def _pooled(self, canvas: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(canvas, self.pool) if self.pool > 1 else canvas

    def smooth(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.kernel, padding=SMOOTHING_SIZE // 2, groups=x.shape[1])

    def draw(self, rng: np.random.Generator) -> ViewDraw:
        """One step's random choices, for the whole batch: the flip, and the crop offset (or circular shift)."""
        if self.fixed:
            return ViewDraw(False, self.extra // 2, self.extra // 2)
        if self.augment:
            flip = bool(rng.random() < self.flip_probability)
            top, left = (int(v) for v in rng.integers(0, self.extra + 1, size=2))
            return ViewDraw(flip, top, left)
        if self.jitter:  # DeepInversion: shift first, then the flip decision
            down, right = (int(v) for v in rng.integers(-self.jitter, self.jitter + 1, size=2))
            return ViewDraw(bool(rng.random() < self.flip_probability), down, right)
        return ViewDraw(False, 0, 0)

    def training_view(self, canvas: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        """Random flip (whole batch) -> smoothing -> random crop (one offset per batch) -> clip."""
        return self.view(canvas, self.draw(rng))

    def view(self, canvas: torch.Tensor, drawn: ViewDraw, clamp: bool = True) -> torch.Tensor:
        """The training view for these choices (clamp=False: before clipping)."""
        x = self._pooled(canvas)
        if self.augment:
            if drawn.flip:
                x = torch.flip(x, dims=(3,))
            x = self.smooth(x)
            x = x[:, :, drawn.top : drawn.top + self.height, drawn.left : drawn.left + self.width]
        elif self.jitter:
            x = torch.roll(x, shifts=(drawn.top, drawn.left), dims=(2, 3))
            if drawn.flip:
                x = torch.flip(x, dims=(3,))
        return clip(x, self.low, self.high, self.clipping) if clamp else x

    def final_view(self, canvas: torch.Tensor) -> torch.Tensor:
        """Smoothing -> centre crop -> clip: the images that are returned."""
        x = self._pooled(canvas)
        if self.augment:
            x = self.smooth(x)
            top = left = self.extra // 2
            x = x[:, :, top : top + self.height, left : left + self.width]
        return clip(x, self.low, self.high, self.clipping)


def valid_range(mean: tuple[float, ...], std: tuple[float, ...], pixel_scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel [low, high] of the model input for pixels in [0, pixel_scale]."""
    mean_a, std_a = np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)
    return ((0.0 - mean_a) / std_a).astype(np.float32), ((pixel_scale - mean_a) / std_a).astype(np.float32)
