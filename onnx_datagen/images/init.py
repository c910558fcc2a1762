"""Initial canvases, in model-input (normalised) space, from a per-batch random generator."""

from __future__ import annotations

import numpy as np

from onnx_datagen.config.choices import DataInit
from onnx_datagen.config.generation import ResolvedConfig
from onnx_datagen.data.dataset import Dataset
from onnx_datagen.deps import require
from onnx_datagen.errors import ModelError
from onnx_datagen.images.fractal import fractal_pixels

INIT_STREAM = 0  # batch k's starting canvas comes from the random stream (seed, k, INIT_STREAM)
DIVERSE_BLUR = 5  # box-filter size of the diverse init
ZEROQ_VARIANCE = 5418.75  # the divisor in ZeroQ's utils/data_utils.py (the variance of U(-128, 127))


def gaussian(rng: np.random.Generator, shape: tuple[int, int, int, int]) -> np.ndarray:
    return rng.standard_normal(shape, dtype=np.float32)


def uniform(rng: np.random.Generator, shape: tuple[int, int, int, int]) -> np.ndarray:
    """Unit-variance uniform noise: ZeroQ's (randint(0, 256) - 127.5) / std, made continuous."""
    return rng.uniform(-np.sqrt(3.0), np.sqrt(3.0), shape).astype(np.float32)


def uniform_01(rng: np.random.Generator, shape: tuple[int, int, int, int]) -> np.ndarray:
    """U[0, 1) in model-input space, as DSG's torch.rand (its docstring says N(0, 1))."""
    return rng.random(shape, dtype=np.float32)


def zeroq_original(rng: np.random.Generator, shape: tuple[int, int, int, int]) -> np.ndarray:
    """ZeroQ's init exactly: (randint(0, 256) - 127.5) / 5418.75, which divides by the variance of U(-128, 127)
    instead of its standard deviation, so images start almost flat (within +-0.024)."""
    return ((rng.integers(0, 256, shape) - 127.5) / ZEROQ_VARIANCE).astype(np.float32)


def diverse(rng: np.random.Generator, shape: tuple[int, int, int, int]) -> np.ndarray:
    """Each image and channel gets its own random mean and std, then a per-channel 5x5 box blur.

    MCT's version blurs with a 3->3 channel kernel and padding 1, which mixes channels and
    shrinks the image by 2 px per side (quirk Q4); here each channel is blurred on its own, same size.
    """
    cv2 = require("cv2")
    n, c, _, _ = shape
    std = rng.standard_normal((n, c, 1, 1), dtype=np.float32)
    mean = rng.standard_normal((n, c, 1, 1), dtype=np.float32)
    images = std * rng.standard_normal(shape, dtype=np.float32) + mean
    for i in range(n):
        for j in range(c):
            images[i, j] = cv2.blur(images[i, j], (DIVERSE_BLUR, DIVERSE_BLUR), borderType=cv2.BORDER_REFLECT_101)
    return images


def fractal(seed: int, first_index: int, shape: tuple[int, int, int, int], normalization) -> np.ndarray:
    """Fractal images first_index.. (as --preset fractal renders them, at canvas size), normalised."""

    n, c, h, w = shape
    return Dataset.pixels_to_input(fractal_pixels(n, h, w, c, seed, start=first_index), normalization)


# Random inits; fractal is drawn by index, and the engine clamps the clamped Gaussian to the valid range.
INITS = {
    DataInit.GAUSSIAN: gaussian,
    DataInit.CLAMPED_GAUSSIAN: gaussian,
    DataInit.UNIFORM: uniform,
    DataInit.ZEROQ_ORIGINAL: zeroq_original,
    DataInit.UNIFORM_01: uniform_01,
    DataInit.DIVERSE: diverse,
}


class StartingCanvases:
    """Batch k's starting canvas, in model-input space: from --init-from's generator, the fractal images, or a
    random init drawn from (seed, k) (the clamped Gaussian clamped to the valid range)."""

    def __init__(self, config: ResolvedConfig, prepared, pipeline, label_cycle: list[int] | None) -> None:
        self.config, self.label_cycle = config, label_cycle
        self.image_shape = (prepared.image.channels, prepared.image.height, prepared.image.width)
        self.low, self.high = (np.asarray(v.cpu()) for v in (pipeline.low, pipeline.high))
        self.generator = None
        if config.init_from:
            from onnx_datagen.images.generator_file import GeneratorFile

            self.generator = GeneratorFile.load(config.init_from)

    def canvas(self, index: int, shape: tuple[int, int, int, int]) -> np.ndarray:
        c = self.config
        if self.generator is not None:
            canvas = self._generated(index * c.batch_size, shape)
        elif c.init is DataInit.FRACTAL:  # fractal i depends on (seed, i) alone, like --preset fractal's
            canvas = fractal(c.seed, index * c.batch_size, shape, c.normalization)
        else:
            canvas = INITS[c.init](np.random.default_rng([c.seed, index, INIT_STREAM]), shape)
        if c.init is DataInit.CLAMPED_GAUSSIAN:
            canvas = np.clip(canvas, self.low, self.high)
        return canvas

    def _generated(self, first: int, shape: tuple[int, ...]) -> np.ndarray:
        """--init-from: the generator's images first.. (its latents from (seed, i)), reflect-padded to the canvas."""
        images = self.generator.sample(self.config.seed, first, shape[0], self.label_cycle)
        if images.shape[1:] != self.image_shape:
            raise ModelError(
                f"--init-from {self.config.init_from} makes images of shape {list(images.shape[1:])}, but the model "
                f"takes {list(self.image_shape)}; use a generator made for this model (datagen train-generator)"
            )
        extra_h, extra_w = shape[2] - self.image_shape[1], shape[3] - self.image_shape[2]
        pad = ((0, 0), (0, 0), (extra_h // 2, extra_h - extra_h // 2), (extra_w // 2, extra_w - extra_w // 2))
        return np.pad(images, pad, mode="reflect")
