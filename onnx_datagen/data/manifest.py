"""The manifest every finished dataset carries, whichever way it was made (optimised, rendered, sampled, merged)."""

from __future__ import annotations

import datetime

from onnx_datagen._version import __version__
from onnx_datagen.data.dataset import Dataset


def dataset_manifest(
    dataset: Dataset,
    *,
    model: dict,
    method: str,
    normalization: str,
    seed: int,
    made_by: dict,
    determinism: dict,
    timing: dict,
    statistics: dict | None = None,
    diversity: dict | None = None,
) -> dict:
    """What the images are (shape, value space, normalisation), how they were made (`made_by`: the job's config
    and engine, or the generator file), how reproducible they are, and how they score."""
    return {
        "tool": "onnx-datagen",
        "version": __version__,
        "status": "complete",
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "model": model,
        "method": method,
        "n_images": len(dataset),
        "shape": list(dataset.images.shape),
        "dtype": "float32",
        "value_space": "model-input",
        "normalization": {
            "name": normalization,
            "mean": list(dataset.mean),
            "std": list(dataset.std),
            "pixel_scale": dataset.pixel_scale,
            "channel_order": "bgr" if dataset.bgr else "rgb",
        },
        "seed": seed,
        **made_by,
        "determinism": determinism,
        "clipped_fraction_8bit": dataset.eight_bit.clipped_fraction,
        "statistics": statistics,
        "diversity": diversity,
        "timing": timing,
    }
