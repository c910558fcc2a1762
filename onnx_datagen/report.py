"""How well an image set matches a model's BatchNorm statistics (numpy arrays, the objective's own formulas)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from onnx_datagen.backends.base import LayerStatistics
from onnx_datagen.graph.bn import BnSite
from onnx_datagen.objective.bn_alignment import alignment_targets, l2_square


@dataclass(frozen=True)
class StatisticsTargets:
    """What the statistics are scored against: per layer (input pseudo-layer first) its name and target mean/std.

    Kept beside unfinished and sharded runs, so `datagen merge` can score the set without the model.
    """

    names: list[str]
    means: list[np.ndarray]
    stds: list[np.ndarray]

    @classmethod
    def from_sites(cls, sites: list[BnSite], channels: int) -> StatisticsTargets:
        targets = alignment_targets(sites, channels)
        return cls(["<input>"] + [s.name for s in sites], [m for m, _ in targets], [s for _, s in targets])

    def arrays(self) -> dict[str, np.ndarray]:
        out = {"names": np.asarray(self.names)}
        for i, (m, s) in enumerate(zip(self.means, self.stds)):
            out[f"mean_{i}"], out[f"std_{i}"] = m, s
        return out

    @classmethod
    def from_arrays(cls, arrays) -> StatisticsTargets:
        names = [str(n) for n in arrays["names"]]
        return cls(
            names, [arrays[f"mean_{i}"] for i in range(len(names))], [arrays[f"std_{i}"] for i in range(len(names))]
        )


def layer_losses(stats: LayerStatistics, targets: StatisticsTargets, bn_loss=l2_square) -> list[float]:
    """The BN alignment loss per layer (input pseudo-layer first), over the whole image set."""
    return [float(bn_loss(m, s, tm, ts)) for m, s, tm, ts in zip(stats.means, stats.stds, targets.means, targets.stds)]


def relative_gaps(stats: LayerStatistics, targets: StatisticsTargets) -> list[float]:
    """(||m - mu|| + ||s - sigma||) / ||sigma|| per BN layer: a scale-free distance, 0 is a perfect match."""
    pairs = zip(stats.means[1:], stats.stds[1:], targets.means[1:], targets.stds[1:])
    return [
        float((np.linalg.norm(m - mu) + np.linalg.norm(s - sigma)) / max(np.linalg.norm(sigma), 1e-12))
        for m, s, mu, sigma in pairs
    ]


def statistics_report(
    targets: StatisticsTargets, weights: list[float], bn_loss, initial: LayerStatistics, final: LayerStatistics
) -> dict:
    """The manifest's `statistics` entry: total and per-layer losses over the whole set, before and after."""
    loss_initial, loss_final = layer_losses(initial, targets, bn_loss), layer_losses(final, targets, bn_loss)
    gap_initial, gap_final = relative_gaps(initial, targets), relative_gaps(final, targets)
    channels = [len(m) for m in targets.means]
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
                zip(targets.names, channels, weights, loss_initial, loss_final, [None] + gap_final)
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
    targets = StatisticsTargets.from_sites(prepared.bn_sites, prepared.image.channels)
    return float(np.mean(relative_gaps(backend.layer_statistics(images), targets)))
