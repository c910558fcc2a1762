"""The method zoo: presets are plain config files, and each named method runs with its defining settings."""

import json

import numpy as np
import onnx
import pytest

from onnx_datagen import GenerationConfig
from onnx_datagen.config.parsing import load_config_file
from onnx_datagen.config.presets import describe_presets, load_preset, preset_paths
from tests.cli.test_cli import run
from tests.conftest import DIGITS_ARGS, DIGITS_MODEL, DIGITS_SIZE, bn_model, save


def test_presets_are_plain_config_files_with_a_description():
    described = describe_presets()
    assert {"mct", "fractal"} <= set(described) and all(described.values())
    for name, path in preset_paths().items():
        assert GenerationConfig.from_dict(load_config_file(path)) == GenerationConfig.from_dict(load_preset(name))
    # The mct preset spells out MCT's values; ours differ in the start (fractal), the iterations (100 up to
    # 112x112) and, above, in batch and group size, views and low-resolution phase (GenerationConfig.resolve).
    mct = GenerationConfig.from_dict(load_preset("mct")).resolve(32, 32)
    assert mct == GenerationConfig().resolve(32, 32).replace(init="gaussian", n_iter=500, method="bn-inversion")


def test_dgh_preset_runs_with_a_clamped_start_and_the_std_weight(tmp_path, capsys):
    from onnx_datagen.engines.torch.engine import TorchEngine
    from onnx_datagen.graph.prepare import prepare_model

    config = GenerationConfig.from_dict({**load_preset("dgh"), "normalization": {"mean": [0.3], "std": [0.32]}})
    assert config.std_weight == 10.0 and config.output_loss.value == "negative-min-max-bn-hinge"
    engine = TorchEngine(prepare_model(str(DIGITS_MODEL)), config.replace(batch_size=8).resolve(*DIGITS_SIZE))
    canvas = engine._new_batch(0, 8).params.detach()
    low, high = engine.pipeline.low, engine.pipeline.high
    assert bool((canvas >= low).all() and (canvas <= high).all())
    assert float((canvas == low).float().mean()) > 0.1  # N(0, 1) below -0.94 (pixel 0) is clamped: 17 %
    args = ["generate", DIGITS_MODEL, *DIGITS_ARGS, "--preset", "dgh", "--n-iter", "5", "--batch-size", "8", "-n", "16"]
    code, _, err = run([*args, "-q", "-o", tmp_path / "o"], capsys)
    assert code == 0, err
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["config"]["std_weight"] == 10.0
    assert manifest["statistics"]["bn_loss_final"] < manifest["statistics"]["bn_loss_initial"]


def test_zeroq_preset_optimises_per_image_without_augmentation(tmp_path, capsys):
    args = [
        "generate",
        DIGITS_MODEL,
        *DIGITS_ARGS,
        "--preset",
        "zeroq",
        "--n-iter",
        "30",
        "--batch-size",
        "8",
        "-n",
        "16",
    ]
    code, _, err = run([*args, "-q", "-o", tmp_path / "o"], capsys)
    assert code == 0, err
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    config = manifest["config"]
    assert (config["granularity"], config["pipeline"], config["optimizer"], config["init"]) == (
        "per-image",
        "identity",
        "adam",
        "uniform",
    )
    assert manifest["statistics"]["bn_loss_final"] < 0.5 * manifest["statistics"]["bn_loss_initial"]


def test_deepinversion_preset_targets_classes_and_lowers_its_bn_loss(tmp_path, capsys):
    args = ["generate", DIGITS_MODEL, *DIGITS_ARGS, "--preset", "deepinversion", "--n-iter", "40"]
    code, _, err = run([*args, "--batch-size", "16", "-n", "16", "-q", "-o", tmp_path / "o"], capsys)
    assert code == 0, err
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["labels"] == [i % 10 for i in range(16)]
    assert manifest["config"]["bn_loss"] == "l2-norm-mean-var" and manifest["canvas_margin"] == 0
    # DeepInversion is made for 2000 steps at lr 0.2; after 40: loss 37.1 -> 27.3, BN match 0.89 -> 0.62.
    stats = manifest["statistics"]
    assert stats["bn_loss_final"] < 0.85 * stats["bn_loss_initial"]
    assert stats["bn_match_final"] < 0.8 * stats["bn_match_initial"]
    images = np.load(tmp_path / "o" / "images.npy")
    assert images.min() >= (0 - 0.3) / 0.32 - 1e-5 and images.max() <= (1 - 0.3) / 0.32 + 1e-5  # clamp-canvas


