"""The loss functions lowered to ONNX compute what they compute on torch tensors (ONNX Runtime as the oracle)."""

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from onnx_datagen.config.choices import BnLoss, Granularity, OutputLoss
from onnx_datagen.objective.bn_alignment import BN_LOSSES, alignment_loss
from onnx_datagen.objective.lowering import GraphBuilder
from onnx_datagen.objective.output_loss import OUTPUT_LOSSES
from onnx_datagen.objective.statistics import moments
from onnx_datagen.objective.tails import tail_excess
from tests.conftest import ort_run

X = np.random.default_rng(0).normal(1.0, 2.0, size=(4, 3, 5, 6)).astype(np.float32)
Z = np.random.default_rng(1).normal(size=(4, 10)).astype(np.float32)
TARGETS = [(np.array([0.5, -0.2, 1.0]), np.array([1.5, 2.0, 0.7]))]


def objective(x, z, granularity, bn_loss, output_loss, targets=TARGETS):
    stats = [moments(x, granularity)]
    bn = alignment_loss(stats, targets, [0.7], BN_LOSSES[bn_loss], 1e-6)
    tail = tail_excess([x], targets, 1.0)  # bound 1: a third of X's values lie beyond it
    return bn + 1e-2 * OUTPUT_LOSSES[output_loss]([z], [], None) + 0.3 * tail


@pytest.mark.numerics
@pytest.mark.parametrize("granularity", [Granularity.PER_BATCH, Granularity.PER_IMAGE])
@pytest.mark.parametrize("bn_loss", [BnLoss.L2_SQUARE, BnLoss.L2_NORM_MEAN_VAR])
@pytest.mark.parametrize("output_loss", [OutputLoss.NEGATIVE_MIN_MAX, OutputLoss.INVERSE_MIN_MAX])
@pytest.mark.parametrize("opset", [17, 18])
def test_lowered_objective_matches_torch(granularity, bn_loss, output_loss, opset):
    torch_targets = [tuple(torch.tensor(t, dtype=torch.float32) for t in pair) for pair in TARGETS]
    expected = objective(torch.tensor(X), torch.tensor(Z), granularity, bn_loss, output_loss, torch_targets)
    b = GraphBuilder(opset)
    total = objective(b.value("x", X.shape), b.value("z", Z.shape), granularity, bn_loss, output_loss)
    graph = helper.make_graph(
        b.nodes, "loss",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, list(v.shape)) for n, v in (("x", X), ("z", Z))],
        [b.output(total, "loss")], b.initializers,
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(model)
    assert {n.op_type for n in model.graph.node}.isdisjoint({"Sum", "ReduceMax", "ReduceMin"})  # no ORT gradient
    got = ort_run(model, {"x": X, "z": Z})[0]
    # 10x the larger float32 error of the two against torch in float64 (measured, all cases and forced ISAs:
    # ORT 2.7e-7, torch 1.6e-7 relative; the gap 4.0e-7)
    assert float(got) == pytest.approx(float(expected), rel=3e-6)


def test_numpy_operands_on_the_left_become_constants():
    b = GraphBuilder(17)
    value = np.ones(3) - b.value("v", (3,))
    assert value.shape == (3,) and b.nodes[-1].op_type == "Sub"
    assert numpy_helper.to_array(b.initializers[-1]).tolist() == [1.0, 1.0, 1.0]
