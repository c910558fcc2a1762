"""GenerationConfig: every knob of the optimisation in one frozen, JSON-serialisable object.

Defaults follow Sony MCT's PyTorch data generation (model-compression-toolkit 2.6); where we deliberately differ
from MCT, docs/mct-quirks.md says why.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from onnx_datagen.config.choices import (
    BN_METHODS,
    BnLoss,
    CalibrateFor,
    Clipping,
    DataInit,
    Device,
    EngineChoice,
    Granularity,
    ImagePipeline,
    LayerWeighting,
    Method,
    Optimizer,
    OutputLoss,
    Parameterization,
    Precision,
    Scheduler,
)
from onnx_datagen.config.defaults import (
    ALL_IMAGES_GROUP,
    DEFAULT_BATCH,
    EXTRA_PIXELS_DIVISOR,
    LABELS_CE_WEIGHT,
    LARGE_IMAGE_GROUP,
    LARGE_IMAGE_ITERATIONS,
    LARGE_IMAGE_LOW_RES,
    LARGE_IMAGE_PER_IMAGE_SHARE,
    MIN_AUTO_BATCH,
    SMALL_IMAGE_ITERATIONS,
    SMALL_IMAGE_SIDE,
    TAIL_BOUND,
    TAIL_WEIGHTS,
)
from onnx_datagen.config.normalization import Normalization, normalization_from_dict
from onnx_datagen.config.parsing import RENAMED_KEYS, check_positive_int, flag, parse_duration, parse_labels, to_enum
from onnx_datagen.errors import ConfigError

MAX_LOW_RES_LEVELS = 3  # pools up to 8x8: 28x28 views of 224x224 images


def knob(default: Any, help: str) -> Any:
    """A config field with its help text (used by the CLI and the README table)."""
    return field(default=default, metadata={"help": help})


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
        "reach real-image W8A8 quality by then: benchmarks/results/IMAGENET.md)",
    )
    time_budget: str | None = knob(
        None,
        "fit the run into this wall-clock time, e.g. 10m, 90s, 1h30m: the step time is measured first and --n-iter "
        "becomes the iterations that fit (at most --n-iter), and the optimisation stops at the deadline; the manifest "
        "records both",
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
    per_image_share: float | None = knob(
        None,
        "share of the images (whole batches, the set's last) that match the BN statistics each alone while the rest "
        "match them as a set: their own extremes, which per-channel range estimators such as NNCF's average, come "
        f"nearer real photos' (default: {LARGE_IMAGE_PER_IMAGE_SHARE} above "
        f"{SMALL_IMAGE_SIDE}x{SMALL_IMAGE_SIDE} for BN inversion of pixels with all-images statistics on the torch "
        "engine, else 0)",
    )
    low_res_levels: int = knob(
        1,
        "how many ever coarser sizes share the low-resolution iterations, coarsest first, evenly: 1 = all at half "
        "size; 2 = a quarter, then half (56 -> 112 -> 224 at 224x224)",
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
                object.__setattr__(self, f.name, to_enum(enum_type, value, f.name))
        if isinstance(self.normalization, dict):
            object.__setattr__(self, "normalization", normalization_from_dict(self.normalization))
        check_positive_int("latent_dim", self.latent_dim)
        for name in ("n_iter", "batch_size"):  # None: a default that depends on the image size (resolve)
            if getattr(self, name) is not None:
                check_positive_int(name, getattr(self, name))
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
                raise ConfigError(f"{flag(name)} must be > 0, got {getattr(self, name)}")
        for name in ("beta1", "beta2"):
            if not 0 <= getattr(self, name) < 1:
                raise ConfigError(f"{flag(name)} must be in [0, 1), got {getattr(self, name)}")
        if not 0 < self.scheduler_factor < 1:
            raise ConfigError(f"{flag('scheduler_factor')} must be between 0 and 1, got {self.scheduler_factor}")
        if not 0 < self.step_gamma <= 1:
            raise ConfigError(f"{flag('step_gamma')} must be in (0, 1], got {self.step_gamma}")
        if self.scheduler_patience is not None:
            check_positive_int("scheduler_patience", self.scheduler_patience)
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
            raise ConfigError(f"{flag('slack_percentile')} must be in [0, 100], got {self.slack_percentile}")
        if self.sample_enhancement and self.granularity is not Granularity.PER_IMAGE:
            raise ConfigError("--sample-enhancement weighs single images, so it needs --granularity per-image")
        for name in ("ce_weight", "tv_weight", "l2_weight", "correlation_weight", "tail_weight"):
            if (getattr(self, name) or 0) < 0:
                raise ConfigError(f"{flag(name)} must be >= 0, got {getattr(self, name)}")
        if self.output_loss_multiplier < 0:
            raise ConfigError(f"{flag('output_loss_multiplier')} must be >= 0, got {self.output_loss_multiplier}")
        if self.extra_pixels is not None and (not isinstance(self.extra_pixels, int) or self.extra_pixels < 0):
            raise ConfigError(f"{flag('extra_pixels')} must be an integer >= 0, got {self.extra_pixels!r}")
        if self.low_res_fraction is not None and not 0 <= self.low_res_fraction < 1:
            raise ConfigError(f"{flag('low_res_fraction')} must be in [0, 1), got {self.low_res_fraction}")
        if not isinstance(self.low_res_levels, int) or not 1 <= self.low_res_levels <= MAX_LOW_RES_LEVELS:
            raise ConfigError(
                f"{flag('low_res_levels')} must be an integer from 1 to {MAX_LOW_RES_LEVELS}, "
                f"got {self.low_res_levels!r}"
            )
        if self.per_image_share is not None and not 0 <= self.per_image_share < 1:
            raise ConfigError(f"{flag('per_image_share')} must be in [0, 1), got {self.per_image_share}")
        if self.per_image_share and self.granularity not in (None, Granularity.ALL_IMAGES):
            raise ConfigError(
                "--per-image-share makes part of an all-images set per image; drop it, or use --granularity "
                f"all-images instead of {self.granularity.value}"
            )
        if self.low_res_fraction and self.pipeline is ImagePipeline.SMOOTHING_AND_AUGMENTATION:
            raise ConfigError(
                "--low-res-fraction pools the whole canvas, and --pipeline smoothing-and-augmentation crops a larger "
                "one; use --pipeline jitter-and-flip or identity"
            )
        if not 0 <= self.flip_probability <= 1:
            raise ConfigError(f"{flag('flip_probability')} must be in [0, 1], got {self.flip_probability}")
        if self.group_size is not None:
            check_positive_int("group_size", self.group_size)
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

    def resolve(self, height: int, width: int) -> ResolvedConfig:
        """The config as a model of this image size runs it, every default that depends on the model filled in
        (None in the fields): by the image size the iterations, batch size, group size, views, low-resolution phase
        and per-image share; by the method the starting images and the granularity; by --calibrate-for the tail
        penalty. Above SMALL_IMAGE_SIDE square a step costs more, so fewer iterations from fractal starts, half of
        them at half resolution, and smaller batches and groups, so memory stays flat (benchmarks/results/IMAGENET.md);
        an eighth of the images match the statistics one by one (results_notes.md)."""
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
        # BN inversion of pixels on the torch engine above small images: the low-resolution phase, the per-image share
        plain = large and self.method in BN_METHODS and self.parameterization is Parameterization.PIXELS
        plain = plain and self.engine is not EngineChoice.ORT_TRAINING
        low_res = self.low_res_fraction
        if low_res is None:
            low_res = LARGE_IMAGE_LOW_RES if plain and pipeline is not ImagePipeline.SMOOTHING_AND_AUGMENTATION else 0.0
        share = self.per_image_share
        if share is None:
            share = LARGE_IMAGE_PER_IMAGE_SHARE if plain and granularity is Granularity.ALL_IMAGES else 0.0
        if group is not None and group % batch:
            raise ConfigError(f"--group-size ({group}) must be a multiple of --batch-size ({batch})")
        tail = TAIL_WEIGHTS[self.calibrate_for] if self.tail_weight is None else self.tail_weight
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return ResolvedConfig(**{**fields, "n_iter": n_iter, "batch_size": batch, "granularity": granularity,
                                 "init": init, "group_size": group, "pipeline": pipeline, "low_res_fraction": low_res,
                                 "per_image_share": share, "tail_weight": tail})  # fmt: skip

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


@dataclass(frozen=True)
class ResolvedConfig(GenerationConfig):
    """A GenerationConfig resolved for one model (GenerationConfig.resolve): no field left to a default that depends
    on the image size or the method. Engines and methods take this type, so nothing resolves twice."""

    def __post_init__(self) -> None:
        super().__post_init__()
        unresolved = [name for name in RESOLVED_FIELDS if getattr(self, name) is None]
        if unresolved:
            raise TypeError(
                f"a ResolvedConfig with {', '.join(unresolved)} unset: make it with GenerationConfig.resolve"
            )


RESOLVED_FIELDS = (
    "n_iter",
    "batch_size",
    "granularity",
    "init",
    "pipeline",
    "low_res_fraction",
    "per_image_share",
    "tail_weight",
)


def require_resolved(config: GenerationConfig) -> ResolvedConfig:
    """`config`, which must come from GenerationConfig.resolve (a programming error otherwise, not a user's)."""
    if not isinstance(config, ResolvedConfig):
        raise TypeError("engines take a ResolvedConfig: call config.resolve(height, width) first")
    return config


def _enum_fields() -> dict[str, type[Enum]]:
    """Fields typed with an enum, or an enum or None (a default that depends on the model)."""
    fields = {}
    for name, hint in typing.get_type_hints(GenerationConfig).items():
        options = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
        if len(options) == 1 and isinstance(options[0], type) and issubclass(options[0], Enum):
            fields[name] = options[0]
    return fields


_ENUM_FIELDS = _enum_fields()  # field name -> enum type, so values from files and the CLI are coerced
