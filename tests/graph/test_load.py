import pytest

from onnx_datagen.errors import ModelError
from onnx_datagen.graph.load import load_model


def test_loads_valid_model(tiny_path):
    assert load_model(tiny_path).graph.node


@pytest.mark.parametrize(
    "content, message",
    [(None, "no such file"), (b"", "not an ONNX model"), (b"hello, I am text\n" * 20, "not an ONNX model")],
)
def test_bad_files_give_one_line_errors(tmp_path, content, message):
    path = tmp_path / "model.onnx"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ModelError, match=message) as info:
        load_model(path)
    assert "\n" not in str(info.value)


def test_directory_is_rejected(tmp_path):
    with pytest.raises(ModelError, match="is a directory"):
        load_model(tmp_path)


def test_external_data_is_loaded_and_missing_data_reported(tmp_path, tiny_model):
    import onnx

    path = tmp_path / "ext.onnx"
    onnx.save(
        tiny_model,
        str(path),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location="ext.data",
        size_threshold=0,
    )
    assert load_model(path).graph.initializer[0].raw_data  # weights came back from the side file
    (tmp_path / "ext.data").unlink()
    with pytest.raises(ModelError, match="ext.data"):
        load_model(path)
