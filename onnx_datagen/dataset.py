"""A generated dataset: images in model-input space plus everything needed to reproduce and use them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from onnx_datagen.errors import UserError
from onnx_datagen.files import MANIFEST, atomic_write_json, prepare_output_dir

if TYPE_CHECKING:
    from onnx_datagen.exporters import ExportResult


@dataclass(frozen=True)
class EightBitPixels:
    """The dataset as 8-bit pixels, and what the conversion lost (in model-input units)."""

    pixels: np.ndarray  # N x H x W x C uint8, RGB (or 1 channel)
    clipped_fraction: float  # values outside 0..255 before clipping
    round_trip_max_abs: float  # max |x - normalise(pixels)|: clipping and 8-bit rounding together
    round_trip_rms: float

    def summary(self) -> dict:
        return {
            "clipped_fraction": self.clipped_fraction,
            "round_trip_max_abs_error": self.round_trip_max_abs,
            "round_trip_rms_error": self.round_trip_rms,
        }


@dataclass
class Dataset:
    """N x C x H x W float32 images in model-input space, and the manifest describing them.

    `mean`/`std` are per channel on the 0..pixel_scale pixel scale: pixel = x * std + mean.
    Images are NCHW whatever the model's layout; `model_input()` gives them the way the model takes them.
    """

    images: np.ndarray
    mean: tuple[float, ...]
    std: tuple[float, ...]
    pixel_scale: float
    manifest: dict = field(default_factory=dict)
    directory: Path | None = None  # where the dataset is saved, once it is

    def __len__(self) -> int:
        return len(self.images)

    @property
    def input_name(self) -> str:
        return self.manifest.get("model", {}).get("input", "input")

    @property
    def input_layout(self) -> str:
        return self.manifest.get("model", {}).get("input_layout", "NCHW")

    @property
    def input_batch(self) -> int | None:
        """The model's fixed batch size, or None when its batch dimension is dynamic."""
        return self.manifest.get("model", {}).get("input_batch")

    def model_input(self) -> np.ndarray:
        """The images in the model's own layout (NHWC for TensorFlow exports), float32."""
        images = np.ascontiguousarray(self.images, dtype=np.float32)
        return np.ascontiguousarray(images.transpose(0, 2, 3, 1)) if self.input_layout == "NHWC" else images

    def feed_batches(self) -> list[np.ndarray]:
        """The model input cut into runs the model accepts: its fixed batch size, else one image each.

        With a fixed batch B, images beyond the last multiple of B cannot be fed and are left out.
        """
        size = self.input_batch or 1
        if len(self) < size:
            raise UserError(
                f"the model's batch is fixed at {size} but the dataset has {len(self)} images; generate at least {size}"
            )
        images = self.model_input()
        return [images[i : i + size] for i in range(0, len(images) - size + 1, size)]

    @cached_property
    def eight_bit(self) -> EightBitPixels:
        """De-normalised, rounded and clipped to 8 bits (computed once; the images must not change after)."""
        mean = np.asarray(self.mean, dtype=np.float64).reshape(1, -1, 1, 1)
        std = np.asarray(self.std, dtype=np.float64).reshape(1, -1, 1, 1)
        rounded = np.rint((self.images.astype(np.float64) * std + mean) * (255.0 / self.pixel_scale))
        clipped = float(np.mean((rounded < 0) | (rounded > 255))) if rounded.size else 0.0
        pixels = np.clip(rounded, 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)
        error = self.from_pixels(pixels, self.mean, self.std, self.pixel_scale) - self.images
        max_abs = float(np.abs(error).max()) if error.size else 0.0
        rms = float(np.sqrt(np.mean(np.square(error, dtype=np.float64)))) if error.size else 0.0
        return EightBitPixels(pixels, clipped, max_abs, rms)

    @staticmethod
    def from_pixels(pixels: np.ndarray, mean, std, pixel_scale: float) -> np.ndarray:
        """Inverse of eight_bit: N x H x W x C pixels -> N x C x H x W float32 model input."""
        mean = np.asarray(mean, dtype=np.float64).reshape(1, -1, 1, 1)
        std = np.asarray(std, dtype=np.float64).reshape(1, -1, 1, 1)
        x = pixels.transpose(0, 3, 1, 2).astype(np.float64) * (pixel_scale / 255.0)
        return ((x - mean) / std).astype(np.float32)

    def save(self, out_dir: str | Path, formats: list[str], layout: str | None = None, overwrite: bool = False) -> Path:
        """Write the dataset in each format, then manifest.json (last: its presence means complete)."""
        from onnx_datagen.exporters import check_formats, parse_formats

        formats = parse_formats(formats)
        check_formats(formats, self.images.shape[1], layout)
        out = prepare_output_dir(out_dir, overwrite)
        self.write(out, formats, layout)
        return out

    def write(self, out: Path, formats: list[str], layout: str | None = None) -> None:
        """Write the formats into `out`, this dataset's own folder (new, or holding its unfinished run), then
        manifest.json. Files of an interrupted earlier write are replaced."""
        from onnx_datagen.exporters import run_exporter

        self.manifest["files"], self.manifest["formats"] = {}, {}
        for name in formats:
            self._record(run_exporter(name, self, out, layout, overwrite=True, previous=[], dataset_root=True))
        atomic_write_json(out / MANIFEST, self.manifest)
        self.directory = out

    def export(
        self, names: list[str], output: str | Path | None = None, layout: str | None = None, overwrite: bool = False
    ) -> list[ExportResult]:
        """Write more formats of a saved dataset: into its own folder (recorded in its manifest) or under `output`."""
        from onnx_datagen.exporters import check_formats, parse_formats, run_exporter

        names = parse_formats(names, option="export")
        check_formats(names, self.images.shape[1], layout)
        if output is None and self.directory is None:
            raise UserError("this dataset is not saved yet; give an output folder for the export")
        root = Path(output) if output is not None else self.directory
        inside = self.directory is not None and root.resolve() == self.directory.resolve()
        results = []
        for name in names:
            previous = self.manifest.get("files", {}).get(name) if inside else None
            if previous is not None and overwrite:
                # Forget the old export first: if this one fails halfway, no record points at its files.
                self.manifest["files"].pop(name)
                self.manifest.get("formats", {}).pop(name, None)
                atomic_write_json(root / MANIFEST, self.manifest)
            result = run_exporter(name, self, root, layout, overwrite, previous=previous, dataset_root=inside)
            if inside:
                self._record(result)
                atomic_write_json(root / MANIFEST, self.manifest)
            results.append(result)
        return results

    def _record(self, result) -> None:
        self.manifest.setdefault("files", {})[result.name] = result.files
        self.manifest.setdefault("formats", {})[result.name] = result.entry

    @classmethod
    def load(cls, directory: str | Path) -> Dataset:
        """Read a dataset written by save(): from its NPY file, or its PNGs when that is all there is."""
        directory = Path(directory)
        manifest_path = directory / MANIFEST
        if not manifest_path.is_file():
            raise UserError(
                f"{directory} holds no {MANIFEST}, so it is not a complete datagen dataset; "
                "give the folder `datagen generate -o` wrote"
            )
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except ValueError as err:
            raise UserError(f"{manifest_path} is not a datagen manifest ({err}); regenerate the dataset") from err
        status = manifest.get("status", "complete")
        if status == "running":
            raise UserError(f"{directory} holds an unfinished run; rerun its datagen command with --resume")
        if status == "shard":
            raise UserError(f"{directory} is one shard of a dataset; join the shards with `datagen merge`")
        if "normalization" not in manifest:
            raise UserError(f"{manifest_path} is not a datagen manifest (no normalization); regenerate the dataset")
        norm = manifest["normalization"]
        files = manifest.get("files", {})
        if files.get("npy"):
            images = np.load(directory / files["npy"][0])
        elif files.get("png"):
            from onnx_datagen.exporters.png import read_pngs

            pngs = [directory / f for f in files["png"] if f.endswith(".png")]
            images = cls.from_pixels(read_pngs(pngs), norm["mean"], norm["std"], norm["pixel_scale"])
        else:
            raise UserError(
                f"{manifest_path} lists no npy or png files, the only formats datagen reads back; "
                "regenerate with --format npy"
            )
        return cls(images, tuple(norm["mean"]), tuple(norm["std"]), float(norm["pixel_scale"]), manifest, directory)
