"""GenerationConfig: every knob of the optimisation in one frozen, JSON-serialisable object.

Enum values are the exact spelling used on the command line, in config files and in the manifest.
Defaults follow Sony MCT's PyTorch data generation (model-compression-toolkit 2.6); where we
deliberately differ from MCT, docs/mct-quirks.md says why.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import typing
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from onnx_datagen.deps import require
from onnx_datagen.errors import ConfigError


class Method(str, Enum):
    AUTO = "auto"  # bn-inversion where the model stores usable BN statistics, else prior (and say so)
    BN_INVERSION = "bn-inversion"  # optimise images until their BN statistics match the stored ones
    FRACTAL = "fractal"  # model-agnostic IFS fractal images: no optimisation, no statistics needed
    PRIOR = "prior"  # optimise without BN statistics: image priors and class targets only (set their weights)
    GENERATOR = "generator"  # train one conditional generator against the BN objective, then sample it


BN_METHODS = (Method.AUTO, Method.BN_INVERSION)  # an engine built directly for a BN model runs auto as BN inversion


class Optimizer(str, Enum):
    RADAM = "radam"
    ADAM = "adam"
    SGD = "sgd"


class Scheduler(str, Enum):
    """Learning-rate schedule, stepped once per outer iteration with the batch's total loss."""

    REDUCE_ON_PLATEAU = "reduce-on-plateau"
    REDUCE_ON_PLATEAU_WITH_RESET = "reduce-on-plateau-with-reset"  # forget the best loss after every cut
    STEP = "step"
    COSINE = "cosine"
    CONSTANT = "constant"


class BnLoss(str, Enum):
    L2_SQUARE = "l2-square"  # ||mean - mu||^2 / C + ||std - sigma||^2 / C
    L2_NORM_MEAN_VAR = "l2-norm-mean-var"  # ||mean - mu|| + ||var - sigma^2||, not squared (DeepInversion)
    SLACK_L2_SQUARE = "slack-l2-square"  # DSG: gaps inside per-layer margins are free; squared, mean over images


class OutputLoss(str, Enum):
    NONE = "none"
    NEGATIVE_MIN_MAX = "negative-min-max"  # -(max logit - min logit), stretches the output range
    INVERSE_MIN_MAX = "inverse-min-max"
    REGULARIZED_MIN_MAX = "regularized-min-max"
    NEGATIVE_MIN_MAX_BN_HINGE = "negative-min-max-bn-hinge"  # DGH: plus hinges on the last BN's per-image stats


class DataInit(str, Enum):
    GAUSSIAN = "gaussian"  # i.i.d. N(0, 1) in model-input space
    DIVERSE = "diverse"  # random per-image, per-channel mean and std, then a box blur
    FRACTAL = "fractal"  # the IFS fractal images of --preset fractal, on the whole canvas
    CLAMPED_GAUSSIAN = "clamped-gaussian"  # N(0, 1) clamped to the valid pixel range (DGH's "digitize")
    UNIFORM = "uniform"  # U(-sqrt 3, sqrt 3): unit variance, what ZeroQ's init means to be
    ZEROQ_ORIGINAL = "zeroq-original"  # ZeroQ's code as is: divided by the variance, so values within +-0.024
    UNIFORM_01 = "uniform-01"  # U[0, 1) in model-input space (DSG's torch.rand)


class Parameterization(str, Enum):
    """What the optimiser changes to change the images."""

    PIXELS = "pixels"  # the images themselves
    GENERATOR = "generator"  # GENIE: a small generator and its latent codes per batch, both optimised


class LayerWeighting(str, Enum):
    AVERAGE = "average"  # 1 / number of terms (BN layers + the input pseudo-layer)
    FIRST_LAYER_MULTIPLIER = "first-layer-multiplier"  # first BN layer x first_layer_multiplier, others 1
    SUM = "sum"  # every term 1 (ZeroQ, DSG and GENIE add their layers up)


class Granularity(str, Enum):
    """Over which images the synthetic statistics are computed."""

    PER_IMAGE = "per-image"
    PER_BATCH = "per-batch"
    ALL_IMAGES = "all-images"  # whole set, from cached per-batch moments


