"""ONNX Runtime quantization and evaluation, run for real on the embedded digits model."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import onnx_datagen
from onnx_datagen import GenerationConfig, Normalization
from onnx_datagen.config.choices import CalibrateFor
from onnx_datagen.data.image_sets import load_labelled, random_images
from onnx_datagen.errors import UserError
from onnx_datagen.graph.image_input import find_image_input
from onnx_datagen.graph.load import load_model
from onnx_datagen.quant.evaluate import compare, evaluate, sqnr_db, top1
from onnx_datagen.quant.quantize import ImageBatchReader, QuantSettings, calibration_images, quantize
from onnx_datagen.runtime import has_4bit_activations, inference_session
from tests.conftest import DIGITS_MODEL, DIGITS_TEST, bn_model, save

DIGITS = Normalization((0.3,), (0.32,), 1.0, "digits")
HELD_OUT = (128, None)  # real calibration uses images [0:128]; everything is scored on the rest


def real_images(start=0, stop=128):
    return load_labelled(DIGITS_TEST).subset(start, stop).model_input(DIGITS)


def scales(path):
    """Every Q/DQ scale of a quantized model, by initializer name."""
    model = onnx.load(str(path))
    return {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer if t.name.endswith("_scale")}


def test_reader_batches_len_and_set_range():
    images = np.arange(10 * 2, dtype=np.float32).reshape(10, 2)
    reader = ImageBatchReader("x", images, batch_size=4)
    assert len(reader) == 3
    assert [len(b["x"]) for b in iter(reader.get_next, None)] == [4, 4, 2]
    reader.set_range(1, 2)
    assert reader.get_next()["x"][0, 0] == 8 and reader.get_next() is None
    reader.rewind()
    assert reader.get_next()["x"][0, 0] == 0


def test_w8a8_quantized_model_tracks_float(tmp_path):
    out = tmp_path / "q.onnx"
    result = quantize(DIGITS_MODEL, out, DIGITS_TEST, QuantSettings(n_samples=128), DIGITS)
    model = onnx.load(str(out))
    ops = {n.op_type for n in model.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops and not result.needs_basic_optimization
    props = {p.key: p.value for p in model.metadata_props}
    assert props["onnx_datagen.quant.quantize"] == "W8A8 minmax" and "128 images" in props["onnx_datagen.calibration"]
    # Per-channel symmetric int8 weights: one scale per output channel, zero points all 0.
    weight_zp = [t for t in model.graph.initializer if t.data_type == onnx.TensorProto.INT8 and "zero_point" in t.name]
    assert weight_zp and all(not onnx.numpy_helper.to_array(t).any() for t in weight_zp)
    assert any(v.size == 16 for v in scales(out).values())
    report = evaluate(DIGITS_MODEL, DIGITS_TEST, out, DIGITS, HELD_OUT)
    assert report.n_images == 321 and report.float_top1 > 97
    assert report.top1_agreement >= 98.5 and report.sqnr_db > 25, report


def test_chunked_calibration_gives_the_same_ranges(tmp_path):
    whole, chunked = tmp_path / "whole.onnx", tmp_path / "chunked.onnx"
    quantize(DIGITS_MODEL, whole, real_images(), QuantSettings(batch_size=16))
    quantize(DIGITS_MODEL, chunked, real_images(), QuantSettings(batch_size=16, chunk_batches=3))  # 8 batches: 2s
    a, b = scales(whole), scales(chunked)
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_4bit_activations_need_basic_optimisation_and_run_with_it(tmp_path):
    out = tmp_path / "a4.onnx"
    settings = QuantSettings(activation_type="uint4", method="percentile", n_samples=100)  # ragged last batch
    result = quantize(DIGITS_MODEL, out, DIGITS_TEST, settings, DIGITS)
    model = onnx.load(str(out))
    assert result.needs_basic_optimization and has_4bit_activations(model)
    assert next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 21
    with pytest.raises(Exception, match="uint4"):  # the premise: default optimisations reject 4-bit Q/DQ
        ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    x = real_images(0, 4)
    assert inference_session(model).run(None, {"image": x})[0].shape == (4, 10)


def test_int4_weights(tmp_path):
    out = tmp_path / "w4.onnx"
    quantize(DIGITS_MODEL, out, real_images(), QuantSettings(weight_type="int4"))
    types = {t.data_type for t in onnx.load(str(out)).graph.initializer}
    assert onnx.TensorProto.INT4 in types
    assert evaluate(DIGITS_MODEL, DIGITS_TEST, out, DIGITS, HELD_OUT).top1_agreement > 95


def test_random_baselines():
    gauss = random_images("gaussian", 64, (1, 16, 16), DIGITS, seed=3)
    assert gauss.shape == (64, 1, 16, 16) and abs(gauss.mean()) < 0.05 and abs(gauss.std() - 1) < 0.05
    uniform = random_images("uniform", 64, (1, 16, 16), DIGITS, seed=3)
    low, high = (0 - 0.3) / 0.32, (1 - 0.3) / 0.32
    assert uniform.min() >= low - 1e-6 and uniform.max() <= high + 1e-6 and uniform.std() > 0.8
    assert not np.array_equal(gauss, random_images("gaussian", 64, (1, 16, 16), DIGITS, seed=4))


def test_calibration_images_from_datagen_datasets(tmp_path):
    image = find_image_input(load_model(DIGITS_MODEL))
    dataset = onnx_datagen.generate(
        str(DIGITS_MODEL), 12, GenerationConfig(normalization=DIGITS, n_iter=2, batch_size=4)
    )
    dataset.save(tmp_path / "npy", ["npy"])
    dataset.save(tmp_path / "png", ["png"])
    from_npy, what, made_for = calibration_images(tmp_path / "npy", image, DIGITS, n_samples=10)
    assert np.array_equal(from_npy, dataset.images[:10]) and "datagen dataset" in what
    assert made_for is CalibrateFor.W8A8  # the default precision, recorded in the manifest
    from_png = calibration_images(tmp_path / "png", image, Normalization()).images  # manifest's normalisation wins
    assert np.abs(from_png - dataset.images).max() <= 0.5 / 255 / 0.32 + 1e-6  # 8-bit rounding only
    with pytest.raises(UserError, match="exceeds the 12 images"):
        calibration_images(tmp_path / "npy", image, DIGITS, n_samples=13)


def test_class_folder_set_equals_npz(tmp_path):
    import cv2

    data = load_labelled(DIGITS_TEST).subset(0, 30)  # holds no 8: a numbered folder set must not shift 9 -> 8
    for i, (pixels, label) in enumerate(zip(data.pixels, data.labels)):
        folder = tmp_path / "set" / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"{i:03d}.png"), pixels[..., 0])
    from_folders = load_labelled(tmp_path / "set", (16, 16), channels=1)
    order = np.argsort(data.labels, kind="stable")  # grouped by class, files in name order
    assert np.array_equal(from_folders.pixels, data.pixels[order])
    assert np.array_equal(from_folders.labels, data.labels[order])
    report = evaluate(DIGITS_MODEL, tmp_path / "set", None, DIGITS)
    assert report.float_top1 == evaluate(DIGITS_MODEL, DIGITS_TEST, None, DIGITS, (0, 30)).float_top1
    (tmp_path / "set" / "zebra").mkdir()  # names that are not all numbers: index in sorted order
    named = load_labelled(tmp_path / "set", (16, 16), 1)
    assert named.class_names[-1] == "zebra" and named.labels.max() == 8


def test_metrics_by_hand():
    logits = np.array([[2.0, 1.0], [0.0, 3.0], [1.0, 0.5]])
    assert top1(logits, np.array([0, 1, 1])) == pytest.approx(200 / 3)
    noisy = logits + np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 1.0]])  # flips the third prediction
    assert sqnr_db(logits, noisy) == pytest.approx(10 * np.log10((logits**2).sum() / 1.0))
    report = compare(logits, noisy, None)
    assert report.float_top1 is None and report.top1_agreement == pytest.approx(200 / 3)


def test_generated_calibration_matches_real_and_beats_noise_at_4bit_activations(tmp_path):
    """Issue 4, item 6: W8A4 MinMax is where noise measurably fails on the digits model.

    Measured (128 calibration images, 100 iterations, scored on the 321 held-out digits): top-1 agreement
    with float: real 99.5 / 100 (two draws), generated 100, Gaussian 96.9 (three seeds); SQNR real 16.8 dB,
    generated 15.1, Gaussian 13.0-13.5. At W8A8 every set, noise included, agrees on 99.5 %.
    On an AVX2-only CPU (ORT's float kernels differ) real and generated agree on 98.75 %, Gaussian on
    97.2 / 97.5; SQNR real 16.8, generated 15.1, Gaussian 12.9 / 13.3 dB.
    """
    generated = onnx_datagen.generate(str(DIGITS_MODEL), 128, GenerationConfig(normalization=DIGITS, n_iter=100)).images
    sets = {
        "real": real_images(),
        "generated": generated,
        "gauss0": random_images("gaussian", 128, (1, 16, 16), DIGITS, seed=0),
        "gauss1": random_images("gaussian", 128, (1, 16, 16), DIGITS, seed=1),
    }
    reports = {}
    for name, images in sets.items():
        quantize(DIGITS_MODEL, tmp_path / f"{name}.onnx", images, QuantSettings(activation_type="uint4"))
        reports[name] = evaluate(DIGITS_MODEL, DIGITS_TEST, tmp_path / f"{name}.onnx", DIGITS, HELD_OUT)
    gen, real = reports["generated"], reports["real"]
    noise_agreement = np.mean([reports[g].top1_agreement for g in ("gauss0", "gauss1")])
    noise_sqnr = np.mean([reports[g].sqnr_db for g in ("gauss0", "gauss1")])
    assert gen.top1_agreement >= real.top1_agreement - 1.0, reports  # within 1 point of real data
    assert gen.quantized_top1 >= real.quantized_top1 - 1.0, reports
    assert gen.top1_agreement >= noise_agreement + 1.0, reports  # above noise (measured +3.1, and +1.4 on AVX2)
    assert gen.sqnr_db >= noise_sqnr + 1.0, reports  # measured +1.8 dB


@pytest.mark.parametrize("batch", [1, 4])
def test_fixed_batch_models_calibrate_with_their_batch(batch, tmp_path):
    model = save(bn_model(batch=batch), tmp_path / "fixed.onnx")
    images = random_images("gaussian", 10, (3, 8, 8), Normalization(), seed=0)
    result = quantize(model, tmp_path / "q.onnx", images, QuantSettings(method="percentile"))
    assert result.n_calibration_images == (10 if batch == 1 else 8)  # whole batches only
    out = inference_session(onnx.load(str(tmp_path / "q.onnx"))).run(None, {"x": images[:batch]})[0]
    assert out.shape == (batch, 10)


def test_calibration_set_of_the_wrong_shape_is_refused(tmp_path):
    with pytest.raises(UserError, match=r"holds \(4, 3, 16, 16\) images but the model input is N x 1 x 16 x 16"):
        quantize(DIGITS_MODEL, tmp_path / "q.onnx", np.zeros((4, 3, 16, 16), np.float32))
    assert not (tmp_path / "q.onnx").exists()


def test_quantizing_a_detector_whose_shapes_onnxruntime_cannot_infer_leaves_no_stray_file(tmp_path, monkeypatch):
    """An FPN-style sum of two scales (Paddle's OCR detectors): ORT's symbolic shape inference cannot prove the two
    dims equal and saves sym_shape_infer_temp.onnx into the current folder; the user's folder stays clean."""
    from onnx import TensorProto, helper, numpy_helper

    weights = numpy_helper.from_array(np.full((4, 3, 3, 3), 0.1, np.float32), "w")
    scales = numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "s")
    roi = numpy_helper.from_array(np.array([], np.float32), "roi")
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["half"], pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Conv", ["x", "w"], ["quarter"], pads=[1, 1, 1, 1], strides=[4, 4]),
        helper.make_node("Resize", ["quarter", "roi", "s"], ["up"], mode="nearest"),
        helper.make_node("Add", ["half", "up"], ["y"]),
    ]
    image = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, "H", "W"])
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4, "h", "w"])
    graph = helper.make_graph(nodes, "fpn", [image], [out], initializer=[weights, scales, roi])
    model = save(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 12)], ir_version=7), tmp_path / "m.onnx"
    )
    user = tmp_path / "user"
    user.mkdir()
    monkeypatch.chdir(user)
    quantize(model, tmp_path / "q.onnx", "gaussian", QuantSettings(n_samples=4), size=(32, 32))
    assert (tmp_path / "q.onnx").is_file() and list(user.iterdir()) == []
