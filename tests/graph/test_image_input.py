import pytest
from onnx import TensorProto, helper

from onnx_datagen.errors import ModelError
from onnx_datagen.graph.image_input import find_image_input
from tests.conftest import bn_model


def test_single_input_static_shape():
    image = find_image_input(bn_model(channels=3, size=8))
    assert (image.name, image.chw, image.batch, image.layout) == ("x", (3, 8, 8), None, "NCHW")


def test_fixed_batch_is_reported():
    assert find_image_input(bn_model(batch=4)).batch == 4


def test_dynamic_height_width_defaults_to_224_with_a_note(caplog):
    model = bn_model(size="S")
    assert find_image_input(model).chw == (3, 224, 224)
    assert "give --size H W" in caplog.text
    assert find_image_input(model, size=(12, 10)).chw == (3, 12, 10)


def test_size_conflicting_with_static_shape():
    with pytest.raises(ModelError, match="fixed at 8"):
        find_image_input(bn_model(size=8), size=(16, 16))


def test_several_inputs_need_input_flag_and_extra_inputs_are_refused():
    model = bn_model(extra_input=True)
    with pytest.raises(ModelError, match="--input NAME"):
        find_image_input(model)
    with pytest.raises(ModelError, match="inputs besides the image"):
        find_image_input(model, name="x_raw")
    with pytest.raises(ModelError, match="has no input 'nope'"):
        find_image_input(model, name="nope")


def test_no_4d_float_input():
    graph = helper.make_graph(
        [helper.make_node("Identity", ["ids"], ["y"])],
        "g",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, ["N", 16])],
        [helper.make_tensor_value_info("y", TensorProto.INT64, ["N", 16])],
    )
    with pytest.raises(ModelError, match="no 4-D float image input"):
        find_image_input(helper.make_model(graph))


def test_nhwc_input_is_detected():
    graph = helper.make_graph(
        [helper.make_node("Transpose", ["x"], ["y"], perm=[0, 3, 1, 2])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 32, 32, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3, 32, 32])],
    )
    image = find_image_input(helper.make_model(graph))
    assert (image.layout, image.chw) == ("NHWC", (3, 32, 32))