class ImagePipeline(str, Enum):
    SMOOTHING_AND_AUGMENTATION = "smoothing-and-augmentation"  # flip, Gaussian smoothing, random crop
    IDENTITY = "identity"
    JITTER_AND_FLIP = "jitter-and-flip"  # DeepInversion: random circular shift, then flip; no smoothing


class Clipping(str, Enum):
    NONE = "none"
    CLAMP = "clamp"  # clamp to the valid pixel range, straight-through gradient
    REFLECT = "reflect"  # fold the stored images back inside the range after every step, and clamp views
    CLAMP_CANVAS = "clamp-canvas"  # clamp the stored images after every step, views as they are (DeepInversion)


class Precision(str, Enum):
    FP32 = "fp32"
    FAST = "fast"  # bf16 autocast + channels_last (CPU with bf16 support, or CUDA)


class EngineChoice(str, Enum):
    """Which engine optimises the images."""

    AUTO = "auto"  # torch when onnx2torch converts the model, else ort-training (and say so)
    TORCH = "torch"  # the graph converted with onnx2torch, optimised with torch
    ORT_TRAINING = "ort-training"  # forward and backward in ONNX Runtime training, on the ONNX graph itself


class CalibrateFor(str, Enum):
    """The activation precision the images will calibrate: the calibration set that scores best differs."""

    W8A8 = "w8a8"  # 8-bit activations: ranges as wide as real data's, clipping costs more than resolution
    W8A4 = "w8a4"  # 4-bit activations (and below): lighter tails, through the tail penalty

    def mismatch(self, activation_bits: int, what: str) -> str | None:
        """A one-line warning when a set made for this precision calibrates `activation_bits`-bit activations
        (`what` names the set), else None: its ranges were shaped for the other one (benchmarks/TAILS.md)."""
        if self is CalibrateFor.W8A4 and activation_bits >= 8:
            return (f"{what} was generated --for w8a4: its lighter activation tails can clip {activation_bits}-bit "
                    f"ranges; for {activation_bits}-bit activations generate with --for w8a8")  # fmt: skip
        if self is CalibrateFor.W8A8 and activation_bits <= 4:
            return (f"{what} was generated --for w8a8 (8-bit activations); for {activation_bits}-bit "
                    "activations generate with --for w8a4, whose sets scored higher there")  # fmt: skip
        return None

    def usage_note(self) -> str:
        """What a set made for this precision says where the activation precision it will calibrate is unknown
        (a toolchain export's USAGE.md): which one it was made for, and what to generate for the other."""
        return f"{self.mismatch(8 if self is CalibrateFor.W8A4 else 4, 'This set')}."


class ChannelOrder(str, Enum):
    """The order of the model's three colour channels: image files are RGB; Caffe, OpenCV and Paddle OCR
    pipelines feed BGR."""

    RGB = "rgb"
    BGR = "bgr"


class Device(str, Enum):
    CPU = "cpu"
    CUDA = "cuda"


# Input normalisations on a 0-1 pixel scale: (mean, std) per channel.
NORMALIZATIONS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "keras": ((0.5,), (0.5,)),  # x / 127.5 - 1
    "none": ((0.0,), (1.0,)),
}


