"""Image sets that are not generated: labelled real images (.npz or class folders) and random baselines.

Everything here produces float32 model input (N x C x H x W, normalised) so that `quantize` and
`evaluate` feed the model exactly what a datagen dataset holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from onnx_datagen.config.normalization import Normalization
from onnx_datagen.data.dataset import Dataset
from onnx_datagen.deps import require
from onnx_datagen.errors import UserError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}
RANDOM_SETS = ("gaussian", "uniform")


@dataclass
class LabelledImages:
    """uint8 N x H x W x C RGB pixels, with labels (int64, or None when the set has none)."""

    pixels: np.ndarray
    labels: np.ndarray | None
    class_names: list[str] | None = None

    def __len__(self) -> int:
        return len(self.pixels)

    def subset(self, start: int | None, stop: int | None) -> LabelledImages:
        labels = None if self.labels is None else self.labels[start:stop]
        return LabelledImages(self.pixels[start:stop], labels, self.class_names)

    def model_input(self, normalization: Normalization) -> np.ndarray:
        return Dataset.pixels_to_input(self.pixels, normalization)


def load_labelled(path: str | Path, size: tuple[int, int] | None = None, channels: int | None = None) -> LabelledImages:
    """An .npz with uint8 NHWC `images` (+ optional `labels`), or a folder with one subfolder per class.

    Folder images are read as RGB (grayscale for 1-channel models) and resized to `size` (H, W) when
    given (and `channels` is checked when given). Class labels: the folder names when all are numbers,
    otherwise their index in sorted order.
    .npz images must already have the model's size and channels.
    """
    path = Path(path)
    if path.is_dir():
        return _load_class_folders(path, size, channels)
    if path.suffix == ".npz" and path.is_file():
        return _load_npz(path, size, channels)
    raise UserError(f"{path} is neither an .npz file nor a folder of class subfolders; give one of those")


def _load_npz(path: Path, size: tuple[int, int] | None, channels: int | None) -> LabelledImages:
    with np.load(path, allow_pickle=False) as data:
        if "images" not in data:
            raise UserError(f"{path} has no 'images' array (it has: {', '.join(data.files)}); store uint8 NHWC images")
        pixels = data["images"]
        labels = data["labels"].astype(np.int64) if "labels" in data else None
        names = [str(n) for n in data["class_names"]] if "class_names" in data else None
    if pixels.dtype != np.uint8 or pixels.ndim != 4:
        raise UserError(
            f"{path}: 'images' must be uint8 N x H x W x C pixels, got {pixels.dtype} {tuple(pixels.shape)}"
        )
    if labels is not None and len(labels) != len(pixels):
        raise UserError(f"{path}: {len(labels)} labels for {len(pixels)} images")
    if size is not None and tuple(pixels.shape[1:3]) != tuple(size):
        raise UserError(
            f"{path}: images are {pixels.shape[1]}x{pixels.shape[2]} but the model takes {size[0]}x{size[1]}; "
            "resize them before saving the .npz"
        )
    if channels is not None and pixels.shape[3] != channels:
        raise UserError(f"{path}: images have {pixels.shape[3]} channels but the model takes {channels}")
    return LabelledImages(pixels, labels, names)


def _load_class_folders(root: Path, size: tuple[int, int] | None, channels: int | None) -> LabelledImages:

    cv2 = require("cv2")
    classes = [p.name for p in root.iterdir() if p.is_dir()]
    numeric = all(name.isdigit() for name in classes)
    classes.sort(key=int if numeric else None)
    if not classes:
        raise UserError(f"{root} has no class subfolders; put each class's images in a folder named after it")
    pixels, labels = [], []
    # Numeric folder names are the class indices themselves (so a class with no images shifts nothing);
    # other names are numbered in sorted order, as torchvision's ImageFolder does.
    for index, name in enumerate(classes):
        index = int(name) if numeric else index
        for file in sorted((root / name).iterdir()):
            if file.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            image = cv2.imread(str(file), cv2.IMREAD_GRAYSCALE if channels == 1 else cv2.IMREAD_COLOR)
            if image is None:
                raise UserError(f"cannot read image {file}; remove it or convert it to PNG/JPEG")
            if size is not None and image.shape[:2] != tuple(size):
                image = cv2.resize(image, (size[1], size[0]), interpolation=cv2.INTER_AREA)
            pixels.append(image[..., None] if channels == 1 else cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
            labels.append(index)
    if not pixels:
        raise UserError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in the class folders of {root}")
    shapes = {p.shape for p in pixels}
    if len(shapes) > 1:
        raise UserError(f"images in {root} have different sizes {sorted(shapes)}; pass a size to resize them to")
    return LabelledImages(np.stack(pixels), np.asarray(labels, dtype=np.int64), classes)


def random_images(
    kind: str, n: int, chw: tuple[int, int, int], normalization: Normalization, seed: int = 0
) -> np.ndarray:
    """What quantizers fall back to without data: N(0,1) in model-input space, or uniform 0-255 pixels."""
    rng = np.random.default_rng(seed)
    c, h, w = chw
    if kind == "gaussian":
        return rng.standard_normal((n, c, h, w), dtype=np.float32)
    if kind == "uniform":
        pixels = rng.integers(0, 256, size=(n, h, w, c), dtype=np.uint8)
        return LabelledImages(pixels, None).model_input(normalization)
    raise UserError(f"unknown random set {kind!r}; choose one of {', '.join(RANDOM_SETS)}")
