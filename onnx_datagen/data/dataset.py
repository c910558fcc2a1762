"""A generated dataset: images in model-input space plus everything needed to reproduce and use them."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from onnx_datagen.config.choices import CalibrateFor, ChannelOrder
from onnx_datagen.config.normalization import Normalization
from onnx_datagen.data.preview import write_preview
from onnx_datagen.errors import UserError
from onnx_datagen.exporters import check_formats, disk_bytes, parse_formats, run_exporter
from onnx_datagen.exporters.png import read_pngs
from onnx_datagen.files import MANIFEST, atomic_write_json, prepare_output_dir, require_free_space

if TYPE_CHECKING:
    from onnx_datagen.exporters import ExportResult


# Formats are written in chunks of about this many bytes of float32 images, so memory stays flat whatever -n is.
# Small, because the 8-bit conversion's float64 temporaries take about ten times a chunk's bytes at their peak.
CHUNK_BYTES = 8 << 20


@dataclass(frozen=True)
class EightBitSummary:
    """What converting the dataset to 8-bit pixels loses (in model-input units), and the pixels' range."""

    clipped_fraction: float  # values outside 0..255 before clipping
    round_trip_max_abs: float  # max |x - normalise(pixels)|: clipping and 8-bit rounding together
    round_trip_rms: float
    pixel_range: tuple[int, int] | None  # None for an empty dataset

    def summary(self) -> dict:
        return {
            "clipped_fraction": self.clipped_fraction,
            "round_trip_max_abs_error": self.round_trip_max_abs,
            "round_trip_rms_error": self.round_trip_rms,
        }


class FeedBatches(Sequence):
    """The model inputs of a dataset, one run of the model each, converted only when read."""

    def __init__(self, dataset: Dataset, size: int) -> None:
        self.dataset, self.size = dataset, size

    def __len__(self) -> int:
        return len(self.dataset) // self.size

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        start = (index % len(self)) * self.size
        return self.dataset.to_model_layout(self.dataset.images[start : start + self.size])


