"""--preset prior: optimisation without BN statistics, on a model whose BatchNorm was folded away."""

import json

import numpy as np

import onnx_datagen
from onnx_datagen import GenerationConfig
from onnx_datagen.fractal import fractal_pixels
from onnx_datagen.presets import load_preset
from tests.cli.test_cli import run
from tests.conftest import bn_model, ort_run, save


def test_prior_lowers_its_loss_on_a_folded_model_and_pushes_towards_balanced_classes(tmp_path):
    folded = bn_model(folded=True)
    config = GenerationConfig.from_dict({**load_preset("prior"), "n_iter": 40, "batch_size": 10})
    losses = []
    dataset = onnx_datagen.generate(folded, 20, config, progress=lambda report: losses.append(report.loss))
    assert dataset.manifest["method"] == "prior" and dataset.manifest["statistics"] is None
    assert dataset.manifest["labels"] == [i % 10 for i in range(20)]
    # Measured (40 iterations, random toy weights): 2.88 -> 1.94; targets hit 10 % -> 30 %.
    assert np.mean(losses[-2:]) < 0.8 * np.mean(losses[:2]), (losses[:2], losses[-2:])
    # The start is the fractal set; the optimised images moved from it, towards the balanced targets.
    from onnx_datagen.dataset import Dataset

    start = Dataset.from_pixels(fractal_pixels(20, 8, 8, 3, seed=0), *config.normalization.per_channel(3), 1.0)
    assert np.abs(dataset.images - start).mean() > 0.01
    targets = np.arange(20) % 10
    hits_before = (ort_run(folded, {"x": start})[0].argmax(1) == targets).mean()
    hits_after = (ort_run(folded, {"x": dataset.images})[0].argmax(1) == targets).mean()
    assert hits_after > hits_before, (hits_before, hits_after)


def test_cli_prior_on_folded_model(tmp_path, capsys):
    folded = save(bn_model(folded=True), tmp_path / "folded.onnx")
    args = ["generate", folded, "--preset", "prior", "--n-iter", "3", "-n", "4", "-q", "-o", tmp_path / "calib"]
    code, _, err = run(args, capsys)
    assert code == 0, err
    manifest = json.loads((tmp_path / "calib" / "manifest.json").read_text())
    assert manifest["config"]["init"] == "fractal" and manifest["labels"] == [0, 1, 2, 3]
