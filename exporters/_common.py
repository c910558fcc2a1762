"""Writing helpers shared by the exporter modules (arrays, per-sample folders, manifest entries, snippets)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from onnx_datagen.files import ValueRange, atomic_write, atomic_write_bytes, write_npy_chunks


def save_npy(path: Path, array: np.ndarray) -> None:
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # a file object: np.save would append ".npy" to the temporary name
            np.save(f, array, allow_pickle=False)

    atomic_write(path, write)


def save_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def stacked_model_input(dataset, path: Path) -> dict:
    """All images that fit the model's batch, stacked in the model's layout into one .npy; its manifest entry."""
    runs = dataset.feed_batches()
    n = len(runs) * runs.size
    shape = (n, *dataset.to_model_layout(dataset.images[:1]).shape[1:])
    chunks = (dataset.to_model_layout(chunk) for chunk in _first(dataset.chunks(runs.size), n))
    return model_input_entry(dataset, shape, n_files=1, value_range=write_npy_chunks(path, chunks, shape))


def _first(chunks: Iterable[np.ndarray], n: int) -> Iterator[np.ndarray]:
    """The chunks cut to their first n images in all."""
    for chunk in chunks:
        if n <= 0:
            return
        yield chunk[:n]
        n -= len(chunk)


def write_npy_samples(folder: Path, batches, sub: str = "samples") -> tuple[list[str], tuple[float, float] | None]:
    """One .npy per model run (batch dimension included), named 000000.npy, ... so sorting keeps the order;
    the file names and the value range over all of them."""
    files, seen = [], ValueRange()
    for i, batch in enumerate(batches):
        name = f"{sub}/{i:06d}.npy" if sub else f"{i:06d}.npy"
        save_npy(folder / name, np.ascontiguousarray(seen.see(batch)))
        files.append(name)
    return files, seen.bounds


def model_input_entry(
    dataset, file_shape: tuple[int, ...] | None, n_files: int, value_range, layout: str | None = None
) -> dict:
    """Manifest entry for float32 data in model-input space; file_shape is what each file holds."""
    n_images = (file_shape[0] * n_files) if file_shape else 0
    return {
        "input": dataset.input_name,
        "layout": layout or dataset.input_layout,
        "dtype": "float32",
        "file_shape": list(file_shape) if file_shape else None,
        "n_files": n_files,
        "n_images": int(n_images),
        "value_space": "model-input",
        "value_range": list(value_range) if value_range else None,
    }


def pixel_entry(dataset, file_shape: list[int], layout: str, dtype: str, model_order: bool = False) -> dict:
    """Manifest entry for de-normalised 8-bit pixels (RGB, or the model's channel order: model_order), with what
    the 8-bit conversion lost."""
    eight = dataset.eight_bit
    return {
        "input": dataset.input_name,
        "layout": layout,
        "dtype": dtype,
        "file_shape": file_shape,
        "n_images": len(dataset),
        "value_space": "pixels",
        "value_range": list(eight.pixel_range) if eight.pixel_range else None,
        "color": color(dataset, model_order),
        **pixel_normalization(dataset),
        **eight.summary(),
    }


def color(dataset, model_order: bool = False) -> str:
    """How the pixel files hold colour: RGB (image files), BGR (a BGR model's own order), or GRAY."""
    if dataset.images.shape[1] != 3:
        return "GRAY"
    return "BGR" if dataset.bgr and model_order else "RGB"


def pixel_normalization(dataset) -> dict:
    """mean/std on the 0-255 scale, in the model's channel order: what a toolchain that normalises raw pixels
    inside the model must be told."""
    factor = 255.0 / dataset.pixel_scale
    return {
        "mean_255": [round(m * factor, 6) for m in dataset.mean],
        "std_255": [round(s * factor, 6) for s in dataset.std],
        "model_channel_order": "BGR" if dataset.bgr else "RGB",
    }


def numbers(values) -> str:
    """[0.485, 0.456] written the way a user would type it."""
    return "[" + ", ".join(f"{v:g}" for v in values) + "]"
