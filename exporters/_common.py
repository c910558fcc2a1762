"""Writing helpers shared by the exporter modules (arrays, per-sample folders, manifest entries, snippets)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from onnx_datagen.files import atomic_write, atomic_write_bytes


def save_npy(path: Path, array: np.ndarray) -> None:
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # a file object: np.save would append ".npy" to the temporary name
            np.save(f, array, allow_pickle=False)

    atomic_write(path, write)


def save_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def stacked_model_input(dataset) -> np.ndarray:
    """All images that fit the model's batch, stacked in the model's layout."""
    return np.concatenate(dataset.feed_batches())


def write_npy_samples(folder: Path, batches: list[np.ndarray], sub: str = "samples") -> list[str]:
    """One .npy per model run (batch dimension included), named 000000.npy, ... so sorting keeps the order."""
    files = []
    for i, batch in enumerate(batches):
        name = f"{sub}/{i:06d}.npy" if sub else f"{i:06d}.npy"
        save_npy(folder / name, np.ascontiguousarray(batch))
        files.append(name)
    return files


def model_input_entry(dataset, arrays: list[np.ndarray], layout: str | None = None) -> dict:
    """Manifest entry for float32 data in model-input space; `arrays` are what the files hold."""
    return {
        "input": dataset.input_name,
        "layout": layout or dataset.input_layout,
        "dtype": "float32",
        "file_shape": list(arrays[0].shape) if arrays else None,
        "n_files": len(arrays),
        "n_images": int(sum(len(a) for a in arrays)),
        "value_space": "model-input",
        "value_range": [min(float(a.min()) for a in arrays), max(float(a.max()) for a in arrays)] if arrays else None,
    }


def pixel_entry(dataset, file_shape: list[int], layout: str, dtype: str) -> dict:
    """Manifest entry for de-normalised 8-bit pixels, with what the 8-bit conversion lost."""
    eight = dataset.eight_bit
    return {
        "input": dataset.input_name,
        "layout": layout,
        "dtype": dtype,
        "file_shape": file_shape,
        "n_images": len(eight.pixels),
        "value_space": "pixels",
        "value_range": [int(eight.pixels.min()), int(eight.pixels.max())] if eight.pixels.size else None,
        "color": "RGB" if eight.pixels.shape[-1] == 3 else "GRAY",
        **pixel_normalization(dataset),
        **eight.summary(),
    }


def pixel_normalization(dataset) -> dict:
    """mean/std on the 0-255 scale: what a toolchain that normalises raw pixels must be told."""
    factor = 255.0 / dataset.pixel_scale
    return {
        "mean_255": [round(m * factor, 6) for m in dataset.mean],
        "std_255": [round(s * factor, 6) for s in dataset.std],
    }


def numbers(values) -> str:
    """[0.485, 0.456] written the way a user would type it."""
    return "[" + ", ".join(f"{v:g}" for v in values) + "]"
