"""How well an image set matches a model's BatchNorm statistics (numpy arrays, the objective's own formulas)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from onnx_datagen.graph.bn import BnSite
from onnx_datagen.objective.bn_alignment import alignment_targets, l2_square, mean_only_layers


@dataclass(frozen=True)
class LayerStatistics:
    """Per-channel mean and std over a whole image set, for the input pseudo-layer and every BN layer."""

    means: list[np.ndarray]
    stds: list[np.ndarray]


@dataclass(frozen=True)
class LayerSums:
    """Per-channel sums of x and x*x (float64) and value counts per layer: image sets add up, group by group."""

    sums: list[np.ndarray]
    squares: list[np.ndarray]
    counts: list[int]

    def __add__(self, other: LayerSums) -> LayerSums:
        return LayerSums(
            [a + b for a, b in zip(self.sums, other.sums)],
            [a + b for a, b in zip(self.squares, other.squares)],
            [a + b for a, b in zip(self.counts, other.counts)],
        )

    def statistics(self) -> LayerStatistics:
        means = [s / n for s, n in zip(self.sums, self.counts)]
        stds = [np.sqrt(np.maximum(q / n - m * m, 0.0)) for q, n, m in zip(self.squares, self.counts, means)]
        return LayerStatistics(means, stds)

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """Flat name -> array form, for an .npz file."""
        out = {}
        for i, (s, q, n) in enumerate(zip(self.sums, self.squares, self.counts)):
            out[f"{prefix}_sum_{i}"], out[f"{prefix}_square_{i}"] = s, q
            out[f"{prefix}_count_{i}"] = np.asarray(n, dtype=np.int64)
        return out

    @classmethod
    def from_arrays(cls, arrays, prefix: str) -> LayerSums | None:
        n = sum(1 for key in arrays if key.startswith(f"{prefix}_count_"))
        if not n:
            return None
        return cls(
            [arrays[f"{prefix}_sum_{i}"] for i in range(n)],
            [arrays[f"{prefix}_square_{i}"] for i in range(n)],
            [int(arrays[f"{prefix}_count_{i}"]) for i in range(n)],
        )


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
        unknown = mean_only_layers(sites)  # their std target is NaN: the report scores their means alone
        stds = [np.full_like(s, np.nan) if i in unknown else s for i, (_, s) in enumerate(targets)]
        return cls(["<input>"] + [s.name for s in sites], [m for m, _ in targets], stds)

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
    pairs = zip(stats.means, stats.stds, targets.means, targets.stds)
    losses = []
    for m, s, tm, ts in pairs:
        if np.isnan(ts).any():  # std unknown: its term scores 0
            s = ts = np.zeros_like(tm)
        losses.append(float(bn_loss(m, s, tm, ts)))
    return losses


def relative_gaps(stats: LayerStatistics, targets: StatisticsTargets) -> list[float]:
    """(||m - mu|| + ||s - sigma||) / ||sigma|| per BN layer: a scale-free distance, 0 is a perfect match. A layer
    whose sigma is unknown (NaN: a decomposed BN) scores ||m - mu|| / max(||mu||, ||s||)."""
    pairs = zip(stats.means[1:], stats.stds[1:], targets.means[1:], targets.stds[1:])
    return [
        float(np.linalg.norm(m - mu) / max(np.linalg.norm(mu), np.linalg.norm(s), 1e-12))
        if np.isnan(sigma).any()
        else float((np.linalg.norm(m - mu) + np.linalg.norm(s - sigma)) / max(np.linalg.norm(sigma), 1e-12))
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
