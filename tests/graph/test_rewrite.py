import numpy as np
from onnx.reference import ReferenceEvaluator

from onnx_datagen.graph.prepare import prepare_model
from onnx_datagen.graph.rewrite import expose_tensors
from tests.conftest import bn_model, ort_run


def test_exposed_outputs_are_the_bn_inputs_and_logits_are_unchanged():
    model = bn_model(seed=1)
    rewritten, index = expose_tensors(model, ["c1", "c2"])
    assert [o.name for o in rewritten.graph.output] == ["logits", "c1", "c2"] and index == [1, 2]
    assert len(model.graph.output) == 1  # the caller's model is untouched
    x = np.random.default_rng(0).standard_normal((3, 3, 8, 8)).astype(np.float32)
    ours = ort_run(rewritten, {"x": x})
    # An independent runtime (onnx's reference evaluator) computes the same BN inputs, up to float32 rounding:
    # 10x the larger error of the two against the same graph in float64 (measured: 2.4e-6 reference, 1.3e-6 ORT).
    reference = ReferenceEvaluator(rewritten).run(None, {"x": x})
    for got, want in zip(ours, reference):
        np.testing.assert_allclose(got, want, rtol=0, atol=2.5e-5)
    # Exposing conv outputs stops ORT fusing Conv+BN, hence float-rounding differences only: ~10x ORT's float32
    # error on these logits against float64 (measured 7.5e-7 unfused, 5.1e-7 fused; the gap 2.4e-7).
    np.testing.assert_allclose(ours[0], ort_run(model, {"x": x})[0], rtol=0, atol=1e-5)
    assert ours[1].shape == (3, 8, 8, 8) and ours[2].shape == (3, 16, 4, 4)


def test_prepare_exposes_bn_and_head_inputs_once_each():
    prepared = prepare_model(bn_model())
    names = [o.name for o in prepared.model.graph.output]
    assert names == ["logits", "c1", "c2", "flat"]
    assert prepared.bn_output_index == [1, 2] and prepared.head_output_index == [3]
    assert prepared.heads[0].weight_rows.shape == (10, 16)


def test_fixed_batch_is_relaxed_so_any_batch_runs():
    prepared = prepare_model(bn_model(batch=2))
    x = np.zeros((5, 3, 8, 8), dtype=np.float32)
    assert ort_run(prepared.model, {"x": x})[1].shape == (5, 8, 8, 8)
