"""A generated dataset: images in model-input space plus everything needed to reproduce and use them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from onnx_datagen.errors import UserError
from onnx_datagen.files import MANIFEST, atomic_write_json, prepare_output_dir


@dataclass
class Dataset:
    """N x C x H x W float32 images in model-input space, and the manifest describing them.

    `mean`/`std` are per channel on the 0..pixel_scale pixel scale: pixel = x * std + mean.
    """

    images: np.ndarray
    mean: tuple[float, ...]
    std: tuple[float, ...]
    pixel_scale: float
    manifest: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.images)

    def to_pixels(self) -> tuple[np.ndarray, float]:
        """8-bit N x H x W x C pixels, and the fraction of values that fell outside 0..255 and were clipped."""
        mean = np.asarray(self.mean, dtype=np.float64).reshape(1, -1, 1, 1)
        std = np.asarray(self.std, dtype=np.float64).reshape(1, -1, 1, 1)
        pixels = (self.images.astype(np.float64) * std + mean) * (255.0 / self.pixel_scale)
        rounded = np.rint(pixels)
        clipped = float(np.mean((rounded < 0) | (rounded > 255))) if pixels.size else 0.0
        return np.clip(rounded, 0, 255).astype(np.uint8).transpose(0, 2, 3, 1), clipped

    @staticmethod
    def from_pixels(pixels: np.ndarray, mean, std, pixel_scale: float) -> np.ndarray:
        """Inverse of to_pixels: N x H x W x C uint8 -> N x C x H x W float32 model input."""
        mean = np.asarray(mean, dtype=np.float64).reshape(1, -1, 1, 1)
        std = np.asarray(std, dtype=np.float64).reshape(1, -1, 1, 1)
        x = pixels.transpose(0, 3, 1, 2).astype(np.float64) * (pixel_scale / 255.0)
        return ((x - mean) / std).astype(np.float32)

    def save(self, out_dir: str | Path, formats: list[str], overwrite: bool = False) -> Path:
        """Write the dataset in each format, then manifest.json (last: its presence means complete)."""
        from onnx_datagen.exporters import run_exporter

        out = prepare_output_dir(out_dir, overwrite)
        files: dict[str, list[str]] = {}
        entries: dict[str, dict] = {}
        for name in formats:
            result = run_exporter(name, self, out)
            files[name] = result.files
            entries[name] = result.entry
        self.manifest["files"] = files
        self.manifest["formats"] = entries
        atomic_write_json(out / MANIFEST, self.manifest)
        return out

    @classmethod
    def load(cls, directory: str | Path) -> Dataset:
        """Read a dataset written by save(): from its NPY file, or its PNGs when that is all there is."""
        directory = Path(directory)
        manifest_path = directory / MANIFEST
        if not manifest_path.is_file():
            raise UserError(f"{directory} holds no {MANIFEST}; it is not a complete datagen dataset")
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        norm = manifest["normalization"]
        files = manifest.get("files", {})
        if files.get("npy"):
            images = np.load(directory / files["npy"][0])
        elif files.get("png"):
            from onnx_datagen.exporters.png import read_pngs

            images = cls.from_pixels(
                read_pngs([directory / f for f in files["png"]]), norm["mean"], norm["std"], norm["pixel_scale"]
            )
        else:
            raise UserError(f"{manifest_path} lists no npy or png files")
        return cls(images, tuple(norm["mean"]), tuple(norm["std"]), float(norm["pixel_scale"]), manifest)
