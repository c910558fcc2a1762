"""Every choice a setting offers, as an enum: the values are the exact spelling used on the command line, in
config files and in the manifest."""

from __future__ import annotations

from enum import Enum


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
        (`what` names the set), else None: its ranges were shaped for the other one (benchmarks/results/TAILS.md)."""
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
