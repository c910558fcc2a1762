"""Post-training static quantization with ONNX Runtime, calibrated with a datagen dataset or a baseline set.

The recipe (the one the CIFAR benchmarks in benchmarks/results/RESULTS.md use): quant_pre_process (shape inference,
BN folding), opset 21 when 4- or 16-bit types are asked for, then quantize_static in QDQ format with per-channel
symmetric weights and asymmetric activations.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from dataclasses import asdict, dataclass
from enum import Enum
from pathlib import Path
from typing import NamedTuple

import numpy as np
import onnx

from onnx_datagen.config.choices import CalibrateFor
from onnx_datagen.config.normalization import Normalization
from onnx_datagen.data.dataset import Dataset
from onnx_datagen.data.image_sets import RANDOM_SETS, load_labelled, random_images
from onnx_datagen.deps import require
from onnx_datagen.errors import ConfigError, ModelError, UserError
from onnx_datagen.files import MANIFEST, atomic_write
from onnx_datagen.graph.image_input import ImageInput, find_image_input
from onnx_datagen.graph.load import convert_opset, load_model, opset_version


class CalibMethod(str, Enum):
    MINMAX = "minmax"
    ENTROPY = "entropy"
    PERCENTILE = "percentile"


# our name -> onnxruntime.quantization.QuantType member
QUANT_TYPES = {
    "int8": "QInt8",
    "uint8": "QUInt8",
    "int16": "QInt16",
    "uint16": "QUInt16",
    "int4": "QInt4",
    "uint4": "QUInt4",
}
WEIGHT_TYPES = ("int8", "uint8", "int4", "uint4")
ACTIVATION_TYPES = ("uint8", "int8", "uint16", "int16", "uint4", "int4")
QDQ_MIN_OPSET = 13  # per-channel QuantizeLinear/DequantizeLinear
NARROW_WIDE_MIN_OPSET = 21  # 4- and 16-bit Q/DQ


@dataclass(frozen=True)
class QuantSettings:
    """How to quantize. Defaults: W8 (int8, per-channel symmetric) / A8 (uint8, per-tensor asymmetric), MinMax."""

    weight_type: str = "int8"
    activation_type: str = "uint8"
    method: CalibMethod = CalibMethod.MINMAX
    percentile: float = 99.999
    per_channel: bool = True
    n_samples: int | None = None  # None: every image of the calibration set
    batch_size: int = 32  # models with a fixed batch dimension use theirs
    chunk_batches: int | None = None  # calibrate this many batches at a time (memory); None: all at once

    def __post_init__(self) -> None:
        object.__setattr__(self, "method", CalibMethod(self.method))
        if self.weight_type not in WEIGHT_TYPES:
            raise ConfigError(f"weight type {self.weight_type!r} is not one of {', '.join(WEIGHT_TYPES)}")
        if self.activation_type not in ACTIVATION_TYPES:
            raise ConfigError(f"activation type {self.activation_type!r} is not one of {', '.join(ACTIVATION_TYPES)}")
        if not 0 < self.percentile <= 100:
            raise ConfigError(f"percentile must be in (0, 100], got {self.percentile}")
        if self.n_samples is not None and self.n_samples <= 0:
            raise ConfigError(f"the number of calibration samples must be positive, got {self.n_samples}")
        if self.batch_size <= 0 or (self.chunk_batches is not None and self.chunk_batches <= 0):
            raise ConfigError("batch size and chunk size must be positive")

    @property
    def min_opset(self) -> int:
        widths = {self.weight_type, self.activation_type}
        return NARROW_WIDE_MIN_OPSET if widths - {"int8", "uint8"} else QDQ_MIN_OPSET

    @property
    def activation_bits(self) -> int:
        return _bits(self.activation_type)

    @property
    def label(self) -> str:
        method = self.method.value + (f" {self.percentile:g}" if self.method is CalibMethod.PERCENTILE else "")
        return f"W{_bits(self.weight_type)}A{self.activation_bits} {method}"


def _bits(quant_type: str) -> int:
    """The width of a type name such as 'uint4' or 'int16'."""
    return int("".join(c for c in quant_type if c.isdigit()))


class ImageBatchReader:
    """ORT CalibrationDataReader over an in-memory image array, in batches.

    `__len__` and `set_range` (in batches) let quantize_static calibrate a large set in chunks
    (its CalibStridedMinMax option) instead of holding every intermediate tensor of every image at once.
    """

    def __init__(self, input_name: str, images: np.ndarray, batch_size: int) -> None:
        self.input_name = input_name
        self.batches = [images[i : i + batch_size] for i in range(0, len(images), batch_size)]
        self.set_range(0, len(self.batches))

    def __len__(self) -> int:
        return len(self.batches)

    def set_range(self, start_index: int, end_index: int) -> None:
        self._next, self._end = start_index, min(end_index, len(self.batches))

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self._next >= self._end:
            return None
        batch = self.batches[self._next]
        self._next += 1
        return {self.input_name: batch}

    def rewind(self) -> None:
        self.set_range(0, len(self.batches))

    def __iter__(self):  # as onnxruntime's CalibrationDataReader base class, for tools that iterate
        return self

    def __next__(self) -> dict[str, np.ndarray]:
        feed = self.get_next()
        if feed is None:
            raise StopIteration
        return feed


@dataclass
class QuantizationResult:
    output: Path
    settings: QuantSettings
    n_calibration_images: int
    calibration: str
    needs_basic_optimization: bool  # 4-bit activations: run with ORT_ENABLE_BASIC (runtime.inference_session does)
    precision_warning: str | None = None  # a datagen set made for another activation precision


class CalibrationSet(NamedTuple):
    images: np.ndarray  # float32 N x C x H x W model input
    what: str  # one line: where they came from
    made_for: CalibrateFor | None = None  # a datagen dataset's --for precision, from its manifest


def calibration_images(
    source: str | Path,
    image: ImageInput,
    normalization: Normalization,
    n_samples: int | None = None,
    seed: int = 0,
) -> CalibrationSet:
    """Float32 N x C x H x W model input from `source`, a one-line description of it, and the precision a datagen
    dataset was made for.

    `source`: a datagen dataset folder, an .npy array already in model-input space, an .npz or a
    class-folder tree of real pixels (normalised here), or "gaussian"/"uniform" random baselines.
    """

    text = str(source)
    if text in RANDOM_SETS:
        n = n_samples or 256
        return CalibrationSet(
            random_images(text, n, image.chw, normalization, seed), f"{text} random images (seed {seed})"
        )
    path = Path(source)
    if not path.exists():
        raise UserError(f"calibration set {path} does not exist; give a dataset folder, .npy, .npz or gaussian/uniform")
    made_for = None
    if (path / MANIFEST).is_file():
        dataset = Dataset.load(path)
        images, what, made_for = dataset.images, f"datagen dataset {path}", dataset.made_for
    elif path.suffix == ".npy":
        images, what = np.load(path).astype(np.float32, copy=False), f"model-input array {path}"
    else:
        images = load_labelled(path, (image.height, image.width), image.channels).model_input(normalization)
        what = f"images {path} ({normalization.name} normalisation)"
    _check_shape(images, image, str(path))
    if n_samples is not None:
        if n_samples > len(images):
            raise UserError(f"--n-samples {n_samples} exceeds the {len(images)} images in {path}")
        images = images[:n_samples]
    return CalibrationSet(images, what, made_for)


def _check_shape(images: np.ndarray, image: ImageInput, what: str) -> None:
    if images.ndim != 4 or tuple(images.shape[1:]) != image.chw:
        raise UserError(
            f"calibration set {what} holds {tuple(images.shape)} images but the model input is N x "
            f"{image.channels} x {image.height} x {image.width}; use a set made for this model"
        )


def to_model_layout(images: np.ndarray, image: ImageInput) -> np.ndarray:
    return np.ascontiguousarray(images.transpose(0, 2, 3, 1)) if image.layout == "NHWC" else images


def quantize(
    model: str | Path,
    output: str | Path,
    calibration: str | Path | np.ndarray,
    settings: QuantSettings | None = None,
    normalization: Normalization | None = None,
    size: tuple[int, int] | None = None,
    seed: int = 0,
) -> QuantizationResult:
    """Quantize `model` to a QDQ model at `output`, calibrated with `calibration` (see calibration_images).

    A numpy array is taken as N x C x H x W model input as is. The output appears only when complete.
    """
    settings = settings or QuantSettings()
    normalization = normalization or Normalization()
    q = require("onnxruntime.quantization")
    proto = load_model(model)
    image = find_image_input(proto, size=size)
    if isinstance(calibration, np.ndarray):
        _check_shape(calibration, image, "(array)")
        calibration_set = CalibrationSet(calibration[: settings.n_samples], "in-memory array")
    else:
        calibration_set = calibration_images(calibration, image, normalization, settings.n_samples, seed)
    images, what, made_for = calibration_set
    batch_size = settings.batch_size
    if image.batch:  # a fixed batch dimension takes exactly that many images per run
        batch_size = image.batch
        if len(images) < batch_size:
            raise UserError(f"the model's batch is fixed at {batch_size}; give at least {batch_size} images")
        images = images[: len(images) - len(images) % batch_size]
    reader = ImageBatchReader(image.name, to_model_layout(images, image), batch_size)

    extra = {"WeightSymmetric": True, "ActivationSymmetric": False}
    if settings.method is CalibMethod.PERCENTILE:
        extra["CalibPercentile"] = settings.percentile
    chunk = settings.chunk_batches
    if len(images) % batch_size and settings.method is not CalibMethod.MINMAX:
        # ORT's histogram collectors stack each tensor over one chunk's batches and fail when the last
        # batch is shorter: collect batch by batch instead (the histograms merge across chunks).
        chunk = 1
    if chunk and chunk < len(reader):
        # ORT needs the chunk to divide the number of batches: use the largest divisor not above the request.
        extra["CalibStridedMinMax"] = max(d for d in range(1, chunk + 1) if len(reader) % d == 0)

    output = Path(output)
    with tempfile.TemporaryDirectory(prefix="datagen-quant-") as work:
        prepared = _prepare_for_quantization(proto, Path(work), settings.min_opset)

        def write(tmp: Path) -> None:
            with contextlib.redirect_stdout(io.StringIO()):  # ORT prints histogram progress with print()
                q.quantize_static(
                    prepared,
                    tmp,
                    reader,
                    quant_format=q.QuantFormat.QDQ,
                    per_channel=settings.per_channel,
                    weight_type=getattr(q.QuantType, QUANT_TYPES[settings.weight_type]),
                    activation_type=getattr(q.QuantType, QUANT_TYPES[settings.activation_type]),
                    calibrate_method=_ort_method(q, settings.method),
                    extra_options=extra,
                )
            quantized = onnx.load(str(tmp))
            onnx.helper.set_model_props(
                quantized,
                {
                    "onnx_datagen.quant.quantize": settings.label,
                    "onnx_datagen.calibration": f"{what}, {len(images)} images",
                    "onnx_datagen.settings": str({k: v for k, v in asdict(settings).items() if v is not None}),
                },
            )
            onnx.save(quantized, str(tmp))

        atomic_write(output, write)
    four_bit = settings.activation_type in ("uint4", "int4")
    warning = made_for.mismatch(settings.activation_bits, str(calibration)) if made_for else None
    return QuantizationResult(output, settings, len(images), what, four_bit, warning)


def _ort_method(q, method: CalibMethod):
    return {
        CalibMethod.MINMAX: q.CalibrationMethod.MinMax,
        CalibMethod.ENTROPY: q.CalibrationMethod.Entropy,
        CalibMethod.PERCENTILE: q.CalibrationMethod.Percentile,
    }[method]


def _prepare_for_quantization(model: onnx.ModelProto, work: Path, min_opset: int) -> Path:
    """Shape inference + ORT basic optimisation (folds BatchNorm), then the opset the Q/DQ types need."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    path, source = work / "prepared.onnx", work / "model.onnx"
    # From a file: given a ModelProto whose weights are initializers, ORT's optimiser step writes a model that
    # points at external data it never saved, and the retry without symbolic shapes fails on every such model.
    onnx.save_model(model, str(source))
    # Where symbolic shape inference is incomplete, ORT saves sym_shape_infer_temp.onnx into the current folder:
    # run it from the work folder, so that the user's folder never gets the stray file.
    with contextlib.chdir(work):
        try:
            quant_pre_process(str(source), str(path))
        except Exception as err:  # symbolic shape inference fails on some exotic graphs; ONNX inference still helps
            try:
                quant_pre_process(str(source), str(path), skip_symbolic_shape=True)
            except Exception:
                raise ModelError(f"ONNX Runtime cannot prepare this model for quantization: {err}") from err
    prepared = onnx.load(str(path))
    if opset_version(prepared) < min_opset:
        prepared = convert_opset(
            prepared, min_opset, "for these quantization types", f"use 8-bit types or re-export with opset {min_opset}"
        )
        onnx.save(prepared, str(path))
    return path
