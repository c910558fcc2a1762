"""BatchNormalization sites: where each BN reads its input, and the running statistics it stores."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx

from onnx_datagen.errors import ModelError, NoStatisticsError
from onnx_datagen.graph.constants import constant_tensors, unique_node_names

BN_OP = "BatchNormalization"
CONV_OPS = ("Conv", "ConvTranspose", "QLinearConv", "ConvInteger")


@dataclass(frozen=True)
class BnSite:
    """One BatchNormalization node. `input` is the tensor whose statistics the BN's running stats describe."""

    name: str
    input: str
    producer: str  # op type that produces `input` ("graph input" if it is a model input)
    running_mean: np.ndarray
    running_var: np.ndarray
    epsilon: float

    @property
    def channels(self) -> int:
        return int(self.running_mean.shape[0])

    @property
    def running_std(self) -> np.ndarray:
        return np.sqrt(np.maximum(self.running_var, 0.0))


def find_bn_sites(model: onnx.ModelProto) -> list[BnSite]:
    """All BatchNormalization nodes in graph order, with their statistics read from constants."""
    constants = constant_tensors(model)
    producers = {out: node.op_type for node in model.graph.node for out in node.output}
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
        epsilon = next((a.f for a in node.attribute if a.name == "epsilon"), 1e-5)
        sites.append(
            BnSite(name, node.input[0], producers.get(node.input[0], "graph input"), mean, var, float(epsilon))
        )
    return sites


# Normalisations that compute their statistics from each input and store none to invert.
NORMS_WITHOUT_RUNNING_STATS = {"LayerNormalization", "GroupNormalization", "InstanceNormalization"}


def bn_verdict(model: onnx.ModelProto, sites: list[BnSite]) -> str:
    """'ready', 'corrupt-bn' (impossible statistics, see corrupt_bn), 'bn-folded' (convolutions but no BN:
    folded at export) or 'no-bn' (no BN to begin with, e.g. a LayerNorm/GroupNorm model, even if it has a
    convolutional stem)."""
    if sites:
        return "corrupt-bn" if corrupt_bn(model) else "ready"
    ops = {node.op_type for node in model.graph.node}
    if ops & set(CONV_OPS) and not ops & NORMS_WITHOUT_RUNNING_STATS:
        return "bn-folded"
    return "no-bn"


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


def corrupt_bn(model: onnx.ModelProto) -> str | None:
    """Why the first BatchNormalization's stored numbers cannot come from training, or None if all can.

    A NaN/Inf anywhere, or a negative variance, turns the loss NaN only once optimisation runs, where it reads
    as a divergence (lower --lr); checked up front it names the layer instead. A zero variance (a channel that
    never varied: dead, or its statistics never collected) is refused too. Scale and bias are checked where
    they are constants.
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
            checks = [(~np.isfinite(values), "not finite")]
            if position == 4:
                checks += [(values < 0, "negative"), (values == 0, "zero")]
            for bad, kind in checks:
                if bad.any():
                    channel = int(np.argmax(bad))
                    value = f"{values[channel]:g}" + (" (a dead channel?)" if kind == "zero" else "")
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
