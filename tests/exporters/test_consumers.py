"""The real consumers, fed with our exports and adapters: ONNX Runtime, NNCF (ONNX and OpenVINO IR), Polygraphy.

The embedded digits model is quantized with generated data and with real held-out digits; the
generated calibration must score like the real one on the images neither calibration saw.
"""

import glob
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx

from onnx_datagen.quant.adapters import (
    as_mct_representative_data_gen,
    as_nncf_dataset,
    as_ort_reader,
    as_tflite_representative_dataset,
)
from tests.conftest import DIGITS_MODEL
from tests.exporters.conftest import accuracy, ort_predict, real_calibration
from tests.exporters.test_exporters import load_script


def qdq_scales(path):
    model = onnx.load(str(path))
    return {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer if t.name.endswith("_scale")}


def test_ort_quantize_static_through_the_reader_script_and_the_adapter(calib, tmp_path):
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, quantize_static

    script = load_script(calib.directory / "onnxruntime" / "calibration_reader.py").NpyFolderReader()
    assert len(script) == 64
    quantize_static(str(DIGITS_MODEL), str(tmp_path / "script.onnx"), script, quant_format=QuantFormat.QDQ)
    adapter = as_ort_reader(calib.directory, batch_size=16)
    assert len(adapter) == 4 and isinstance(adapter, CalibrationDataReader)
    assert [feed["image"].shape for feed in adapter] == [(16, 1, 16, 16)] * 4  # iterable, like ORT's base class
    adapter.rewind()
    quantize_static(
        str(DIGITS_MODEL),
        str(tmp_path / "adapter.onnx"),
        adapter,
        quant_format=QuantFormat.QDQ,
        extra_options={"CalibStridedMinMax": 2},  # chunked through __len__/set_range
    )
    # MinMax over the same images: the per-sample files and the chunked adapter give the same scales
    # (to float rounding: batches of 16 and of 1 run different convolution kernels).
    by_script, by_adapter = qdq_scales(tmp_path / "script.onnx"), qdq_scales(tmp_path / "adapter.onnx")
    assert by_script.keys() == by_adapter.keys() and len(by_script) > 5
    for name in by_script:
        np.testing.assert_allclose(by_script[name], by_adapter[name], rtol=1e-6)


def nncf_int8(model, dataset, n):
    import nncf

    return nncf.quantize(model, dataset, subset_size=n)


def test_nncf_onnx_and_openvino_ir_calibrated_with_our_data_match_real_data(calib, held_out, tmp_path):
    import nncf
    import openvino as ov

    images, labels = held_out
    float_accuracy = accuracy(ort_predict(onnx.load(str(DIGITS_MODEL)), images), labels)
    # Generated data exactly as USAGE.md shows it; real data through the same nncf.Dataset shape.
    samples = [np.load(f) for f in sorted(glob.glob(str(calib.directory / "openvino" / "samples" / "*.npy")))]
    from_files = nncf.Dataset(samples, lambda x: {"image": x})
    real = nncf.Dataset(list(real_calibration()[:, None]), lambda x: {"image": x})
    results = {}
    for name, dataset in (("generated", from_files), ("adapter", as_nncf_dataset(calib)), ("real", real)):
        quantized = nncf_int8(onnx.load(str(DIGITS_MODEL)), dataset, 128)
        assert sum(n.op_type == "QuantizeLinear" for n in quantized.graph.node) >= 4
        results[f"onnx {name}"] = accuracy(ort_predict(quantized, images), labels)
    core = ov.Core()
    ov.save_model(ov.convert_model(str(DIGITS_MODEL)), str(tmp_path / "digits.xml"))
    for name, dataset in (("generated", from_files), ("real", real)):
        quantized = nncf_int8(core.read_model(str(tmp_path / "digits.xml")), dataset, 128)
        assert any(op.get_type_name() == "FakeQuantize" for op in quantized.get_ops())
        ov.save_model(quantized, str(tmp_path / f"{name}.xml"))
        compiled = core.compile_model(str(tmp_path / f"{name}.xml"), "CPU")
        results[f"ir {name}"] = accuracy(compiled(images)[0].argmax(1), labels)
    # Measured on 321 held-out digits: float 98.4; every INT8 variant, either data, ONNX and IR: 98.1.
    assert results["onnx adapter"] == results["onnx generated"], results  # same images, same model
    for engine in ("onnx", "ir"):
        assert results[f"{engine} generated"] >= results[f"{engine} real"] - 1.0, results
        assert results[f"{engine} generated"] >= float_accuracy - 1.5, (results, float_accuracy)


def test_polygraphy_run_feeds_our_json_and_our_data_loader(calib, tmp_path):
    folder = calib.directory / "polygraphy"
    expected = calib.model_input()
    polygraphy = [str(Path(sys.executable).parent / "polygraphy")]  # the console script pip installs
    for source in (
        ["--load-inputs", str(folder / "inputs.json")],
        ["--data-loader-script", str(folder / "data_loader.py")],
    ):
        saved = tmp_path / source[0].lstrip("-")  # a folder: one JSON per iteration
        run = subprocess.run(
            [*polygraphy, "run", str(DIGITS_MODEL), "--onnxrt", *source, "--save-inputs", str(saved)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0 and "PASSED" in run.stdout, run.stdout + run.stderr
        # Polygraphy matches wrong names by position and casts/reshapes wrong arrays with only a warning.
        log = run.stdout + run.stderr
        warnings = [line for line in log.splitlines() if line.startswith("[W]") and "'colored' module" not in line]
        assert not warnings and "randomly generated" not in log, warnings
        from polygraphy.json import load_json

        feeds = [load_json(str(f)) for f in sorted(saved.glob("*.json"))]
        fed = np.concatenate([feed["image"] for feed in feeds])
        np.testing.assert_array_equal(fed, expected)


def test_tflite_and_mct_adapters_yield_the_layouts_their_apis_take(calib):
    tflite = list(as_tflite_representative_dataset(calib)())
    assert len(tflite) == 64 and all(len(item) == 1 and item[0].shape == (1, 16, 16, 1) for item in tflite)
    np.testing.assert_array_equal(np.concatenate([i[0] for i in tflite]), calib.images.transpose(0, 2, 3, 1))
    mct = list(as_mct_representative_data_gen(calib, batch_size=24)())
    assert [item[0].shape for item in mct] == [(24, 1, 16, 16), (24, 1, 16, 16), (16, 1, 16, 16)]
    np.testing.assert_array_equal(np.concatenate([i[0] for i in mct]), calib.images)
