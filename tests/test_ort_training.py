"""The ort-training engine (issue 7) against the torch engine: same losses, same images, same statistics.

Runs in the ort-training environment only (pytest -m ort_training; .ci/run builds it): onnxruntime-training
and onnxruntime cannot share one environment.
"""

import json

import numpy as np
import onnx
import pytest

import onnx_datagen
from onnx_datagen import GenerationConfig
from onnx_datagen.errors import ConfigError
from onnx_datagen.presets import load_preset
from tests.cli.test_cli import run
from tests.conftest import DIGITS_MODEL, bn_model, save

pytestmark = pytest.mark.ort_training
DIGITS_NORM = {"mean": [0.3], "std": [0.32]}
# Measured here (20 iterations x 2 batches, digits CNN): largest relative loss gap 9e-7 (mct per batch) and
# 6e-5 (mct, all-images: the cached moments carry ORT's float rounding from batch to batch).
CURVE_TOLERANCE = 1e-3


def run_both(settings: dict, n_images: int = 32):
    out = {}
    for backend in ("torch", "ort-training"):
        config = GenerationConfig.from_dict({**settings, "normalization": DIGITS_NORM, "backend": backend})
        reports = []
        dataset = onnx_datagen.generate(str(DIGITS_MODEL), n_images=n_images, config=config, progress=reports.append)
        out[backend] = (np.array([r.loss for r in reports]), dataset)
    return out["torch"], out["ort-training"]


@pytest.mark.parametrize(
    "settings",
    [
        load_preset("mct"),  # all-images statistics, flip + smoothing + crop, clamp, RAdam lr 16, output loss
        {**load_preset("mct"), "granularity": "per-batch"},
        {**load_preset("mct"), "granularity": "per-image"},
        {"pipeline": "jitter-and-flip", "clipping": "clamp-canvas", "bn_loss": "l2-norm-mean-var", "optimizer": "adam",
         "lr": 0.1, "scheduler": "cosine", "granularity": "per-batch", "output_loss": "inverse-min-max"},
        {"pipeline": "identity", "clipping": "reflect", "optimizer": "adam", "lr": 0.1, "granularity": "per-batch",
         "layer_weighting": "first-layer-multiplier", "init": "fractal"},
    ],
    ids=["mct", "mct-per-batch", "mct-per-image", "jitter-flip-clamp-canvas", "identity-reflect-fractal"],
)  # fmt: skip
def test_same_losses_images_and_statistics_as_torch(settings):
    (torch_losses, torch_set), (ort_losses, ort_set) = run_both({**settings, "n_iter": 20, "batch_size": 16})
    assert len(ort_losses) == len(torch_losses) == 40
    assert abs(ort_losses[0] - torch_losses[0]) <= 1e-4 * abs(torch_losses[0])
    np.testing.assert_allclose(ort_losses, torch_losses, rtol=CURVE_TOLERANCE)
    # Adam normalises each pixel's step, so float noise in near-zero gradients can move single pixels (measured:
    # 1.7e-6 at most per batch with RAdam, 3e-3 with Adam, 0.03 with RAdam at lr 16 over shared all-images
    # statistics); the set as a whole stays the same.
    gap = np.abs(ort_set.images - torch_set.images)
    assert gap.mean() < 1e-4 and gap.max() < 0.05
    ort_stats, torch_stats = ort_set.manifest["statistics"], torch_set.manifest["statistics"]
    assert ort_stats["bn_match_final"] < 0.8 * ort_stats["bn_match_initial"]  # it optimised
    assert ort_stats["bn_match_final"] == pytest.approx(torch_stats["bn_match_final"], rel=CURVE_TOLERANCE)
    assert ort_set.manifest["backend"]["name"] == "ort-training"


def test_unsupported_settings_are_refused_by_name():
    config = GenerationConfig(normalization=onnx_datagen.Normalization((0.3,), (0.32,)), backend="ort-training")
    with pytest.raises(ConfigError, match="does not support class targets and image priors .*; use --backend torch"):
        onnx_datagen.generate(str(DIGITS_MODEL), n_images=4, config=config.replace(labels="balanced"))
    with pytest.raises(ConfigError, match="--bn-loss slack-l2-square"):
        onnx_datagen.generate(str(DIGITS_MODEL), n_images=4, config=config.replace(bn_loss="slack-l2-square"))
    with pytest.raises(ConfigError, match="--low-res-fraction \\(one training graph per image size\\)"):
        half = config.replace(low_res_fraction=0.5, pipeline="jitter-and-flip")
        onnx_datagen.generate(str(DIGITS_MODEL), n_images=4, config=half)


def same_upper_model() -> onnx.ModelProto:
    """The tiny BN model with its first conv padded by auto_pad SAME_UPPER (tf2onnx's habit): onnx2torch cannot
    convert that, ONNX Runtime trains through it."""
    model = bn_model()
    conv = next(n for n in model.graph.node if n.name == "conv1")
    del conv.attribute[:]
    conv.attribute.append(onnx.helper.make_attribute("auto_pad", "SAME_UPPER"))
    return model


def test_auto_falls_back_to_ort_training_when_onnx2torch_cannot_convert(tmp_path, capsys):
    path = save(same_upper_model(), tmp_path / "same_upper.onnx")
    args = ["generate", path, "--optimizer", "adam", "--lr", "0.1", "--n-iter", "20", "-n", "16", "--batch-size", "8"]
    code, _, err = run([*args, "-q", "-o", tmp_path / "o"], capsys)
    assert code == 0, err
    assert err.startswith("note: ") and "the torch backend cannot convert this model" in err
    assert "--backend auto uses ort-training instead" in err
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["backend"]["name"] == "ort-training"
    assert manifest["statistics"]["bn_loss_final"] < manifest["statistics"]["bn_loss_initial"]
    code, _, err = run([*args, "--backend", "torch", "-o", tmp_path / "t"], capsys)
    assert code == 1 and "the torch backend cannot convert this model" in err


def test_same_bytes_with_one_and_two_threads():
    import torch

    config = GenerationConfig.from_dict(
        {
            "normalization": DIGITS_NORM,
            "granularity": "per-batch",
            "n_iter": 10,
            "batch_size": 16,
            "backend": "ort-training",
        }
    )
    before = torch.get_num_threads()
    images = []
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)  # the ORT session takes torch's thread count
            dataset = onnx_datagen.generate(str(DIGITS_MODEL), n_images=32, config=config)
            assert dataset.manifest["backend"]["threads"] == threads
            images.append(dataset.images)
    finally:
        torch.set_num_threads(before)
    np.testing.assert_array_equal(images[0], images[1])
    assert dataset.manifest["determinism"]["byte_identical"]