def test_dsg_preset_derives_margins_and_lowers_its_slack_loss(tmp_path, capsys):
    import torch

    from onnx_datagen.config.choices import Granularity
    from onnx_datagen.engines.base import Group
    from onnx_datagen.engines.torch.engine import TorchEngine
    from onnx_datagen.graph.prepare import prepare_model

    preset = {**load_preset("dsg"), "normalization": {"mean": [0.3], "std": [0.32]}}
    prepared = prepare_model(str(DIGITS_MODEL))
    config = GenerationConfig.from_dict({**preset, "n_iter": 30, "batch_size": 8}).resolve(*DIGITS_SIZE)
    engine = TorchEngine(prepared, config)
    initial = engine._final_images([engine._new_batch(0, 8)])  # the starting images optimize() begins from
    _, final, _ = engine.optimize(Group(0, 0, 8))

    def slack_loss(images):
        x = torch.tensor(images)
        return float(engine._losses(engine._layer_moments(x, engine.model(x), Granularity.PER_IMAGE)))

    # one (mean, std) margin per BN layer, from the pilot's per-image gaps; 30 steps: slack loss 111.4 -> 2.8
    assert len(engine.margins) == len(prepared.bn_sites) and all(m > 0 and s > 0 for m, s in engine.margins)
    assert slack_loss(final) < 0.1 * slack_loss(initial)
    args = ["generate", DIGITS_MODEL, *DIGITS_ARGS, "--preset", "dsg", "--granularity", "per-batch", "-n", "8"]
    code, _, err = run([*args, "-o", tmp_path / "o"], capsys)
    assert code == 1 and "--sample-enhancement weighs single images, so it needs --granularity per-image" in err


@pytest.mark.numerics
def test_genie_preset_optimises_a_generator_per_batch_reproducibly(tmp_path):
    import onnx_datagen

    preset = {**load_preset("genie"), "normalization": {"mean": [0.3], "std": [0.32]}}
    config = GenerationConfig.from_dict({**preset, "n_iter": 40, "batch_size": 8})
    first = onnx_datagen.generate(str(DIGITS_MODEL), n_images=16, config=config)
    again = onnx_datagen.generate(str(DIGITS_MODEL), n_images=16, config=config)
    np.testing.assert_array_equal(first.images, again.images)
    # The generator's last BN is non-affine on batch statistics: each batch has mean 0 up to float32 rounding
    # (measured 2.9e-8 at most, native and forced ISAs; bound 10x) and std sqrt(var / (var + eps)), 1 - 6e-6 here
    # with BN's eps 1e-5 (the bound allows batch variances down to 0.005).
    for batch in (first.images[:8], first.images[8:]):
        assert abs(batch.mean()) < 3e-7 and abs(batch.std() - 1) < 1e-3
    stats = first.manifest["statistics"]
    assert stats["bn_loss_final"] < 0.5 * stats["bn_loss_initial"]
    assert first.manifest["config"]["parameterization"] == "generator" and first.manifest["config"]["swing"]


def test_generator_parameterization_refuses_pixel_settings(tmp_path, capsys):
    args = ["generate", DIGITS_MODEL, *DIGITS_ARGS, "--preset", "genie", "-n", "8", "-o", tmp_path / "o"]
    code, _, err = run([*args, "--init", "fractal"], capsys)
    assert code == 1 and "--parameterization generator makes the images from N(0, 1) latents" in err
    code, _, err = run([*args, "--clipping", "reflect"], capsys)
    assert code == 1 and "use --clipping clamp or none" in err


def optimised_batch(config: GenerationConfig, progress=None):
    """(the torch engine, the image size of each of its model calls, the images) of one batch of the digits model
    optimised with `config`."""
    from onnx_datagen.engines.base import Group
    from onnx_datagen.engines.torch.engine import TorchEngine
    from onnx_datagen.graph.prepare import prepare_model

    engine = TorchEngine(prepare_model(str(DIGITS_MODEL)), config.resolve(*DIGITS_SIZE))
    model, sizes = engine.model, []

    def recording(x):
        sizes.append(tuple(x.shape[2:]))
        return model(x)

    engine.model = recording
    _, images, _ = engine.optimize(Group(0, 0, 8), progress)
    engine.model = model
    return engine, sizes, images


