import numpy as np
import onnx
import pytest
import torch

from onnx_datagen.config.choices import Precision
from onnx_datagen.engines.torch.engine import TorchModel
from onnx_datagen.graph.prepare import prepare_model
from tests.conftest import DIGITS_MODEL, DIGITS_SIZE, bn_model, ort_run


def _compare_with_ort(prepared, batch: int) -> TorchModel:
    """The converted module's output and BN inputs against ONNX Runtime, within 10x torch's own float32 rounding:
    its gap to the same module in float64, measured on this CPU's kernels. (torch against ORT measured 0.8-1.2x
    that under every forced ISA, e.g. digits 3.8e-6 against 4.6e-6 with ONEDNN_MAX_CPU_ISA=AVX2.)"""
    model = TorchModel(prepared, "cpu", Precision.FP32)
    exact = TorchModel(prepared, "cpu", Precision.FP32)
    exact.module.double()
    x = np.random.default_rng(1).standard_normal((batch, *prepared.image.chw)).astype(np.float32)
    expected = ort_run(prepared.model, {prepared.image.name: x})
    forward, reference = model(torch.tensor(x)), exact(torch.tensor(x, dtype=torch.float64))
    ours, exact_values = [forward.outputs[0], *forward.bn_inputs], [reference.outputs[0], *reference.bn_inputs]
    rounding = max(float((a - b).abs().max()) for a, b in zip(ours, exact_values))
    for tensor, index in zip(ours, [0, *prepared.bn_output_index]):
        np.testing.assert_allclose(tensor.numpy(), expected[index], atol=10 * rounding, rtol=0)
    return model


@pytest.mark.numerics
@pytest.mark.parametrize("source", ["tiny", "digits", "legacy", "dynamo"])
def test_converted_module_matches_onnxruntime(source, torch_exports):
    model = {"tiny": lambda: bn_model(seed=2), "digits": lambda: str(DIGITS_MODEL)}.get(
        source, lambda: str(torch_exports[source])
    )()
    converted = _compare_with_ort(prepare_model(model), batch=5)
    assert not converted.module.training
    assert all(not p.requires_grad for p in converted.module.parameters())
    assert converted.micro_batch is None


@pytest.mark.numerics
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
    # Equal bytes here; another CPU may pick other kernels per batch size, so 10x this module's float32 rounding
    # (its outputs against float64: 2.9e-7 native, 3.8e-7 with ATEN_CPU_CAPABILITY=default).
    np.testing.assert_allclose(full.outputs[0][:4].numpy(), torch.cat(pairs).numpy(), atol=4e-6, rtol=0)
    assert full.bn_inputs[0].shape[0] == 5


def test_gradient_reaches_only_the_image():
    prepared = prepare_model(bn_model())
    model = TorchModel(prepared, "cpu", Precision.FP32)
    x = torch.randn(2, 3, 8, 8, requires_grad=True)
    forward = model(x)
    (forward.bn_inputs[1].pow(2).mean() + forward.outputs[0].sum()).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.module.parameters())


@pytest.mark.numerics
def test_fast_mode_stays_close_to_fp32():
    prepared = prepare_model(str(DIGITS_MODEL))
    x = torch.randn(8, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    exact = TorchModel(prepared, "cpu", Precision.FP32)(x)
    fast = TorchModel(prepared, "cpu", Precision.FAST)(x)
    for a, b in zip(exact.bn_inputs, fast.bn_inputs):
        assert b.dtype == torch.float32
        # bf16 keeps 8 mantissa bits: measured 5.7e-3 at most over 20 inputs, the same with every forced ISA
        # (native AVX-512 BF16, ONEDNN_MAX_CPU_ISA=AVX2, ATEN_CPU_CAPABILITY=default); 5x that
        assert float((a - b).norm() / a.norm()) < 0.03


def test_a_batch_releases_its_gradient_after_its_step():
    # A 224x224 group of 256 images is 32 batches: a gradient kept until each batch's next step is 0.2 GB held.
    from onnx_datagen.config.generation import GenerationConfig
    from onnx_datagen.config.normalization import Normalization
    from onnx_datagen.engines.base import Phase
    from onnx_datagen.engines.torch.engine import TorchEngine

    digits = Normalization((0.3,), (0.32,), 1.0, "digits")
    config = GenerationConfig(granularity="per-batch", n_iter=1, normalization=digits)
    engine = TorchEngine(prepare_model(str(DIGITS_MODEL)), config.resolve(*DIGITS_SIZE))
    batch = engine._new_batch(0, 4)
    engine._start_phase([batch], Phase(1))
    start = batch.params.detach().clone()
    engine._step(batch, 0)
    assert batch.params.grad is not None and float(batch.params.grad.abs().sum()) > 0
    batch.optimizer.step()
    engine._after_update(batch, 0)
    assert batch.params.grad is None and not torch.equal(batch.params.detach(), start)
