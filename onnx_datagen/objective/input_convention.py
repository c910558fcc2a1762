"""Does the given input normalisation fit the model? Its first BatchNorm layers remember what their inputs looked like
in training: photo-like images, normalised under each common convention (0-1 or 0-255 pixels, which mean/std), are
run through the model and scored against those statistics. The convention that fits best is named
when the one given fits clearly worse: preprocessing is the most common mistake in calibration pipelines."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from onnx_datagen.config.choices import ChannelOrder
from onnx_datagen.config.normalization import Normalization
from onnx_datagen.data.dataset import Dataset
from onnx_datagen.graph.bn import BnSite
from onnx_datagen.objective.report import LayerStatistics

Measure = Callable[[np.ndarray], LayerStatistics]  # model-input images -> the input's and every BN input's statistics

FIRST_LAYERS = 3  # BN layers scored: the first ones, whose inputs depend most directly on the pixels
# Warn when the given convention's distance exceeds the best one's by both: a factor and a floor, so that two
# conventions that both fit (distances near 0) are never told apart by noise.
WORSE_FACTOR = 3.0
WORSE_MARGIN = 0.5


@dataclass(frozen=True)
class Convention:
    label: str  # how the user would say it on the command line
    normalization: Normalization


# Conventions told apart by scale and offset. RGB against BGR is not among them: on the wild suite the two orders of
# one convention scored within 3 % of each other (the first layers see colour only through small mean differences).
CONVENTIONS = [
    Convention("--normalization imagenet", Normalization.preset("imagenet")),
    Convention("--normalization keras (pixels to -1..1)", Normalization.preset("keras")),
    Convention("--normalization none (0-1 pixels)", Normalization.preset("none")),
    Convention("--mean 0 --std 1 --pixel-scale 255 (raw 0-255 pixels)", Normalization((0.0,), (1.0,), 255.0, "raw")),
    Convention(
        "--mean 103.94,116.78,123.68 --std 1 --pixel-scale 255 --channel-order bgr (Caffe)",
        Normalization((103.94, 116.78, 123.68), (1.0,), 255.0, "caffe", ChannelOrder.BGR),
    ),
]


@dataclass(frozen=True)
class InputCheck:
    """Each convention's distance from the first BN layers' statistics (0: a perfect fit); `warning` when the given
    normalisation fits clearly worse than the best."""

    given: float
    best: str
    best_distance: float
    distances: dict[str, float]
    warning: str | None

    def record(self) -> dict:
        return {
            "given_distance": round(self.given, 4),
            "best": self.best,
            "best_distance": round(self.best_distance, 4),
            "warning": self.warning,
        }


def layer_distance(mean: np.ndarray, std: np.ndarray, site: BnSite) -> float:
    """Mean over live channels of the squared mean gap in units of the running std, plus the squared log ratio of the
    stds (left out where the std is unknown): scale errors (0-255 against 0-1) and offsets both count."""
    sigma = np.sqrt(site.running_var + site.epsilon)
    if not site.std_known:  # a decomposed BN: its means alone, against the spread of the measured input
        sigma = np.maximum(std, 1e-6)
    distance = np.mean(((mean - site.running_mean) / sigma) ** 2)
    if site.std_known:
        distance += np.mean(np.log(np.maximum(std, 1e-12) / sigma) ** 2)
    return float(distance)


def convention_distance(measure: Measure, sites: list[BnSite], normalization: Normalization, pixels) -> float:
    """How far the first BN layers' inputs are from their running statistics, for `pixels` normalised this way."""
    measured = measure(Dataset.pixels_to_input(pixels, normalization))  # input pseudo-layer first, then BN layers
    first = range(min(FIRST_LAYERS, len(sites)))
    return float(np.mean([layer_distance(measured.means[i + 1], measured.stds[i + 1], sites[i]) for i in first]))


def check_input(measure: Measure, sites: list[BnSite], given: Normalization, pixels: np.ndarray) -> InputCheck:
    """Score `given` and each common convention that fits the input's channel count on `pixels` (N x H x W x C
    natural-looking RGB images); warn when `given` fits clearly worse than the best."""
    channels = pixels.shape[-1]
    usable = [c for c in CONVENTIONS if channels == 3 or len(c.normalization.mean) == 1]
    distances = {c.label: convention_distance(measure, sites, c.normalization, pixels) for c in usable}
    same = [c.label for c in usable if _same(c.normalization, given, channels)]
    given_distance = distances[same[0]] if same else convention_distance(measure, sites, given, pixels)
    best = min(distances, key=distances.get)
    warning = None
    if given_distance > WORSE_FACTOR * distances[best] + WORSE_MARGIN:
        warning = (
            f"input normalisation: the model's first BatchNorm layers fit {best} (distance {distances[best]:.2f}) "
            f"far better than the normalisation given ({given_distance:.2f}); check --normalization/--mean/--std/"
            "--pixel-scale/--channel-order against the model's own preprocessing"
        )
    return InputCheck(given_distance, best, distances[best], distances, warning)


def _same(a: Normalization, b: Normalization, channels: int) -> bool:
    if a.pixel_scale != b.pixel_scale or a.channel_order is not b.channel_order:
        return False
    (am, as_), (bm, bs) = a.per_channel(channels), b.per_channel(channels)
    return bool(np.allclose(am, bm, rtol=1e-3) and np.allclose(as_, bs, rtol=1e-3))
