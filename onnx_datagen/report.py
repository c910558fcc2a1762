"""How well an image set matches a model's BatchNorm statistics (numpy arrays, the objective's own formulas)."""

from __future__ import annotations

import numpy as np

from onnx_datagen.backends.base import LayerStatistics
from onnx_datagen.graph.bn import BnSite
from onnx_datagen.objective.bn_alignment import alignment_targets, l2_square


def layer_losses(stats: LayerStatistics, sites: list[BnSite], bn_loss=l2_square) -> list[float]:
    """The BN alignment loss per layer (input pseudo-layer first), over the whole image set."""
    targets = alignment_targets(sites, len(stats.means[0]))
    return [float(bn_loss(m, s, tm, ts)) for m, s, (tm, ts) in zip(stats.means, stats.stds, targets)]


def relative_gaps(stats: LayerStatistics, sites: list[BnSite]) -> list[float]:
    """(||m - mu|| + ||s - sigma||) / ||sigma|| per BN layer: a scale-free distance, 0 is a perfect match."""
    gaps = []
    for site, m, s in zip(sites, stats.means[1:], stats.stds[1:]):
        sigma = site.running_std
        gaps.append(
            float(
                (np.linalg.norm(m - site.running_mean) + np.linalg.norm(s - sigma)) / max(np.linalg.norm(sigma), 1e-12)
            )
        )
    return gaps


def statistics_report(
    sites: list[BnSite], weights: list[float], bn_loss, initial: LayerStatistics, final: LayerStatistics
) -> dict:
    """The manifest's `statistics` entry: total and per-layer losses over the whole set, before and after."""
    loss_initial, loss_final = layer_losses(initial, sites, bn_loss), layer_losses(final, sites, bn_loss)
    gap_initial, gap_final = relative_gaps(initial, sites), relative_gaps(final, sites)
    names = ["<input>"] + [s.name for s in sites]
    channels = [len(initial.means[0])] + [s.channels for s in sites]
    return {
        "bn_loss_initial": float(np.dot(weights, loss_initial)),
        "bn_loss_final": float(np.dot(weights, loss_final)),
        "bn_match_initial": float(np.mean(gap_initial)),
        "bn_match_final": float(np.mean(gap_final)),
        "layers": [
            {
                "name": n,
                "channels": c,
                "weight": w,
                "loss_initial": li,
                "loss_final": lf,
                "relative_gap_final": gf if i else None,
            }
            for i, (n, c, w, li, lf, gf) in enumerate(
                zip(names, channels, weights, loss_initial, loss_final, [None] + gap_final)
            )
        ],
    }


def bn_match(model, images: np.ndarray, config=None) -> float:
    """Mean relative gap (see relative_gaps) of an image set in model-input space: 0 is a perfect match.

    Scores any set (real, random, another generator's) against `model`'s running statistics.
    """
    from onnx_datagen.backends.torch_backend import TorchBackend
    from onnx_datagen.config import GenerationConfig
    from onnx_datagen.graph.prepare import PreparedModel, prepare_model

    prepared = model if isinstance(model, PreparedModel) else prepare_model(model)
    backend = TorchBackend(prepared, config or GenerationConfig())
    return float(np.mean(relative_gaps(backend.layer_statistics(images), prepared.bn_sites)))