def test_deepinversion_runs_two_thirds_at_half_resolution_then_restarts_at_full(tmp_path, caplog):
    import onnx_datagen
    from onnx_datagen.engines.base import Phase

    config = GenerationConfig.from_dict(
        {**load_preset("deepinversion"), "normalization": {"mean": [0.3], "std": [0.32]}}
    )
    assert (config.n_iter, int(config.n_iter * config.low_res_fraction)) == (3000, 2000)  # DeepInversion setting 0
    config = config.replace(n_iter=9, batch_size=8)  # 6 iterations at 8x8, then 3 at 16x16
    reports = []
    engine, sizes, images = optimised_batch(config, reports.append)
    # the starting images are measured first (full size), then 6 steps at 8x8 and 3 at 16x16, then the final images
    # (whether the group went backwards)
    assert sizes == [(16, 16)] + [(8, 8)] * 6 + [(16, 16)] * 4 and images.shape == (8, 1, 16, 16)
    lrs = [r.lr for r in reports]  # cosine over each phase, from 0.2 to 1e-4, restarting at the switch
    assert lrs[5] == 1e-4 and abs(lrs[6] - (1e-4 + (0.2 - 1e-4) * 0.75)) < 1e-9 and lrs[8] == 1e-4
    assert engine.engine_record()["low_resolution_iterations"] == {"8x8": 6}
    batch = engine._new_batch(0, 8)
    engine._start_phase([batch], Phase(3))
    assert batch.optimizer.defaults["betas"] == (0.5, 0.9)  # DeepInversion's Adam

    # A model with its size baked in (AveragePool over exactly 4x4 features) runs everything at full size.
    fixed = bn_model(size=8)
    node = next(n for n in fixed.graph.node if n.op_type == "GlobalAveragePool")
    node.op_type = "AveragePool"
    node.attribute.append(onnx.helper.make_attribute("kernel_shape", [4, 4]))
    path = save(fixed, tmp_path / "fixed.onnx")
    with caplog.at_level("WARNING", logger="onnx_datagen"):
        skipped = onnx_datagen.generate(str(path), n_images=8, config=config)
    assert "does not run at half resolution" in caplog.text and "all 9 iterations run at 8x8" in caplog.text
    assert skipped.manifest["engine"]["low_resolution_iterations"] == {}
    full = onnx_datagen.generate(str(path), n_images=8, config=config.replace(low_res_fraction=0.0))
    np.testing.assert_array_equal(skipped.images, full.images)


def test_coarse_to_fine_runs_each_low_resolution_size_in_turn(tmp_path, caplog):
    import onnx_datagen

    config = GenerationConfig(n_iter=9, batch_size=8, low_res_fraction=0.67, low_res_levels=2)
    engine, sizes, images = optimised_batch(config.replace(normalization={"mean": [0.3], "std": [0.32]}))
    # measured at full size; at 4x4, 8x8 and 16x16 in turn the all-images cache filled, then 3 steps; the final images
    assert sizes == [(16, 16)] + [(4, 4)] * 4 + [(8, 8)] * 4 + [(16, 16)] * 5 and images.shape == (8, 1, 16, 16)
    assert engine.engine_record()["low_resolution_iterations"] == {"4x4": 3, "8x8": 3}

    # A model that runs at half size but not at a quarter (a 3x3 AveragePool on 8x8 features: 2x2 at a quarter)
    # gives all its low-resolution iterations to half size.
    pooled = bn_model(size=16)
    node = next(n for n in pooled.graph.node if n.op_type == "GlobalAveragePool")
    node.op_type, node.output[0], features = "AveragePool", "pooled3x3", node.output[0]
    node.attribute.append(onnx.helper.make_attribute("kernel_shape", [3, 3]))
    pooled.graph.node.insert(list(pooled.graph.node).index(node) + 1,
                             onnx.helper.make_node("GlobalAveragePool", ["pooled3x3"], [features]))  # fmt: skip
    path = save(pooled, tmp_path / "pooled.onnx")
    with caplog.at_level("WARNING", logger="onnx_datagen"):
        halved = onnx_datagen.generate(str(path), n_images=8, config=config)
    assert "does not run at 1/4 resolution" in caplog.text and "run at 1/2 resolution and finer" in caplog.text
    assert halved.manifest["engine"]["low_resolution_iterations"] == {"8x8": 6}


def test_low_res_fraction_refusals(tmp_path, capsys):
    args = ["generate", DIGITS_MODEL, *DIGITS_ARGS, "-n", "8", "-o", tmp_path / "o"]
    code, _, err = run([*args, "--low-res-fraction", "0.5", "--pipeline", "smoothing-and-augmentation"], capsys)
    assert code == 1 and "use --pipeline jitter-and-flip or identity" in err
    code, _, err = run([*args, "--preset", "deepinversion", "--low-res-fraction", "1"], capsys)
    assert code == 1 and "--low-res-fraction must be in [0, 1), got 1.0" in err
    code, _, err = run([*args, "--beta1", "1"], capsys)
    assert code == 1 and "--beta1 must be in [0, 1), got 1.0" in err
