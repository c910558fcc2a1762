"""BN-input tails: how far a set drives each BN layer's input from its running mean, in running stds (|z|). The
tail suite scores sets by it; the drop-extremes probe ranks images by it."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np


@functools.cache
def bn_measurer(model_path: Path):
    """(engine, BN targets) of a model, made once: the engine's measure() gives every BN input of a set."""
    from onnx_datagen import GenerationConfig
    from onnx_datagen.engines.torch.engine import TorchEngine
    from onnx_datagen.graph.prepare import prepare_model
    from onnx_datagen.objective.bn_alignment import alignment_targets

    prepared = prepare_model(str(model_path))
    config = GenerationConfig().resolve(prepared.image.height, prepared.image.width)
    return TorchEngine(prepared, config), alignment_targets(prepared.bn_sites, 3)[1:]


def abs_z(model_path: Path, images: np.ndarray):
    """Per BN layer, in graph order: |z| of its input for `images` (N x C x H x W), the distance from the running
    mean in running stds."""
    engine, targets = bn_measurer(model_path)
    for x, (mean, std) in zip(engine.measure(images).layers[1:], targets):
        yield np.abs(x - mean[None, :, None, None]) / np.maximum(std, 1e-6)[None, :, None, None]
