import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from onnx_datagen.graph.bn_affine import bn_as_affine
from onnx_datagen.graph.explicit_pads import explicit_pads
from tests.conftest import bn_model, ort_run


@pytest.mark.parametrize("mode", ["SAME_UPPER", "SAME_LOWER"])
@pytest.mark.parametrize("op, size, stride", [("Conv", 7, 2), ("Conv", 8, 2), ("Conv", 6, 1), ("MaxPool", 7, 2)])
def test_explicit_pads_compute_what_auto_pad_computes(mode, op, size, stride):
    rng = np.random.default_rng(0)
    attrs = {"auto_pad": mode, "strides": [stride, stride]}
    inits = []
    if op == "Conv":
        inits.append(numpy_helper.from_array(rng.normal(size=(2, 2, 4, 3)).astype(np.float32), "w"))  # 4x3 kernel
        node = helper.make_node("Conv", ["x", "w"], ["y"], **attrs)
    else:
        node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[4, 3], **attrs)
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, size, size])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits,
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    x = rng.normal(size=(1, 2, size, size)).astype(np.float32)
    written = explicit_pads(model, {"x": x.shape})
    assert not any(a.name == "auto_pad" for a in written.graph.node[0].attribute)
    # The same kernel with the same pads (equal bytes here); at most 10x ORT's float32 error of these convolutions
    # against float64 (measured 8.7e-7).
    np.testing.assert_allclose(ort_run(written, {"x": x})[0], ort_run(model, {"x": x})[0], rtol=0, atol=1e-5)


def test_bn_as_affine_is_the_same_inference_function_without_batchnorm():
    model = onnx.shape_inference.infer_shapes(bn_model())
    x = np.random.default_rng(1).normal(size=(3, 3, 8, 8)).astype(np.float32)
    affine = bn_as_affine(model, {"c1": 4, "c2": 4})
    assert not any(n.op_type == "BatchNormalization" for n in affine.graph.node)
    assert not any(t.name.startswith("bn1_") for t in affine.graph.initializer)  # folded into the constants
    # Mul/Add instead of BN rounds differently: 10x ORT's float32 error on these logits against float64 (measured
    # 4.5e-7 affine, 3.5e-7 with BN; the gap 4.8e-7).
    np.testing.assert_allclose(ort_run(affine, {"x": x})[0], ort_run(model, {"x": x})[0], rtol=0, atol=5e-6)
