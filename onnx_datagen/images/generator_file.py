"""Image generators saved as ONNX files: latent codes (and class labels) in, model-input images out, run with ONNX
Runtime.

`datagen train-generator` writes one; `datagen sample` and `--init-from` read any file with this contract:
a float input [N, D] of latent codes, optionally an integer input [N] of class labels, and a first output
[N, C, H, W] in the target model's input space. Image i's latent code derives from (seed, i) alone, so a
sample of any size, or any slice of one, gives the same images.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from onnx_datagen.config.normalization import Normalization, normalization_from_dict
from onnx_datagen.config.parsing import check_n_images, parse_labels
from onnx_datagen.data.dataset import Dataset
from onnx_datagen.data.manifest import dataset_manifest
from onnx_datagen.errors import ConfigError, ModelError
from onnx_datagen.files import write_npy_chunks
from onnx_datagen.graph.image_input import tensor_dims
from onnx_datagen.graph.load import file_sha256, load_model
from onnx_datagen.runtime import inference_session

SAMPLE_CHUNK = 256  # images per ONNX Runtime call
SAMPLE_STREAM = 3  # image i's latent code comes from the random stream (seed, SAMPLE_STREAM, i)
META_PREFIX = "datagen."  # metadata_props keys written by train-generator


def latent_codes(seed: int, start: int, count: int, dim: int) -> np.ndarray:
    return np.stack(
        [
            np.random.default_rng([seed, SAMPLE_STREAM, i]).standard_normal(dim, dtype=np.float32)
            for i in range(start, start + count)
        ]
    )


def cycled_labels(cycle: list[int], start: int, count: int) -> np.ndarray:
    """cycle[i mod len(cycle)] for images start..start+count-1 (as the optimiser's class targets)."""
    return np.asarray([cycle[i % len(cycle)] for i in range(start, start + count)], dtype=np.int64)


@dataclass
class GeneratorFile:
    path: str
    session: object
    latents: str
    latent_dim: int
    labels: str | None
    metadata: dict

    @classmethod
    def load(cls, path: str | Path) -> GeneratorFile:
        model = load_model(path)
        import onnx

        latents = labels = None
        for value in model.graph.input:
            dims = tensor_dims(value)
            elem = value.type.tensor_type.elem_type
            if elem == onnx.TensorProto.FLOAT and dims is not None and len(dims) == 2 and isinstance(dims[1], int):
                latents = latents or (value.name, dims[1])
            elif elem in (onnx.TensorProto.INT64, onnx.TensorProto.INT32) and dims is not None and len(dims) == 1:
                labels = labels or value.name
        if latents is None:
            raise ModelError(
                f"{path}: an image generator needs a float input [N, D] of latent codes (D fixed); "
                "export it with that input, e.g. with `datagen train-generator`"
            )
        metadata = {
            p.key[len(META_PREFIX) :]: json.loads(p.value)
            for p in model.metadata_props
            if p.key.startswith(META_PREFIX)
        }
        return cls(str(path), inference_session(model), latents[0], latents[1], labels, metadata)

    @property
    def classes(self) -> int | None:
        return self.metadata.get("classes")

    def sample(self, seed: int, start: int, count: int, label_cycle: list[int] | None = None) -> np.ndarray:
        """Images start..start+count-1 of this seed: latent codes from (seed, i) and labels cycled (default: the
        classes the generator was trained on, else all of them in turn)."""
        feeds = {self.latents: latent_codes(seed, start, count, self.latent_dim)}
        if self.labels is not None:
            cycle = label_cycle or self.metadata.get("label_cycle") or list(range(self.classes or 1))
            feeds[self.labels] = cycled_labels(cycle, start, count)
        try:
            images = self.session.run(None, feeds)[0]
        except Exception as err:
            raise ModelError(f"{self.path}: the generator failed to run: {str(err).strip().splitlines()[0]}") from err
        if images.ndim != 4 or images.shape[0] != count:
            raise ModelError(f"{self.path}: a generator's first output must be images [N, C, H, W], got {images.shape}")
        return images.astype(np.float32, copy=False)


def sample(
    generator: str | Path,
    n_images: int = 1024,
    *,
    seed: int = 0,
    labels: str | None = None,
    normalization: Normalization | None = None,
    images_file: Path | None = None,
) -> Dataset:
    """`n_images` images from an ONNX generator (see the module docstring), as a Dataset ready to save.

    labels: 'balanced' or classes/ranges as for generate (default: what the generator was trained on).
    normalization: the target model's (default: the one train-generator stored in the file).
    images_file: stream the images into this .npy and memory-map it, rather than hold them in memory.
    """
    check_n_images(n_images)
    source = GeneratorFile.load(generator)
    cycle = list(parse_labels(labels) or range(source.classes or 1)) if labels else None
    if normalization is None:
        stored = source.metadata.get("normalization")
        if stored is None:
            raise ConfigError(
                f"{generator} does not say which input normalisation its images use (it was not written by "
                "datagen train-generator); give --normalization or --mean/--std"
            )
        normalization = normalization_from_dict(stored)
    started = time.perf_counter()
    chunks = (source.sample(seed, s, min(SAMPLE_CHUNK, n_images - s), cycle) for s in range(0, n_images, SAMPLE_CHUNK))
    first = next(chunks)
    if images_file is None:
        images = np.concatenate([first, *chunks])
    else:
        write_npy_chunks(images_file, itertools.chain([first], chunks), (n_images, *first.shape[1:]))
        images = np.load(images_file, mmap_mode="r")
    seconds = time.perf_counter() - started
    dataset = Dataset.normalised(images, normalization, images_file)
    used_cycle = cycle or source.metadata.get("label_cycle") or list(range(source.classes or 1))
    dataset.manifest = dataset_manifest(
        dataset,
        model=source.metadata.get("model", {}),
        method="generator-sample",
        normalization=normalization.name,
        seed=seed,
        made_by={
            "generator": {"path": str(generator), "sha256": file_sha256(generator), "latent_dim": source.latent_dim}
        },
        determinism={"byte_identical": True, "scope": "image i depends on (generator file, seed, i) alone"},
        timing={"sample_seconds": round(seconds, 3)},
    )
    if source.labels is not None:
        dataset.manifest["labels"] = cycled_labels(used_cycle, 0, n_images).tolist()
    return dataset
