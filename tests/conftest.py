"""Tiny ONNX models built in memory with onnx.helper (no binary models in tests/), and shared helpers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

REPO = Path(__file__).resolve().parents[1]
DIGITS_MODEL = REPO / "models" / "digits_cnn.onnx"
DIGITS_TEST = REPO / "models" / "digits_test.npz"
DIGITS_ARGS = ["--mean", "0.3", "--std", "0.32"]
DIGITS_SIZE = (16, 16)  # the digits CNN's input height and width, for configs resolved without loading it


def bn_model(
    *,
    channels: int = 3,
    size: int | str = 8,
    batch: int | str = "N",
    folded: bool = False,
    stats_as_constants: bool = False,
    extra_input: bool = False,
    seed: int = 0,
    opset: int = 17,
) -> onnx.ModelProto:
    """Conv -> BN -> Relu -> Conv(stride 2) -> BN -> Relu -> GlobalAveragePool -> Flatten -> Gemm(10)."""
    rng = np.random.default_rng(seed)
    inits, nodes = [], []

    def init(name, array):
        inits.append(numpy_helper.from_array(np.asarray(array, dtype=np.float32), name))
        return name

    def bn(prefix, x, c, out):
        names = [f"{prefix}_{p}" for p in ("scale", "bias", "mean", "var")]
        values = [rng.uniform(0.5, 1.5, c), rng.normal(0, 0.1, c), rng.normal(0, 0.5, c), rng.uniform(0.5, 2.0, c)]
        if stats_as_constants:
            for name, value in zip(names[2:], values[2:]):
                nodes.append(
                    helper.make_node(
                        "Constant", [], [name], value=numpy_helper.from_array(np.asarray(value, dtype=np.float32), name)
                    )
                )
            init(names[0], values[0]), init(names[1], values[1])
        else:
            for name, value in zip(names, values):
                init(name, value)
        nodes.append(helper.make_node("BatchNormalization", [x, *names], [out], name=f"{prefix}", epsilon=1e-5))

    init("w1", rng.normal(0, 0.3, (8, channels, 3, 3)))
    init("w2", rng.normal(0, 0.2, (16, 8, 3, 3)))
    init("fc_w", rng.normal(0, 0.3, (10, 16)))
    init("fc_b", rng.normal(0, 0.1, 10))
    if folded:  # the weights torch's exporter computes when it folds BN are named onnx::Conv_<n>
        init("onnx::Conv_2", rng.normal(0, 0.1, 8))
        init("onnx::Conv_4", rng.normal(0, 0.1, 16))
        for tensor in inits[:2]:
            tensor.name = {"w1": "onnx::Conv_1", "w2": "onnx::Conv_3"}[tensor.name]
        nodes += [
            helper.make_node("Conv", ["x", "onnx::Conv_1", "onnx::Conv_2"], ["c1"], pads=[1, 1, 1, 1]),
            helper.make_node("Relu", ["c1"], ["r1"]),
            helper.make_node("Conv", ["r1", "onnx::Conv_3", "onnx::Conv_4"], ["c2"], pads=[1, 1, 1, 1], strides=[2, 2]),
            helper.make_node("Relu", ["c2"], ["r2"]),
        ]
    else:
        nodes.append(helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"))
        bn("bn1", "c1", 8, "b1out")
        nodes.append(helper.make_node("Relu", ["b1out"], ["r1"]))
        nodes.append(helper.make_node("Conv", ["r1", "w2"], ["c2"], pads=[1, 1, 1, 1], strides=[2, 2], name="conv2"))
        bn("bn2", "c2", 16, "b2out")
        nodes.append(helper.make_node("Relu", ["b2out"], ["r2"]))
    nodes += [
        helper.make_node("GlobalAveragePool", ["r2"], ["gap"]),
        helper.make_node("Flatten", ["gap"], ["flat"]),
        helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["logits"], transB=1),
    ]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, channels, size, size])]
    if extra_input:
        inputs.append(helper.make_tensor_value_info("x2", TensorProto.FLOAT, [batch, channels, size, size]))
        nodes.insert(0, helper.make_node("Add", ["x_raw", "x2"], ["x"]))
        inputs[0] = helper.make_tensor_value_info("x_raw", TensorProto.FLOAT, [batch, channels, size, size])
    graph = helper.make_graph(
        nodes, "tiny", inputs, [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [batch, 10])], inits
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return onnx.shape_inference.infer_shapes(model)


def save(model: onnx.ModelProto, path: Path) -> Path:
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="session")
def tiny_model() -> onnx.ModelProto:
    return bn_model()


@pytest.fixture
def tiny_path(tmp_path, tiny_model) -> Path:
    return save(tiny_model, tmp_path / "tiny.onnx")


@pytest.fixture(scope="session")
def torch_exports(tmp_path_factory) -> dict[str, Path]:
    """One small PyTorch CNN exported four ways: legacy with BN kept, dynamo unoptimised (dynamic and fixed
    batch), and the default dynamo export that folds BN away."""
    import warnings

    import torch
    from torch import nn
    from torch.export import Dim

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c1, self.b1 = nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8)
            self.c2, self.b2 = nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.BatchNorm2d(16)
            self.fc = nn.Linear(16 * 4 * 4, 10)

        def forward(self, x):
            x = torch.relu(self.b1(self.c1(x)))
            x = torch.relu(self.b2(self.c2(x)))
            return self.fc(torch.flatten(x, 1))

    torch.manual_seed(0)
    net = Net()
    for b in (net.b1, net.b2):
        b.running_mean.uniform_(-0.5, 0.5)
        b.running_var.uniform_(0.5, 2.0)
    net.eval()
    x = torch.randn(2, 3, 8, 8)
    root = tmp_path_factory.mktemp("exports")
    paths = {k: root / f"{k}.onnx" for k in ("legacy", "dynamo", "dynamo_fixed", "dynamo_folded")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            net,
            (x,),
            str(paths["legacy"]),
            dynamo=False,
            do_constant_folding=False,
            input_names=["input"],
            dynamic_axes={"input": {0: "N"}},
        )
        torch.onnx.export(
            net,
            (x,),
            str(paths["dynamo"]),
            dynamo=True,
            optimize=False,
            external_data=False,
            dynamic_shapes={"x": {0: Dim("N")}},
            verbose=False,
        )
        torch.onnx.export(
            net, (x,), str(paths["dynamo_fixed"]), dynamo=True, optimize=False, external_data=False, verbose=False
        )
        torch.onnx.export(net, (x,), str(paths["dynamo_folded"]), dynamo=True, external_data=False, verbose=False)
    return paths


def ort_run(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)
