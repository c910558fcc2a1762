"""BatchNormalization sites: where each BN reads its input, and the running statistics it stores."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import onnx

from onnx_datagen.errors import ModelError, NoStatisticsError
from onnx_datagen.graph.constants import constant_tensors, unique_node_names
from onnx_datagen.graph.image_input import graph_inputs

BN_OP = "BatchNormalization"
CONV_OPS = ("Conv", "ConvTranspose", "QLinearConv", "ConvInteger")


DEAD_WEIGHT = 1e-6  # a channel whose producing conv's weights are all below this in magnitude never varies


@dataclass(frozen=True)
class BnSite:
    """One BatchNormalization (or one decomposed into elementwise ops). `input` is the tensor whose statistics the
    running statistics describe; `statistics` is the tensor the engines measure: `input` itself, or a view of its
    live channels moved to axis 1 (prepare_model builds it). `running_mean`/`running_var` are the live channels'.

    A decomposed BN (Sub(mean), Mul(scale), Add(beta): Keras 3's torch backend) keeps its means but folds the
    variance into the scale: `std_known` is False and `running_var` is 0, so only the means are matched.
    """

    name: str
    input: str
    producer: str  # op type that produces `input` ("graph input" if it is a model input)
    running_mean: np.ndarray
    running_var: np.ndarray
    epsilon: float
    dead_channels: int = 0  # channels left out: variance 0 (or below epsilon with near-zero weights)
    live: tuple[int, ...] | None = None  # indices of the kept channels in `input`, None for all
    channel_axis: int = 1
    std_known: bool = True

    @property
    def channels(self) -> int:
        return int(self.running_mean.shape[0])

    @property
    def running_std(self) -> np.ndarray:
        return np.sqrt(np.maximum(self.running_var, 0.0))

    @property
    def statistics(self) -> str:
        """The name of the tensor the engines measure (see prepare_model)."""
        return self.input if self.live is None and self.channel_axis == 1 else f"{self.input}/datagen_bn_view"


def find_bn_sites(model: onnx.ModelProto) -> list[BnSite]:
    """All BatchNormalization nodes in graph order, with their statistics read from constants and their dead
    channels left out, then the BN layers decomposed into elementwise ops."""
    constants = constant_tensors(model)
    producers = {out: node for node in model.graph.node for out in node.output}
    sites = []
    for node, name in zip(model.graph.node, unique_node_names(model)):
        if node.op_type != BN_OP or node.domain not in ("", "ai.onnx"):
            continue
        stats = []
        for position, what in ((3, "running mean"), (4, "running variance")):
            tensor = node.input[position] if len(node.input) > position else ""
            if tensor not in constants:
                raise ModelError(
                    f"BatchNormalization {name!r}: its {what} ({tensor!r}) is not a constant in the graph; "
                    "export the model in eval mode so the running statistics are stored"
                )
            stats.append(np.asarray(constants[tensor], dtype=np.float64).reshape(-1))
        mean, var = stats
        if mean.shape != var.shape:
            raise ModelError(f"BatchNormalization {name!r}: running mean and variance have different sizes")
        epsilon = float(next((a.f for a in node.attribute if a.name == "epsilon"), 1e-5))
        producer = producers.get(node.input[0])
        dead = dead_channels(var, epsilon, _conv_weight(producer, constants))
        live = None if not dead.any() else tuple(int(i) for i in np.flatnonzero(~dead))
        if live == ():
            continue  # every channel dead: nothing to match
        keep = slice(None) if live is None else list(live)
        sites.append(
            BnSite(
                name, node.input[0], producer.op_type if producer else "graph input", mean[keep], var[keep], epsilon,
                int(dead.sum()), live,
            )
        )  # fmt: skip
    return sites + decomposed_bn_sites(model, constants, producers)


def dead_channels(var: np.ndarray, epsilon: float, weight: np.ndarray | None) -> np.ndarray:
    """Channels that never varied in training: variance 0, or below epsilon where the producing conv's weights for
    the channel are all near zero (TF-trained weights have such channels). Negative or NaN variances are not dead but
    corrupt (corrupt_bn)."""
    dead = var == 0
    if weight is not None and weight.shape[0] == var.shape[0] and weight.size:
        tiny = np.abs(weight.reshape(weight.shape[0], -1)).max(axis=1) < DEAD_WEIGHT
        dead |= (var < epsilon) & (var >= 0) & tiny
    return dead


def _conv_weight(producer: onnx.NodeProto | None, constants: dict) -> np.ndarray | None:
    if producer is None or producer.op_type != "Conv" or len(producer.input) < 2:
        return None
    weight = constants.get(producer.input[1])
    return None if weight is None else np.asarray(weight, dtype=np.float64)


_PASS_THROUGH = ("Cast", "Identity")  # exporters put float-to-float casts between the decomposed ops


def decomposed_bn_sites(model: onnx.ModelProto, constants: dict, producers: dict) -> list[BnSite]:
    """BN layers written as elementwise ops: Sub(x, mean) then Mul(scale) or Div(std), then Add(beta) (Keras 3's
    torch backend writes Sub/Mul/Add). With Div the std is the divisor (epsilon included); with Mul only the means are
    known. x must be computed from the image (not the image itself: an input normalisation looks the same)."""
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    image_inputs = {i.name for i in graph_inputs(model)}
    ranks: dict[str, int] = {}  # each tensor's first declared rank
    for value in [*model.graph.value_info, *model.graph.input, *model.graph.output]:
        if value.type.tensor_type.HasField("shape"):
            ranks.setdefault(value.name, len(value.type.tensor_type.shape.dim))
    sites = []
    for node, name in zip(model.graph.node, unique_node_names(model)):
        if node.op_type != "Sub" or node.input[0] in constants or node.input[1] not in constants:
            continue
        if _source(node.input[0], producers) in image_inputs:
            continue
        mean, axis, ndim = _per_channel(constants[node.input[1]])
        if mean is None or mean.size < 2:
            continue
        scale_node = _next(node.output[0], consumers)
        if scale_node is None or scale_node.op_type not in ("Mul", "Div"):
            continue
        scale_input = [i for i in scale_node.input if i in constants]
        divisor, scale_axis, _ = _per_channel(constants[scale_input[0]]) if len(scale_input) == 1 else (None,) * 3
        if divisor is None or divisor.shape != mean.shape or scale_axis != axis:
            continue
        after = _next(scale_node.output[0], consumers)
        while after is not None and after.op_type == "Mul" and any(i in constants for i in after.input):
            after = _next(after.output[0], consumers)  # Div(std) then Mul(gamma)
        if after is None or after.op_type != "Add" or not any(i in constants for i in after.input):
            continue
        dividing = scale_node.op_type == "Div"
        var = divisor.astype(np.float64) ** 2 if dividing else np.zeros_like(mean, dtype=np.float64)
        channel_axis = axis + (ranks.get(node.input[0]) or ndim)
        producer = producers.get(node.input[0])
        sites.append(
            BnSite(
                f"{name} (decomposed BN)", node.input[0], producer.op_type if producer else "graph input",
                mean.astype(np.float64), var, 0.0, channel_axis=channel_axis, std_known=dividing,
            )
        )  # fmt: skip
    return sites


def _per_channel(value) -> tuple[np.ndarray | None, int | None, int | None]:
    """A constant with exactly one axis above size 1: its values, that axis counted from the end, and its rank."""
    array = np.asarray(value)
    big = [axis for axis, n in enumerate(array.shape) if n > 1]
    if array.dtype.kind != "f" or len(big) != 1:
        return None, None, None
    return array.reshape(-1), big[0] - array.ndim, array.ndim


def _next(tensor: str, consumers: dict) -> onnx.NodeProto | None:
    """The single consumer of `tensor`, skipping float casts; None where it forks or ends."""
    while True:
        users = consumers.get(tensor, [])
        if len(users) != 1:
            return None
        if users[0].op_type not in _PASS_THROUGH:
            return users[0]
        tensor = users[0].output[0]


def _source(tensor: str, producers: dict) -> str:
    """The tensor behind casts, identities and transposes: the graph input when it is one."""
    while tensor in producers and producers[tensor].op_type in (*_PASS_THROUGH, "Transpose"):
        tensor = producers[tensor].input[0]
    return tensor


# Normalisations that compute their statistics from each input and store none to invert.
NORMS_WITHOUT_RUNNING_STATS = {"LayerNormalization", "GroupNormalization", "InstanceNormalization"}


def bn_verdict(model: onnx.ModelProto, sites: list[BnSite]) -> str:
    """'ready', 'corrupt-bn' (impossible statistics, see corrupt_bn), 'bn-folded' (BN folded into the convolutions
    at export) or 'no-bn' (no BN to begin with: a LayerNorm/GroupNorm or PReLU model, even with convolutions)."""
    if sites:
        return "corrupt-bn" if corrupt_bn(model) else "ready"
    ops = {node.op_type for node in model.graph.node}
    if not ops & set(CONV_OPS) or ops & NORMS_WITHOUT_RUNNING_STATS:
        return "no-bn"
    # Convolutions alone: folded, unless the net is of a kind that is trained without BN (PReLU nets) and its
    # weights do not carry the names exporters give folded weights (torch's dynamo exporter keeps parameter names).
    if "PRelu" in ops and not _folded_weights(model):
        return "no-bn"
    return "bn-folded"


# Names exporters give the weights they compute when folding BN into a conv: torch's "onnx::Conv_123" (torch 1.x: a
# bare number), tf2onnx's "..._weights_fused_bn". A conv that never had BN keeps its parameter's own name.
_FOLDED_NAME = re.compile(r"^(onnx::Conv_\d+|\d+)$|_fused_bn$")


def _folded_weights(model: onnx.ModelProto) -> bool:
    """Whether most conv weights carry the names exporters give folded weights."""
    names = [n.input[1] for n in model.graph.node if n.op_type in CONV_OPS and len(n.input) > 1]
    return sum(bool(_FOLDED_NAME.search(name)) for name in names) * 2 > len(names)


FOLDED_HELP = (
    "its BatchNorm statistics were folded into the convolutions at export, so they cannot be recovered; "
    "either re-export from PyTorch with BatchNorm kept: torch.onnx.export(model.eval(), x, path, dynamo=False, "
    "do_constant_folding=False) or torch.onnx.export(..., dynamo=True, optimize=False), "
    "or make images without the statistics: --preset fractal (no model in the loop) or --preset prior "
    "(fractal start, optimised for class targets and image priors)"
)
NO_BN_HELP = (
    "it has no BatchNormalization layers (e.g. a LayerNorm/GroupNorm model), so there are no running "
    "statistics to invert; make images without them: --preset fractal or --preset prior"
)


CORRUPT_HELP = (
    "the model's statistics are corrupt: re-export it from a healthy checkpoint, "
    "or make images without them: --preset fractal"
)


IMPLAUSIBLE = 1e15  # no trained layer's statistic is this large; squared, it overflows float32 to inf


def corrupt_bn(model: onnx.ModelProto) -> str | None:
    """Why the first BatchNormalization's stored numbers cannot come from training, or None if all can.

    A NaN/Inf anywhere, or a negative variance, turns the loss NaN only once optimisation runs, where it reads
    as a divergence (lower --lr); checked up front it names the layer instead. A zero variance is a dead channel,
    left out of the loss (dead_channels), not a corruption. Scale and bias are checked where they are constants.
    """
    constants = constant_tensors(model)
    for node, name in zip(model.graph.node, unique_node_names(model)):
        if node.op_type != BN_OP or node.domain not in ("", "ai.onnx"):
            continue
        epsilon = next((a.f for a in node.attribute if a.name == "epsilon"), 1e-5)
        if not np.isfinite(epsilon) or epsilon < 0:
            return f"BatchNormalization {name!r} has epsilon {epsilon:g}; {CORRUPT_HELP}"
        for position, what in ((1, "scale"), (2, "bias"), (3, "running mean"), (4, "running variance")):
            tensor = node.input[position] if len(node.input) > position else ""
            if tensor not in constants:
                continue
            values = np.asarray(constants[tensor], dtype=np.float64).reshape(-1)
            checks = [(~np.isfinite(values), "not finite"), (np.abs(values) > IMPLAUSIBLE, "beyond 1e15 in size")]
            if position == 4:  # a zero variance is a dead channel, left out of the loss (dead_channels)
                checks += [(values < 0, "negative")]
            for bad, kind in checks:
                if bad.any():
                    channel = int(np.argmax(bad))
                    value = f"{values[channel]:g}"
                    return (
                        f"BatchNormalization {name!r} has {what} {value} in channel {channel} "
                        f"({int(bad.sum())} of {values.size} channels {kind}); {CORRUPT_HELP}"
                    )
    return None


def refuse_corrupt_bn(model: onnx.ModelProto, label: str) -> None:
    reason = corrupt_bn(model)
    if reason:
        raise ModelError(f"{label}: {reason}")


def bn_problem(model: onnx.ModelProto, verdict: str) -> str | None:
    """What is wrong with the model's BatchNorm statistics for `verdict`, and how to fix it; None when ready."""
    if verdict == "corrupt-bn":
        return corrupt_bn(model)
    return {"bn-folded": FOLDED_HELP, "no-bn": NO_BN_HELP}.get(verdict)


def require_bn_sites(model: onnx.ModelProto, label: str) -> list[BnSite]:
    sites = find_bn_sites(model)
    verdict = bn_verdict(model, sites)
    problem = bn_problem(model, verdict)
    if problem and verdict in ("bn-folded", "no-bn"):
        raise NoStatisticsError(f"{label}: {problem}", verdict)
    if problem:
        raise ModelError(f"{label}: {problem}")
    return sites
