"""Every exporter, read back the way its toolchain documents, run through the ONNX model in onnxruntime.

Model-input exports must give back the generated images bit for bit; 8-bit pixel exports (png, hailo,
rknn) within half an 8-bit level. The consumers that install from PyPI (ONNX Runtime, NNCF +
OpenVINO, Polygraphy) are fed for real in test_consumers.py.
"""

import glob
import importlib.util
import json
import re

import numpy as np
import pytest
from onnx_datagen.exporters import RECORD, USAGE, exporters

import onnx_datagen
from onnx_datagen import Dataset, GenerationConfig, Normalization
from onnx_datagen.config.choices import ChannelOrder
from tests.conftest import bn_model, ort_run, save

TOOLCHAINS = [n for n in exporters() if n not in ("npy", "png")]


def load_script(path):
    """Import a generated standalone script the way a user's `sys.path.insert` + import would."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def to_nchw(nhwc):
    return np.ascontiguousarray(nhwc.transpose(0, 3, 1, 2))


def channel_values(text):
    return np.asarray(json.loads(text), dtype=np.float64).reshape(1, -1, 1, 1)


# --- readers, each following its toolchain's documentation; all return N x C x H x W model input ---


def read_npy_folder(folder):
    return np.concatenate([np.load(f) for f in sorted(glob.glob(str(folder / "*.npy")))])


def read_onnxruntime(folder, entry):
    reader = load_script(folder / "calibration_reader.py").NpyFolderReader()
    return np.concatenate([feed[entry["input"]] for feed in iter(reader.get_next, None)])


def read_polygraphy(folder, entry):
    from polygraphy.json import load_json

    from_json = np.concatenate([feed[entry["input"]] for feed in load_json(str(folder / "inputs.json"))])
    from_script = np.concatenate([feed[entry["input"]] for feed in load_script(folder / "data_loader.py").load_data()])
    np.testing.assert_array_equal(from_json, from_script)
    return from_json


def read_qnn(folder, entry):
    paths = (folder / "input_list.txt").read_text().splitlines()
    assert all(p.startswith("/") for p in paths)  # absolute, as Qualcomm's tools need
    arrays = np.concatenate([np.fromfile(p, dtype="<f4").reshape(entry["file_shape"]) for p in paths])
    return to_nchw(arrays) if entry["layout"] == "NHWC" else arrays


def read_hailo(folder, entry):
    pixels = np.load(folder / "calib_nhwc.npy")
    assert pixels.dtype == np.float32 and pixels.min() >= 0 and pixels.max() <= 255
    assert np.array_equal(pixels, np.round(pixels))  # whole pixel values
    line = (folder / "normalization.alls").read_text()
    mean, std = re.fullmatch(r"normalization1 = normalization\((\[.*?\]), (\[.*?\])\)\n", line).groups()
    return ((to_nchw(pixels) - channel_values(mean)) / channel_values(std)).astype(np.float32)


def read_pixels(paths, entry):
    """8-bit image files decoded as RGB (RKNN and image tools do), normalised with the recorded mean/std."""
    import cv2

    images = [cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in paths]
    images = [cv2.cvtColor(i, cv2.COLOR_BGR2RGB) if i.ndim == 3 else i[:, :, None] for i in images]
    mean, std = (np.asarray(entry[k], dtype=np.float64).reshape(1, -1, 1, 1) for k in ("mean_255", "std_255"))
    return ((to_nchw(np.stack(images).astype(np.float64)) - mean) / std).astype(np.float32)


def read_rknn(folder, entry):
    paths = (folder / "dataset.txt").read_text().splitlines()
    assert all(p.startswith("/") for p in paths)  # RKNN skips relative paths it cannot resolve
    usage = (folder / USAGE).read_text()
    assert "mean_values=[[123.675, 116.28, 103.53]], std_values=[[58.395, 57.12, 57.375]]" in usage
    return read_pixels(paths, entry)


def read_tflite(folder, entry):
    nhwc = np.load(folder / "calib_nhwc.npy")
    yielded = [item[0] for item in load_script(folder / "representative_dataset.py").representative_dataset()]
    assert all(y.shape == (1, *nhwc.shape[1:]) for y in yielded)
    np.testing.assert_array_equal(np.concatenate(yielded), nhwc)
    return to_nchw(nhwc)


def read_mct(folder, entry):
    batches = [item[0] for item in load_script(folder / "representative_data.py").representative_data_gen()]
    np.testing.assert_array_equal(np.concatenate(batches), np.load(folder / "calib.npy"))
    return np.concatenate(batches)


READERS = {
    "npy": lambda folder, entry: np.load(folder / "images.npy"),
    "openvino": lambda folder, entry: read_npy_folder(folder / "samples"),
    "onnxruntime": read_onnxruntime,
    "quark": lambda folder, entry: read_npy_folder(folder),
    "modelopt": lambda folder, entry: np.load(folder / "calib.npy"),
    "polygraphy": read_polygraphy,
    "qnn": read_qnn,
    "tflite": read_tflite,
    "mct": read_mct,
    "hailo": read_hailo,
    "rknn": read_rknn,
    "png": lambda folder, entry: read_pixels(sorted(folder.glob("*.png")), entry),
}
PIXEL_FORMATS = {"png", "hailo", "rknn"}


def test_every_exporter_has_a_reader_here_and_a_one_line_description():
    assert set(READERS) == set(exporters())
    for name, module in exporters().items():
        assert module.SPEC.name == name and "\n" not in module.SPEC.description and len(module.SPEC.description) < 110


RGB = Normalization.preset("imagenet")


@pytest.fixture(scope="module")
def rgb(tmp_path_factory):
    """A 3-channel model (so channel order matters) and a dataset of it, saved in every format."""
    root = tmp_path_factory.mktemp("rgb")
    model = save(bn_model(), root / "model.onnx")
    config = GenerationConfig(normalization=RGB, n_iter=4, batch_size=4)
    dataset = onnx_datagen.generate(str(model), n_images=8, config=config)
    dataset.save(root / "calib", list(exporters()))
    return model, dataset, root / "calib"


@pytest.mark.parametrize("name", list(exporters()))
def test_export_reads_back_and_runs_like_the_generated_images(rgb, name):
    model, dataset, calib = rgb
    manifest = json.loads((calib / "manifest.json").read_text())
    entry = manifest["formats"][name]
    folder = calib / entry["folder"]
    got = READERS[name](folder, entry)
    assert got.shape == dataset.images.shape and got.dtype == np.float32
    expected_out = ort_run(onnx_load(model), {"x": dataset.images})[0]
    out = ort_run(onnx_load(model), {"x": got})[0]
    if name in PIXEL_FORMATS:
        # 8-bit rounding: at most half a level per value (generation clamps to the pixel range,
        # so nothing is clipped), and the manifest states the error it measured.
        level = 1 / 255 / np.asarray(RGB.std).reshape(1, -1, 1, 1)
        assert entry["clipped_fraction"] == 0.0
        assert np.all(np.abs(got - dataset.images) <= level / 2 + 1e-6)
        assert entry["round_trip_max_abs_error"] == pytest.approx(np.abs(got - dataset.images).max(), rel=1e-5)
        assert entry["value_space"] == "pixels" and entry["mean_255"] == pytest.approx([123.675, 116.28, 103.53])
        np.testing.assert_allclose(out, expected_out, atol=0.02 * np.abs(expected_out).max())
    else:
        np.testing.assert_array_equal(got, dataset.images)
        np.testing.assert_array_equal(out, expected_out)
        assert entry["value_space"] == "model-input"
        assert entry["value_range"] == [float(dataset.images.min()), float(dataset.images.max())]
    assert entry["n_images"] == 8 and entry["dtype"] in ("float32", "uint8") and entry["layout"]
    listed = manifest["files"][name]
    assert all((calib / f).is_file() for f in listed)
    if name in TOOLCHAINS:
        assert (folder / USAGE).is_file() and (folder / RECORD).is_file()
        record = json.loads((folder / RECORD).read_text())
        assert record["format"] == name and record["source"]["model_sha256"] == manifest["model"]["sha256"]
        assert sorted(f"{entry['folder']}/{f}" for f in record["files"]) == sorted(listed)
        assert str(folder.resolve()) in (folder / USAGE).read_text() or name in ("quark",)


def onnx_load(path):
    import onnx

    return onnx.load(str(path))


def test_qnn_nchw_layout_and_no_temporary_files(rgb, tmp_path):
    _, dataset, calib = rgb
    dataset.export(["qnn"], tmp_path, layout="nchw")
    record = json.loads((tmp_path / "qnn" / RECORD).read_text())
    assert record["layout"] == "NCHW" and record["file_shape"] == [1, 3, 8, 8]
    np.testing.assert_array_equal(read_qnn(tmp_path / "qnn", record), dataset.images)
    assert "qairt-converter" in (tmp_path / "qnn" / USAGE).read_text()
    assert not list(calib.rglob("*.tmp*")) and not list(tmp_path.rglob("*.tmp*"))


def test_fixed_batch_model_gets_whole_batches(tmp_path):
    model = save(bn_model(batch=4), tmp_path / "b4.onnx")
    config = GenerationConfig(normalization=RGB, n_iter=2, batch_size=4)
    dataset = onnx_datagen.generate(str(model), n_images=10, config=config)
    assert dataset.input_batch == 4
    dataset.save(tmp_path / "calib", ["npy", "onnxruntime", "modelopt"])
    samples = sorted((tmp_path / "calib" / "onnxruntime" / "samples").glob("*.npy"))
    assert [np.load(s).shape for s in samples] == [(4, 3, 8, 8)] * 2  # the last 2 images do not fill a run
    for s in samples:  # each file is a valid feed for the fixed-batch model
        ort_run(onnx_load(model), {"x": np.load(s)})
    assert np.load(tmp_path / "calib" / "modelopt" / "calib.npy").shape == (8, 3, 8, 8)
    assert json.loads((tmp_path / "calib" / "manifest.json").read_text())["formats"]["modelopt"]["n_images"] == 8
    with pytest.raises(onnx_datagen.UserError, match="fixed at 4 but the dataset has 3 images"):
        Dataset(dataset.images[:3], dataset.mean, dataset.std, 1.0, dataset.manifest).export(["quark"], tmp_path)


def test_nhwc_model_gets_nhwc_model_input(tmp_path):
    images = np.random.default_rng(0).standard_normal((4, 3, 5, 6)).astype(np.float32)
    manifest = {"model": {"input": "x", "input_layout": "NHWC", "input_batch": None}, "seed": 0}
    dataset = Dataset(images, RGB.mean, RGB.std, 1.0, manifest)
    dataset.export(["onnxruntime", "qnn", "tflite"], tmp_path)
    nhwc = images.transpose(0, 2, 3, 1)
    np.testing.assert_array_equal(read_npy_folder(tmp_path / "onnxruntime" / "samples"), nhwc)
    qnn = json.loads((tmp_path / "qnn" / RECORD).read_text())
    assert qnn["layout"] == "NHWC" and qnn["file_shape"] == [1, 5, 6, 3]  # already NHWC: no transpose
    np.testing.assert_array_equal(read_qnn(tmp_path / "qnn", qnn), images)
    np.testing.assert_array_equal(np.load(tmp_path / "tflite" / "calib_nhwc.npy"), nhwc)


def test_python_api_checks_names_and_layout_like_the_cli(rgb, tmp_path):
    _, dataset, _ = rgb
    with pytest.raises(onnx_datagen.UserError, match="unknown format 'tensorrt'"):
        dataset.export(["tensorrt"], tmp_path)
    with pytest.raises(onnx_datagen.UserError, match="--layout for qnn must be one of nhwc, nchw"):
        dataset.export(["qnn"], tmp_path, layout="chwn")
    with pytest.raises(onnx_datagen.UserError, match="applies only to qnn, not to mct"):
        dataset.export(["mct"], tmp_path, layout="nhwc")
    assert not any(tmp_path.iterdir())


def test_bgr_model_files_stay_rgb_and_raw_pixel_exports_keep_the_model_order(tmp_path):
    """A BGR model (Caffe/OpenCV style): image files hold RGB, so channel 2 of the model input is the files' red;
    Hailo's raw pixels are fed as the model takes them (BGR); RKNN is told to swap; PNGs read back exactly."""
    bgr = Normalization.preset("imagenet", channel_order=ChannelOrder.BGR)
    assert bgr.mean == RGB.mean[::-1]  # the preset given in the model's order
    model = save(bn_model(), tmp_path / "model.onnx")
    dataset = onnx_datagen.generate(str(model), n_images=4, config=GenerationConfig(normalization=bgr, n_iter=2))
    dataset.save(tmp_path / "calib", ["npy", "png", "hailo", "rknn"])
    manifest = json.loads((tmp_path / "calib" / "manifest.json").read_text())
    assert manifest["normalization"]["channel_order"] == "bgr"
    model_order = next(dataset.pixel_chunks(model_order=True))
    png = read_pixels(sorted((tmp_path / "calib" / "png").glob("*.png")), {"mean_255": [0] * 3, "std_255": [1] * 3})
    np.testing.assert_array_equal(png[:, ::-1], to_nchw(model_order.astype(np.float32)))  # files: RGB
    hailo = manifest["formats"]["hailo"]
    assert hailo["color"] == "BGR" and hailo["model_channel_order"] == "BGR"
    assert hailo["mean_255"] == pytest.approx([103.53, 116.28, 123.675])
    level = 1 / 255 / np.asarray(bgr.std).reshape(1, -1, 1, 1)
    assert np.all(np.abs(read_hailo(tmp_path / "calib" / "hailo", hailo) - dataset.images) <= level / 2 + 1e-6)
    rknn = manifest["formats"]["rknn"]
    assert rknn["color"] == "RGB" and "quant_img_RGB2BGR=True" in (tmp_path / "calib" / "rknn" / USAGE).read_text()
    reread = Dataset.load(tmp_path / "calib")
    assert reread.bgr
    png_only = tmp_path / "png_only"
    dataset.save(png_only, ["png"])
    np.testing.assert_allclose(Dataset.load(png_only).images, dataset.images, atol=float(level.max()) / 2 + 1e-6)
