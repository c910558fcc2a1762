"""Repeats that interleave the variants, and the mean +- half-spread the tables print."""

from __future__ import annotations

import statistics


def interleaved(variants: dict, repeats: int, measure) -> dict[str, list]:
    """name -> `measure(*variant)` of each repeat; the repeats interleave the variants, so drift on a shared
    machine hits every variant alike."""
    rows = {name: [] for name in variants}
    for _ in range(repeats):
        for name, variant in variants.items():
            rows[name].append(measure(*variant))
            print(name, rows[name][-1], flush=True)
    return rows


def mean_spread(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{statistics.mean(values):.1f} ±{(max(values) - min(values)) / 2:.1f}"
