import numpy as np
import onnx
import pytest
import torch

from onnx_datagen.backends.torch_backend import TorchModel
from onnx_datagen.config import Precision
from onnx_datagen.graph.prepare import prepare_model
from tests.conftest import DIGITS_MODEL, bn_model, ort_run


def _compare_with_ort(prepared, batch: int, atol: float) -> TorchModel:
    model = TorchModel(prepared, "cpu", Precision.FP32)
    x = np.random.default_rng(1).standard_normal((batch, *prepared.image.chw)).astype(np.float32)
    expected = ort_run(prepared.model, {prepared.image.name: x})
    forward = model(torch.tensor(x))
    np.testing.assert_allclose(forward.outputs[0].numpy(), expected[0], atol=atol, rtol=1e-4)
    for tensor, index in zip(forward.bn_inputs, prepared.bn_output_index):
        np.testing.assert_allclose(tensor.numpy(), expected[index], atol=atol, rtol=1e-4)
    return model


@pytest.mark.parametrize("source", ["tiny", "digits", "legacy", "dynamo"])
def test_converted_module_matches_onnxruntime(source, torch_exports):
    model = {"tiny": lambda: bn_model(seed=2), "digits": lambda: str(DIGITS_MODEL)}.get(
        source, lambda: str(torch_exports[source])
    )()
    converted = _compare_with_ort(prepare_model(model), batch=5, atol=1e-5)
    assert not converted.module.training
    assert all(not p.requires_grad for p in converted.module.parameters())
    assert converted.micro_batch is None


def test_fixed_batch_graph_runs_in_micro_batches(torch_exports):
    # The dynamo exporter bakes the batch into Reshape([2, 256]) when no dynamic shape is declared.
    raw = onnx.load(str(torch_exports["dynamo_fixed"]))
    assert raw.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 2
    prepared = prepare_model(str(torch_exports["dynamo_fixed"]))
    model = TorchModel(prepared, "cpu", Precision.FP32)
    assert model.micro_batch == 2
    x = torch.randn(5, 3, 8, 8)
    full = model(x)
    pairs = [model(x[i : i + 2]).outputs[0] for i in (0, 2)]
    np.testing.assert_allclose(full.outputs[0][:4].numpy(), torch.cat(pairs).numpy(), atol=1e-6)
    assert full.bn_inputs[0].shape[0] == 5


def test_gradient_reaches_only_the_image():
    prepared = prepare_model(bn_model())
    model = TorchModel(prepared, "cpu", Precision.FP32)
    x = torch.randn(2, 3, 8, 8, requires_grad=True)
    forward = model(x)
    (forward.bn_inputs[1].pow(2).mean() + forward.outputs[0].sum()).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.module.parameters())


def test_fast_mode_stays_close_to_fp32():
    prepared = prepare_model(str(DIGITS_MODEL))
    x = torch.randn(8, 1, 16, 16)
    exact = TorchModel(prepared, "cpu", Precision.FP32)(x)
    fast = TorchModel(prepared, "cpu", Precision.FAST)(x)
    for a, b in zip(exact.bn_inputs, fast.bn_inputs):
        assert b.dtype == torch.float32
        # bf16 keeps 8 mantissa bits: relative error around 1e-2
        assert float((a - b).norm() / a.norm()) < 0.03