@dataclass(frozen=True)
class Normalization:
    """How the model expects its input: (pixel - mean) / std, with pixels in [0, pixel_scale].

    `mean` and `std` are on the pixel scale (0-1 values when pixel_scale is 1, 0-255 values when 255).
    A single value applies to every channel.
    """

    mean: tuple[float, ...] = NORMALIZATIONS["imagenet"][0]
    std: tuple[float, ...] = NORMALIZATIONS["imagenet"][1]
    pixel_scale: float = 1.0
    name: str = "imagenet"
    channel_order: ChannelOrder = ChannelOrder.RGB  # mean/std are given in this order too

    @classmethod
    def preset(
        cls, name: str, pixel_scale: float = 1.0, channel_order: ChannelOrder = ChannelOrder.RGB
    ) -> Normalization:
        if name not in NORMALIZATIONS:
            raise ConfigError(
                f"unknown normalization {name!r}; choose one of {', '.join(NORMALIZATIONS)} or give --mean/--std"
            )
        mean, std = NORMALIZATIONS[name]
        if channel_order is ChannelOrder.BGR:  # the preset's values are RGB: give them in the model's order
            mean, std = mean[::-1], std[::-1]
        scaled = tuple(m * pixel_scale for m in mean), tuple(s * pixel_scale for s in std)
        return cls(*scaled, pixel_scale, name, channel_order)

    def __post_init__(self) -> None:
        object.__setattr__(self, "mean", tuple(float(v) for v in self.mean))
        object.__setattr__(self, "std", tuple(float(v) for v in self.std))
        object.__setattr__(self, "channel_order", _to_enum(ChannelOrder, self.channel_order, "channel_order"))
        if not self.mean or not self.std:
            raise ConfigError("normalization mean and std need at least one value each")
        if any(s <= 0 for s in self.std):
            raise ConfigError(f"normalization std must be > 0, got {self.std}")
        if self.pixel_scale not in (1.0, 255.0):
            raise ConfigError(f"pixel scale must be 1 or 255, got {self.pixel_scale}")

    def per_channel(self, channels: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Mean and std broadcast to `channels` values."""
        if self.channel_order is ChannelOrder.BGR and channels != 3:
            raise ConfigError(f"--channel-order bgr needs a 3-channel input, but the model's has {channels}")
        out = []
        for values, what in ((self.mean, "mean"), (self.std, "std")):
            if len(values) == 1:
                values = values * channels
            if len(values) != channels:
                raise ConfigError(
                    f"normalization {what} has {len(values)} values but the model input has {channels} channels; "
                    f"give --mean/--std with {channels} values"
                )
            out.append(values)
        return out[0], out[1]


def knob(default: Any, help: str) -> Any:
    """A config field with its help text (used by the CLI and the README table)."""
    return field(default=default, metadata={"help": help})


EXTRA_PIXELS_DIVISOR = 7  # default canvas margin = image side / 7 (see GenerationConfig.margin)
# Cross-entropy weight with --labels, against the BN loss: 100 iterations on the digits CNN gave 96 % of images
# classified as their label at 0.001 with BN match 0.102 (0.098 without), 99 % at 0.01 but BN match 0.168;
# ResNet-20 (60 iterations): 100 % at 0.001 with BN match 0.130 (0.149 without), 0.204 at 0.01. A few
# classes fight statistics made of all of them: '3,5' on digits hit 66 % at 0.001, 94 % at 0.01 (60 iterations).
# With the tail penalty (--for w8a4) logits are held back: digits, fractal starts, 0.001 hit 69 % (85 % without
# it), 0.003 hit 93 %; raise --ce-weight there.
LABELS_CE_WEIGHT = 0.001
RENAMED_KEYS = {"backend": "engine"}  # config files, batch files and manifests written before the rename
ALL_IMAGES_GROUP = 1024  # default images per group under all-images statistics (MCT, DGH report 1024-image sets)
DEFAULT_BATCH = 32  # MCT's batch size, the default for images up to SMALL_IMAGE_SIDE square
# Larger images default to smaller batches and per-batch statistics, so that memory does not grow with the image:
# at 224x224 batch 8 steps as fast per image as 32 in a third of the memory (benchmarks/LEVERS.md).
SMALL_IMAGE_SIDE = 112
# Default n_iter up to SMALL_IMAGE_SIDE square, and above. On the CIFAR ResNets 100 scored as the mct preset's 500
# at W8A8 (E3 98.3 / 97.8 against 98.4 / 97.8), and with --for w8a4 above MCT and real data at W8A4 (TAILS.md).
SMALL_IMAGE_ITERATIONS, LARGE_IMAGE_ITERATIONS = 100, 30
LARGE_IMAGE_LOW_RES = 0.5  # default --low-res-fraction above SMALL_IMAGE_SIDE square: 1.4x faster, as good
LARGE_IMAGE_GROUP = 256  # default all-images group above SMALL_IMAGE_SIDE square: canvases + optimiser state 0.8 GB
# The tail penalty's weight by --calibrate-for (benchmarks/TAILS.md): on the CIFAR ResNets 100 lifts W8A4 by 1-32
# points and keeps W8A8; on MobileNetV2 (heavy-tailed depthwise activations) even 10 cost 14-18 points of W8A8.
TAIL_WEIGHTS = {CalibrateFor.W8A8: 0.0, CalibrateFor.W8A4: 100.0}
TAIL_BOUND = 4.0
MIN_AUTO_BATCH = 8  # statistics over fewer images drift towards per-image ones, which calibrate 8-bit worse


@dataclass(frozen=True)
class GenerationConfig:
    """Everything that decides which images come out (besides the model and the number of images)."""

    method: Method = knob(
        Method.AUTO,
        "how images are made: BN inversion, fractal (no model needed), prior (no BN needed), or auto: BN inversion "
        "where the model stores BN statistics, else prior with its preset's settings",
    )
    n_iter: int | None = knob(
        None,
        f"outer iterations; each batch takes one optimiser step per iteration (default: {SMALL_IMAGE_ITERATIONS} up "
        f"to {SMALL_IMAGE_SIDE}x{SMALL_IMAGE_SIDE}, {LARGE_IMAGE_ITERATIONS} above, where fractal starting images "
        "reach real-image W8A8 quality by then: benchmarks/IMAGENET.md)",
    )
    time_budget: str | None = knob(
        None,
        "fit the run into this wall-clock time, e.g. 10m, 90s, 1h30m: the step time is measured first and --n-iter "
        "becomes the iterations that fit (at most --n-iter); the manifest records both",
    )
    batch_size: int | None = knob(
        None,
        f"images per optimisation batch (default: {DEFAULT_BATCH}, and for images above {SMALL_IMAGE_SIDE}x"
        f"{SMALL_IMAGE_SIDE} the power of two that keeps a step's pixels at most {DEFAULT_BATCH} such images, at "
        f"least {MIN_AUTO_BATCH}: 8 at 224x224)",
    )
    optimizer: Optimizer = knob(Optimizer.RADAM, "optimiser of the image pixels")
    lr: float = knob(16.0, "initial learning rate")
    beta1: float = knob(0.9, "adam and radam: decay of the running gradient average (DeepInversion: 0.5)")
    beta2: float = knob(0.999, "adam and radam: decay of the running squared-gradient average (DeepInversion: 0.9)")
    scheduler: Scheduler = knob(Scheduler.REDUCE_ON_PLATEAU_WITH_RESET, "learning-rate schedule")
    scheduler_factor: float = knob(0.5, "reduce-on-plateau: multiply the lr by this on a plateau")
    scheduler_patience: int | None = knob(
        None, "reduce-on-plateau: steps without improvement before a cut (default: max(1, n_iter // 50))"
    )
    step_gamma: float = knob(0.1, "step: multiply the lr by this every n_iter // 3 iterations")
    min_lr: float = knob(1e-4, "lowest learning rate of reduce-on-plateau and cosine")
    bn_loss: BnLoss = knob(BnLoss.L2_SQUARE, "distance between synthetic and running BN statistics")
    std_weight: float = knob(1.0, "weight of the BN loss's std term against its mean term (DGH: 10)")
    output_loss: OutputLoss = knob(OutputLoss.NEGATIVE_MIN_MAX, "loss on the model outputs")
    output_loss_multiplier: float = knob(1e-5, "weight of the output loss")
    init: DataInit | None = knob(
        None,
        "initial images (default: fractal, at 224x224 as good after 30 iterations as gaussian after 100; "
        "--method generator: its N(0, 1) latents)",
    )
    init_from: str | None = knob(
        None,
        "an ONNX generator whose samples are the starting images, in place of --init (inputs: latents [N, D] float "
        "and optionally labels [N] int; output: images in model-input space), e.g. from `datagen train-generator`",
    )
    parameterization: Parameterization = knob(
        Parameterization.PIXELS, "optimise the pixels, or per batch a small generator and its latents (GENIE)"
    )
    generator_lr: float = knob(
        0.01, "parameterization generator: learning rate of the generator's weights (x0.95 every 100 iterations)"
    )
    latent_dim: int = knob(256, "parameterization generator (and method generator): size of each image's latent code")
    swing: bool = knob(
        False, "GENIE's swing convolutions: strided convs see their input shifted by 0-2 px at random each step"
    )
    labels: str | None = knob(
        None,
        "class targets, cycled over the images: 'balanced' (image i -> class i mod K), or classes and ranges "
        "such as '3,5,7' or '0-4'; adds cross-entropy to them (see ce-weight); the manifest records each label",
    )
    ce_weight: float | None = knob(
        None,
        f"weight of the cross-entropy to the class targets (default: {LABELS_CE_WEIGHT} with labels, else 0 = "
        "off; above 0 without labels means balanced)",
    )
    tv_weight: float = knob(0.0, "weight of the total-variation prior (DeepInversion's TV-L2) on the model's view")
    l2_weight: float = knob(0.0, "weight of the L2-norm image prior")
    slack_percentile: float = knob(
        50.0,
        "slack-l2-square: each layer's margin is this percentile of the per-image gaps of a pilot batch aligned "
        "at batch level",
    )
    sample_enhancement: bool = knob(
        False, "DSG's layer-wise sample enhancement: image j of each batch weighs BN layer j x4 (j < 20; per image)"
    )
    correlation_weight: float = knob(
        0.0, "weight of DSG's sample correlation inhibition, divided by the number of BN layers (DSG: 1)"
    )
    calibrate_for: CalibrateFor = knob(
        CalibrateFor.W8A8,
        "the activation precision the images are for (alias --for): w8a4 turns the tail penalty on, which 4-bit "
        "activation ranges gain from and 8-bit ones can lose; `datagen quantize` warns on a mismatch",
    )
    tail_weight: float | None = knob(
        None,
        "weight of the tail penalty, the mean squared excess of BN inputs beyond --tail-bound running stds from the "
        f"running mean (default: {TAIL_WEIGHTS[CalibrateFor.W8A4]:g} with --for w8a4, else 0 = off)",
    )
    tail_bound: float = knob(TAIL_BOUND, "tail penalty: distance from the running mean, in running stds, left free")
    layer_weighting: LayerWeighting = knob(LayerWeighting.AVERAGE, "weights of the per-layer BN losses")
    first_layer_multiplier: float = knob(10.0, "first-layer-multiplier: weight of the first BN layer")
    input_term: bool = knob(True, "also align the input image with mean 0 / std 1 per channel (normalised space)")
    granularity: Granularity | None = knob(
        None,
        "images over which statistics are computed (default: all-images; per-batch for --method generator)",
    )
    group_size: int | None = knob(
        None,
        "images optimised together, a multiple of batch-size: all-images statistics span one group, and a group "
        f"is the unit of --shard and --resume (default: {ALL_IMAGES_GROUP} for all-images, {LARGE_IMAGE_GROUP} above "
        f"{SMALL_IMAGE_SIDE}x{SMALL_IMAGE_SIDE}, where {ALL_IMAGES_GROUP} canvases and their optimiser state would "
        "hold 3.2 GB at 224x224; else one batch)",
    )
    pipeline: ImagePipeline | None = knob(
        None,
        f"image views fed to the model (default: smoothing-and-augmentation, MCT's, up to {SMALL_IMAGE_SIDE}x"
        f"{SMALL_IMAGE_SIDE}; jitter-and-flip above, and with --low-res-fraction, which pools the whole canvas)",
    )
    extra_pixels: int | None = knob(
        None,
        "canvas margin for the random crop, in pixels (default: the image side / 7, rounded; 32 at 224x224 as MCT)",
    )
    smoothing_sigma: float = knob(1.25, "sigma of the 3x3 Gaussian smoothing")
    flip_probability: float = knob(0.5, "probability of a horizontal flip per step")
    low_res_fraction: float | None = knob(
        None,
        "share of n_iter run first at half resolution (the model sees the images 2x2 average-pooled, the jitter "
        "halved), after which optimiser and schedule restart at full resolution (DeepInversion's setting 0: 2/3); "
        f"skipped with a note for models that only run at their own size (default: {LARGE_IMAGE_LOW_RES} above "
        f"{SMALL_IMAGE_SIDE}x{SMALL_IMAGE_SIDE} for BN inversion of pixels on the torch engine, else 0)",
    )
    clipping: Clipping = knob(Clipping.CLAMP, "keep images inside the valid pixel range")
    normalization: Normalization = field(
        default_factory=Normalization, metadata={"help": "the model's input normalisation"}
    )
    stats_eps: float = knob(1e-6, "added to the synthetic variance before the square root")
    seed: int = knob(0, "random seed; batch k's randomness derives from (seed, k)")
    engine: EngineChoice = knob(
        EngineChoice.AUTO, "engine: torch (onnx2torch), ort-training (ONNX Runtime, extra ort-training), or auto"
    )
    device: Device = knob(Device.CPU, "where to optimise")
    precision: Precision = knob(Precision.FP32, "fp32, or fast: bf16 autocast + channels_last")

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            enum_type = _ENUM_FIELDS.get(f.name)
            if enum_type is not None and value is not None and not isinstance(value, enum_type):
                object.__setattr__(self, f.name, _to_enum(enum_type, value, f.name))
        if isinstance(self.normalization, dict):
            object.__setattr__(self, "normalization", normalization_from_dict(self.normalization))
        _check_positive_int("latent_dim", self.latent_dim)
        for name in ("n_iter", "batch_size"):  # None: a default that depends on the image size (for_image)
            if getattr(self, name) is not None:
                _check_positive_int(name, getattr(self, name))
        for name in (
            "lr",
            "min_lr",
            "smoothing_sigma",
            "first_layer_multiplier",
            "stats_eps",
            "std_weight",
            "generator_lr",
            "tail_bound",
        ):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{_flag(name)} must be > 0, got {getattr(self, name)}")
        for name in ("beta1", "beta2"):
            if not 0 <= getattr(self, name) < 1:
                raise ConfigError(f"{_flag(name)} must be in [0, 1), got {getattr(self, name)}")
        if not 0 < self.scheduler_factor < 1:
            raise ConfigError(f"{_flag('scheduler_factor')} must be between 0 and 1, got {self.scheduler_factor}")
        if not 0 < self.step_gamma <= 1:
            raise ConfigError(f"{_flag('step_gamma')} must be in (0, 1], got {self.step_gamma}")
        if self.scheduler_patience is not None:
            _check_positive_int("scheduler_patience", self.scheduler_patience)
        if self.labels is not None:
            object.__setattr__(self, "labels", str(self.labels))
            parse_labels(self.labels)  # a bad spec fails here, not after the model is loaded
        if self.parameterization is Parameterization.GENERATOR:
            if self.init not in (None, DataInit.GAUSSIAN) or self.init_from:
                raise ConfigError(
                    f"--init {(self.init or DataInit.GAUSSIAN).value} sets starting pixels, but --parameterization "
                    "generator makes the images from N(0, 1) latents; drop --init or use --parameterization pixels"
                )
            if self.clipping in (Clipping.REFLECT, Clipping.CLAMP_CANVAS):
                raise ConfigError(
                    f"--clipping {self.clipping.value} edits stored pixels, and --parameterization generator stores "
                    "none; use --clipping clamp or none"
                )
        if not 0 <= self.slack_percentile <= 100:
            raise ConfigError(f"{_flag('slack_percentile')} must be in [0, 100], got {self.slack_percentile}")
        if self.sample_enhancement and self.granularity is not Granularity.PER_IMAGE:
            raise ConfigError("--sample-enhancement weighs single images, so it needs --granularity per-image")
        for name in ("ce_weight", "tv_weight", "l2_weight", "correlation_weight", "tail_weight"):
            if (getattr(self, name) or 0) < 0:
                raise ConfigError(f"{_flag(name)} must be >= 0, got {getattr(self, name)}")
        if self.output_loss_multiplier < 0:
            raise ConfigError(f"{_flag('output_loss_multiplier')} must be >= 0, got {self.output_loss_multiplier}")
        if self.extra_pixels is not None and (not isinstance(self.extra_pixels, int) or self.extra_pixels < 0):
            raise ConfigError(f"{_flag('extra_pixels')} must be an integer >= 0, got {self.extra_pixels!r}")
        if self.low_res_fraction is not None and not 0 <= self.low_res_fraction < 1:
            raise ConfigError(f"{_flag('low_res_fraction')} must be in [0, 1), got {self.low_res_fraction}")
        if self.low_res_fraction and self.pipeline is ImagePipeline.SMOOTHING_AND_AUGMENTATION:
            raise ConfigError(
                "--low-res-fraction pools the whole canvas, and --pipeline smoothing-and-augmentation crops a larger "
                "one; use --pipeline jitter-and-flip or identity"
            )
        if not 0 <= self.flip_probability <= 1:
            raise ConfigError(f"{_flag('flip_probability')} must be in [0, 1], got {self.flip_probability}")
        if self.group_size is not None:
            _check_positive_int("group_size", self.group_size)
            if self.batch_size is not None and self.group_size % self.batch_size:
                raise ConfigError(
                    f"--group-size ({self.group_size}) must be a multiple of --batch-size ({self.batch_size})"
                )
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(f"--seed must be an integer >= 0, got {self.seed!r}")
        if self.time_budget is not None:
            parse_duration(self.time_budget)

    @property
    def class_weight(self) -> float:
        """The cross-entropy weight in force: ce_weight, or its default with and without labels."""
        if self.ce_weight is not None:
            return self.ce_weight
        return LABELS_CE_WEIGHT if self.labels else 0.0

    @property
    def label_cycle(self) -> tuple[int, ...] | None:
        """The classes image 0, 1, 2, ... are pushed towards, repeated; None for balanced (all K classes)."""
        return parse_labels(self.labels) if self.labels is not None else None

    def margin(self, height: int, width: int) -> int:
        """Canvas margin: extra_pixels, or by default 1/7 of the image side (MCT's 32 at 224x224)."""
        if self.extra_pixels is not None:
            return self.extra_pixels
        return max(1, round(max(height, width) / EXTRA_PIXELS_DIVISOR))

    @property
    def patience(self) -> int:
        return self.scheduler_patience if self.scheduler_patience is not None else max(1, self.n_iter // 50)

    def for_image(self, height: int, width: int) -> GenerationConfig:
        """The config with the defaults that depend on the model filled in (None in the fields): by the image size
        the iterations, batch size, group size, views and low-resolution phase; by the method the starting images
        and the granularity; by --calibrate-for the tail penalty. Above SMALL_IMAGE_SIDE square a step costs more,
        so fewer iterations from fractal starts, half of them at half resolution, and smaller batches and groups,
        so memory stays flat (benchmarks/IMAGENET.md)."""
        small = SMALL_IMAGE_SIDE * SMALL_IMAGE_SIDE
        large = height * width > small
        n_iter = self.n_iter or (LARGE_IMAGE_ITERATIONS if large else SMALL_IMAGE_ITERATIONS)
        fits = DEFAULT_BATCH * small // (height * width)  # images of this size in DEFAULT_BATCH small ones
        batch = self.batch_size or 2 ** int(math.log2(min(DEFAULT_BATCH, max(MIN_AUTO_BATCH, fits))))
        granularity = self.granularity or (
            Granularity.PER_BATCH if self.method is Method.GENERATOR else Granularity.ALL_IMAGES
        )
        # An all-images group keeps every canvas and its optimiser state in memory: fewer images above small ones.
        group = self.group_size
        if group is None and large and granularity is Granularity.ALL_IMAGES:
            group = max(1, round(LARGE_IMAGE_GROUP / batch)) * batch
        latents = self.method is Method.GENERATOR or self.parameterization is Parameterization.GENERATOR
        init = self.init or (DataInit.GAUSSIAN if latents else DataInit.FRACTAL)
        pipeline = self.pipeline or (
            ImagePipeline.JITTER_AND_FLIP
            if large or self.low_res_fraction
            else ImagePipeline.SMOOTHING_AND_AUGMENTATION
        )
        low_res = self.low_res_fraction
        if low_res is None:
            plain = self.method in BN_METHODS and self.parameterization is Parameterization.PIXELS
            pooled = large and plain and pipeline is not ImagePipeline.SMOOTHING_AND_AUGMENTATION
            low_res = LARGE_IMAGE_LOW_RES if pooled and self.engine is not EngineChoice.ORT_TRAINING else 0.0
        if group is not None and group % batch:
            raise ConfigError(f"--group-size ({group}) must be a multiple of --batch-size ({batch})")
        tail = TAIL_WEIGHTS[self.calibrate_for] if self.tail_weight is None else self.tail_weight
        return self.replace(n_iter=n_iter, batch_size=batch, granularity=granularity, init=init, group_size=group,
                            pipeline=pipeline, low_res_fraction=low_res, tail_weight=tail)  # fmt: skip

    def replace(self, **changes: Any) -> GenerationConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Enum):
                value = value.value
            elif isinstance(value, Normalization):
                value = {
                    "name": value.name,
                    "mean": list(value.mean),
                    "std": list(value.std),
                    "pixel_scale": value.pixel_scale,
                    "channel_order": value.channel_order.value,
                }
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GenerationConfig:
        """Build a config from a (possibly partial) dict; keys may use '-' or '_'."""
        known = {f.name for f in dataclasses.fields(cls)}
        clean = {}
        for key, value in data.items():
            name = str(key).replace("-", "_")
            name = RENAMED_KEYS.get(name, name)
            if name not in known:
                raise ConfigError(f"unknown configuration key {key!r}; valid keys: {', '.join(sorted(known))}")
            clean[name] = value
        try:
            return cls(**clean)
        except TypeError as err:  # e.g. a list where a number belongs
            raise ConfigError(f"invalid configuration: {err}") from err


def parse_labels(text: str) -> tuple[int, ...] | None:
    """'balanced' -> None (every class in turn); '3,5,7' or '0-4' (or a mix) -> those classes in order."""
    if text.strip() == "balanced":
        return None
    classes: list[int] = []
    for item in text.replace(" ", "").split(","):
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", item)
        if not match or (match[2] is not None and int(match[2]) < int(match[1])):
            raise ConfigError(f"--labels takes 'balanced' or classes and ranges like 3,5,7 or 0-4, got {text!r}")
        classes += range(int(match[1]), int(match[2] or match[1]) + 1)
    return tuple(classes)


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Read a JSON or YAML config file into a dict (validated later by GenerationConfig.from_dict)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    text = path.read_text(encoding="utf-8")
    suffix = path.suffix.lower()
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ConfigError(f"cannot parse config file {path}: {err}") from err
    elif suffix in (".yaml", ".yml"):
        yaml = require("yaml")
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise ConfigError(f"cannot parse config file {path}: {' '.join(str(err).split())}") from err
    else:
        raise ConfigError(f"config file {path} must end in .json, .yaml or .yml")
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of option names to values")
    return data


def _enum_fields() -> dict[str, type[Enum]]:
    """Fields typed with an enum, or an enum or None (a default that depends on the model)."""
    fields = {}
    for name, hint in typing.get_type_hints(GenerationConfig).items():
        options = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
        if len(options) == 1 and isinstance(options[0], type) and issubclass(options[0], Enum):
            fields[name] = options[0]
    return fields


_ENUM_FIELDS = _enum_fields()  # field name -> enum type, so values from files and the CLI are coerced


def _to_enum(enum_type: type[Enum], value: Any, name: str) -> Enum:
    try:
        return enum_type(value)
    except ValueError:
        choices = ", ".join(m.value for m in enum_type)
        raise ConfigError(f"{_flag(name)}: {value!r} is not one of {choices}") from None


def normalization_from_dict(data: dict[str, Any]) -> Normalization:
    """A Normalization from its config/manifest form: a preset name, or mean and std (with pixel_scale)."""
    scale = float(data.get("pixel_scale", 1.0))
    order = _to_enum(ChannelOrder, data.get("channel_order", "rgb"), "channel_order")
    if "mean" in data or "std" in data:
        if "mean" not in data or "std" not in data:
            raise ConfigError("normalization needs both mean and std")
        return Normalization(tuple(data["mean"]), tuple(data["std"]), scale, str(data.get("name", "custom")), order)
    return Normalization.preset(str(data.get("name", "imagenet")), scale, order)


def _check_positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{_flag(name)} must be a positive integer, got {value!r}")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


_DURATION_UNITS = {"h": 3600.0, "min": 60.0, "m": 60.0, "s": 1.0, "": 1.0}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(h|min|m|s|)\s*")


def parse_duration(text: str | float) -> float:
    """Seconds in '10m', '10min', '90s', '1h30m', '2.5m' or a bare number of seconds."""
    spoken, seconds, position = str(text).strip().lower(), 0.0, 0
    while position < len(spoken):
        part = _DURATION_PART.match(spoken, position)
        if part is None or part.end() == position:
            break
        seconds, position = seconds + float(part[1]) * _DURATION_UNITS[part[2]], part.end()
    if not spoken or position < len(spoken) or seconds <= 0:
        raise ConfigError(f"--time-budget takes a duration above zero such as 10m, 90s or 1h30m, got {text!r}")
    return seconds


def check_n_images(n_images: int) -> None:
    if isinstance(n_images, bool) or not isinstance(n_images, int) or n_images <= 0:
        raise ConfigError(f"--n-images must be a positive integer, got {n_images!r}")