@dataclass
class Dataset:
    """N x C x H x W float32 images in model-input space, and the manifest describing them.

    `mean`/`std` are per channel on the 0..pixel_scale pixel scale: pixel = x * std + mean, in the model's channel
    order; a BGR model's pixels are turned to RGB when they become image files (pixel_chunks) and back when read.
    Images are NCHW whatever the model's layout; `model_input()` gives them the way the model takes them.
    `images` may be a read-only memory map of `images_file`, an .npy holding exactly these images: the
    formats then stream from that file in chunks (chunks()), so a dataset larger than RAM can be written.
    """

    images: np.ndarray
    mean: tuple[float, ...]
    std: tuple[float, ...]
    pixel_scale: float
    manifest: dict = field(default_factory=dict)
    directory: Path | None = None  # where the dataset is saved, once it is
    images_file: Path | None = None
    bgr: bool = False  # the model takes its colour channels in BGR order

    def __len__(self) -> int:
        return len(self.images)

    @classmethod
    def normalised(cls, images: np.ndarray, normalization: Normalization, images_file: Path | None = None) -> Dataset:
        """Model-input images described by `normalization` (its mean/std broadcast to their channels)."""
        mean, std = normalization.per_channel(images.shape[1])
        bgr = normalization.channel_order is ChannelOrder.BGR
        return cls(images, mean, std, normalization.pixel_scale, images_file=images_file, bgr=bgr)

    @staticmethod
    def pixels_to_input(pixels: np.ndarray, normalization: Normalization) -> np.ndarray:
        """N x H x W x C pixels (RGB) -> N x C x H x W float32 model input, as `normalization` describes it."""
        mean, std = normalization.per_channel(pixels.shape[-1])
        bgr = normalization.channel_order is ChannelOrder.BGR
        return Dataset.from_pixels(pixels, mean, std, normalization.pixel_scale, bgr)

    @property
    def input_name(self) -> str:
        return self.manifest.get("model", {}).get("input", "input")

    @property
    def input_layout(self) -> str:
        return self.manifest.get("model", {}).get("input_layout", "NCHW")

    @property
    def made_for(self) -> CalibrateFor | None:
        """The activation precision the set was generated for (--for), when its manifest says."""
        made_for = self.manifest.get("config", {}).get("calibrate_for")
        return CalibrateFor(made_for) if made_for else None

    @property
    def input_batch(self) -> int | None:
        """The model's fixed batch size, or None when its batch dimension is dynamic."""
        return self.manifest.get("model", {}).get("input_batch")

    def to_model_layout(self, images: np.ndarray) -> np.ndarray:
        """NCHW images in the model's own layout (NHWC for TensorFlow exports), float32, contiguous."""
        images = np.asarray(images, dtype=np.float32)
        return np.ascontiguousarray(images.transpose(0, 2, 3, 1) if self.input_layout == "NHWC" else images)

    def model_input(self) -> np.ndarray:
        """All images in the model's own layout, in memory (chunks() streams them instead)."""
        return self.to_model_layout(self.images)

    def chunks(self, multiple: int = 1) -> Iterator[np.ndarray]:
        """The images in order, NCHW float32, in chunks of about CHUNK_BYTES (a multiple of `multiple` images).

        From `images_file` they are read with plain file reads, not through the memory map, so the pages
        do not stay mapped into this process while a large dataset is written.
        """
        per_image = max(1, int(np.prod(self.images.shape[1:])) * 4)
        rows = max(multiple, CHUNK_BYTES // per_image // multiple * multiple)
        if self.images_file is None:
            for start in range(0, len(self), rows):
                yield np.asarray(self.images[start : start + rows], dtype=np.float32)
            return
        with open(self.images_file, "rb") as f:
            fmt = np.lib.format
            read_header = fmt.read_array_header_1_0 if fmt.read_magic(f) == (1, 0) else fmt.read_array_header_2_0
            shape, fortran, dtype = read_header(f)
            if shape != self.images.shape or fortran or dtype != np.float32:
                raise ValueError(f"{self.images_file} does not hold this dataset's images")
            for start in range(0, len(self), rows):
                count = min(rows, len(self) - start)
                yield np.fromfile(f, dtype=np.float32, count=count * per_image // 4).reshape(count, *shape[1:])

    def feed_batches(self) -> FeedBatches:
        """The model input cut into runs the model accepts: its fixed batch size, else one image each.

        With a fixed batch B, images beyond the last multiple of B cannot be fed and are left out.
        Each run is converted when it is read, so iterating holds one run at a time.
        """
        size = self.input_batch or 1
        if len(self) < size:
            raise UserError(
                f"the model's batch is fixed at {size} but the dataset has {len(self)} images; generate at least {size}"
            )
        return FeedBatches(self, size)

    def pixel_chunks(self, model_order: bool = False) -> Iterator[np.ndarray]:
        """The images de-normalised, rounded and clipped to 8 bits, in chunks: N x H x W x C uint8, RGB or gray
        (model_order: in the model's channel order, BGR for a BGR model, as toolchains that feed them raw take them)."""
        for chunk in self.chunks():
            pixels = self._rounded_pixels(chunk)[0]
            yield pixels[..., ::-1] if self.bgr and not model_order else pixels

    def _rounded_pixels(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(clipped uint8 NHWC pixels in the model's channel order, the unclipped rounded values NCHW as float64)."""
        mean = np.asarray(self.mean, dtype=np.float64).reshape(1, -1, 1, 1)
        std = np.asarray(self.std, dtype=np.float64).reshape(1, -1, 1, 1)
        rounded = np.rint((images.astype(np.float64) * std + mean) * (255.0 / self.pixel_scale))
        return np.clip(rounded, 0, 255).astype(np.uint8).transpose(0, 2, 3, 1), rounded

    @cached_property
    def eight_bit(self) -> EightBitSummary:
        """What the 8-bit conversion loses, computed once over all chunks (the images must not change after)."""
        clipped = values = 0
        max_abs, square_sum, low, high = 0.0, 0.0, 255, 0
        for chunk in self.chunks():
            pixels, rounded = self._rounded_pixels(chunk)
            clipped += int(np.count_nonzero((rounded < 0) | (rounded > 255)))
            values += rounded.size
            error = self.from_pixels(pixels, self.mean, self.std, self.pixel_scale) - chunk
            max_abs = max(max_abs, float(np.abs(error).max()))
            square_sum += float(np.sum(np.square(error, dtype=np.float64)))
            low, high = min(low, int(pixels.min())), max(high, int(pixels.max()))
        if not values:
            return EightBitSummary(0.0, 0.0, 0.0, None)
        return EightBitSummary(clipped / values, max_abs, float(np.sqrt(square_sum / values)), (low, high))

    @staticmethod
    def from_pixels(pixels: np.ndarray, mean, std, pixel_scale: float, bgr: bool = False) -> np.ndarray:
        """Inverse of the 8-bit conversion: N x H x W x C pixels (RGB: image files' order) -> N x C x H x W float32
        model input, its channels reversed for a BGR model."""
        mean = np.asarray(mean, dtype=np.float64).reshape(1, -1, 1, 1)
        std = np.asarray(std, dtype=np.float64).reshape(1, -1, 1, 1)
        pixels = pixels[..., ::-1] if bgr else pixels
        x = pixels.transpose(0, 3, 1, 2).astype(np.float64) * (pixel_scale / 255.0)
        return ((x - mean) / std).astype(np.float32)

    def save(self, out_dir: str | Path, formats: list[str], layout: str | None = None, overwrite: bool = False) -> Path:
        """Write the dataset in each format, then manifest.json (last: its presence means complete)."""

        formats = parse_formats(formats)
        check_formats(formats, self.images.shape[1], layout)
        out = prepare_output_dir(out_dir, overwrite)
        self.write(out, formats, layout)
        return out

    def write(self, out: Path, formats: list[str], layout: str | None = None) -> None:
        """Write the formats into `out`, this dataset's own folder (new, or holding its unfinished run), then
        preview.png and manifest.json. Files of an interrupted earlier write are replaced."""

        self.require_space(out, formats)
        self.manifest["files"], self.manifest["formats"] = {}, {}
        for name in formats:
            self._record(run_exporter(name, self, out, layout, overwrite=True, previous=[], dataset_root=True))
        self.manifest["preview"] = write_preview(self, out)
        atomic_write_json(out / MANIFEST, self.manifest)
        self.directory = out
        # From now on chunks() reads the dataset's own file (or the memory map), not the one it was written from,
        # which the caller may delete.
        npy = self.manifest["files"].get("npy")
        self.images_file = out / npy[0] if npy else None

    def export(
        self, names: list[str], output: str | Path | None = None, layout: str | None = None, overwrite: bool = False
    ) -> list[ExportResult]:
        """Write more formats of a saved dataset: into its own folder (recorded in its manifest) or under `output`."""

        names = parse_formats(names, option="export")
        check_formats(names, self.images.shape[1], layout)
        if output is None and self.directory is None:
            raise UserError("this dataset is not saved yet; give an output folder for the export")
        root = Path(output) if output is not None else self.directory
        inside = self.directory is not None and root.resolve() == self.directory.resolve()
        self.require_space(root, names)
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

    def require_space(self, root: Path, formats: list[str]) -> None:
        """Refuse to start writing formats that cannot fit on the disk."""

        chw = tuple(self.images.shape[1:])
        needed = disk_bytes(formats, len(self), chw)
        require_free_space(root, needed, f"{len(self)} images of {'x'.join(map(str, chw))}")

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
        bgr = norm.get("channel_order") == ChannelOrder.BGR.value  # absent in manifests written before it existed
        files = manifest.get("files", {})
        images_file = None
        if files.get("npy"):
            images_file = directory / files["npy"][0]
            images = np.load(images_file, mmap_mode="r")  # read on demand: the set may not fit in memory
        elif files.get("png"):
            pngs = [directory / f for f in files["png"] if f.endswith(".png")]
            images = cls.from_pixels(read_pngs(pngs), norm["mean"], norm["std"], norm["pixel_scale"], bgr)
        else:
            raise UserError(
                f"{manifest_path} lists no npy or png files, the only formats datagen reads back; "
                "regenerate with --format npy"
            )
        mean, std, scale = tuple(norm["mean"]), tuple(norm["std"]), float(norm["pixel_scale"])
        return cls(images, mean, std, scale, manifest, directory, images_file, bgr)
