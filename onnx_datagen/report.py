"""How well an image set matches a model's BatchNorm statistics (numpy only)."""

from __future__ import annotations

import numpy as np

from onnx_datagen.backends.base import LayerStatistics
from onnx_datagen.graph.bn import BnSite


def layer_losses(stats: LayerStatistics, sites: list[BnSite]) -> list[float]:
    """L2-square alignment loss per layer (input pseudo-layer first): ||m - mu||^2 / C + ||s - sigma||^2 / C."""
    channels = len(stats.means[0])
    targets = [(np.zeros(channels), np.ones(channels))]
    targets += [(s.running_mean, np.sqrt(np.maximum(s.running_var, 0))) for s in sites]
    return [
        float((np.sum((m - tm) ** 2) + np.sum((s - ts) ** 2)) / len(tm))
        for m, s, (tm, ts) in zip(stats.means, stats.stds, targets)
    ]


def relative_gaps(stats: LayerStatistics, sites: list[BnSite]) -> list[float]:
    """(||m - mu|| + ||s - sigma||) / ||sigma|| per BN layer: a scale-free distance, 0 is a perfect match."""
    gaps = []
    for site, m, s in zip(sites, stats.means[1:], stats.stds[1:]):
        sigma = np.sqrt(np.maximum(site.running_var, 0))
        gaps.append(
            float(
                (np.linalg.norm(m - site.running_mean) + np.linalg.norm(s - sigma)) / max(np.linalg.norm(sigma), 1e-12)
            )
        )
    return gaps


def statistics_report(
    sites: list[BnSite], weights: list[float], initial: LayerStatistics, final: LayerStatistics
) -> dict:
    """The manifest's `statistics` entry: total and per-layer losses over the whole set, before and after."""
    loss_initial, loss_final = layer_losses(initial, sites), layer_losses(final, sites)
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
