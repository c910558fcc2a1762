"""What the generator needs from an optimisation engine."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class StepReport:
    """One optimiser step of one batch, for progress display."""

    iteration: int  # 0-based outer iteration
    n_iter: int
    position: int  # 0-based position of this batch within the iteration
    n_batches: int
    batch: int  # the batch's index (its seed stream)
    loss: float
    bn_loss: float
    output_loss: float
    lr: float


class ProgressSink(Protocol):
    def __call__(self, report: StepReport) -> None: ...


@dataclass(frozen=True)
class LayerStatistics:
    """Per-channel mean and std over a whole image set, for the input pseudo-layer and every BN layer."""

    means: list[np.ndarray]
    stds: list[np.ndarray]


class Backend(ABC):
    """An engine: optimise canvases into images, and measure BN-input statistics of any image set."""

    @abstractmethod
    def optimize(self, n_images: int, progress: ProgressSink | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Return (initial images, final images), both N x C x H x W float32 in model-input space."""

    @abstractmethod
    def layer_statistics(self, images: np.ndarray) -> LayerStatistics:
        """Statistics of `images` over all images and positions (input first, then BN layers in graph order)."""
