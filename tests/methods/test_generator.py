"""Method generator: train a conditional generator data-free, keep it as ONNX, sample it, start presets from it."""

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import onnx_datagen
from onnx_datagen import GenerationConfig
from onnx_datagen.config.presets import load_preset
from onnx_datagen.errors import ConfigError, ModelError
from onnx_datagen.images.generator_file import GeneratorFile, sample
from onnx_datagen.methods.generator import train_generator
from tests.cli.test_cli import run
from tests.conftest import DIGITS_ARGS, DIGITS_MODEL, DIGITS_SIZE, save

DIGITS_NORM = {"mean": [0.3], "std": [0.32]}


def generator_config(**changes) -> GenerationConfig:
    return GenerationConfig.from_dict({**load_preset("generator"), "normalization": DIGITS_NORM, **changes})


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    path = tmp_path_factory.mktemp("gen") / "gen.onnx"
    return train_generator(str(DIGITS_MODEL), path, generator_config(n_iter=60, batch_size=32))


def test_trained_generator_samples_reproducibly_in_any_slices(trained):
    generator = GeneratorFile.load(trained)
    assert (generator.latent_dim, generator.classes, generator.labels) == (256, 10, "labels")
    whole = generator.sample(seed=3, start=0, count=20)
    assert whole.shape == (20, 1, 16, 16)
    np.testing.assert_array_equal(generator.sample(seed=3, start=12, count=8), whole[12:])  # eval-mode BN
    assert not np.array_equal(generator.sample(seed=4, start=0, count=20), whole)
    dataset = sample(trained, 30, seed=3)
    np.testing.assert_array_equal(dataset.images[:20], whole)
    manifest = dataset.manifest
    assert manifest["labels"] == [i % 10 for i in range(30)] and manifest["model"]["input"] == "image"
    assert manifest["normalization"]["mean"] == [0.3]  # stored in the generator file by train-generator
    assert sample(trained, 4, labels="7").manifest["labels"] == [7] * 4


def test_generator_preset_matches_statistics_better_than_its_untrained_start():
    dataset = onnx_datagen.generate(str(DIGITS_MODEL), n_images=64, config=generator_config(n_iter=60))
    stats = dataset.manifest["statistics"]
    # 60 steps at batch 64: BN loss 0.978 -> 0.021, BN match 1.44 -> 0.24 (eval-mode samples, not training batches)
    assert stats["bn_loss_final"] < 0.1 * stats["bn_loss_initial"]
    assert stats["bn_match_final"] < 0.5 * stats["bn_match_initial"]
    assert dataset.manifest["labels"][:11] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0]
    assert dataset.manifest["diversity"]["classes_predicted"] >= 5


def test_init_from_starts_the_optimisation_from_the_generator(trained, tmp_path):
    from onnx_datagen.engines.torch.engine import TorchEngine
    from onnx_datagen.graph.prepare import prepare_model

    config = GenerationConfig.from_dict(
        {**load_preset("zeroq"), "normalization": DIGITS_NORM, "init_from": str(trained)}
    )
    engine = TorchEngine(prepare_model(str(DIGITS_MODEL)), config.replace(batch_size=8).resolve(*DIGITS_SIZE))
    start = engine._new_batch(1, 8).params.detach().numpy()  # batch 1: images 8..15; no canvas margin in zeroq
    # The start is the generator's sample itself, copied without arithmetic: equal bytes (measured on every ISA).
    np.testing.assert_array_equal(start, GeneratorFile.load(trained).sample(0, 8, 8))
    margin_config = generator_config().replace(
        method="bn-inversion", granularity="all-images", init_from=str(trained), labels=None
    )
    with_margin = TorchEngine(prepare_model(str(DIGITS_MODEL)), margin_config.resolve(*DIGITS_SIZE))
    canvas = with_margin._new_batch(0, 4).params.detach().numpy()
    margin = with_margin.pipeline.extra // 2
    np.testing.assert_array_equal(canvas[:, :, margin : margin + 16, margin : margin + 16],
                                  GeneratorFile.load(trained).sample(0, 0, 4))  # fmt: skip


def test_cli_train_sample_and_refusals(trained, tmp_path, capsys):
    gen = tmp_path / "g.onnx"
    code, out, err = run(["train-generator", DIGITS_MODEL, *DIGITS_ARGS, "--n-iter", "3", "-q", "-o", gen], capsys)
    assert code == 0 and gen.is_file(), err
    code, out, err = run(["sample", gen, "-n", "12", "--format", "npy", "-o", tmp_path / "s"], capsys)
    assert code == 0 and "wrote 12 images (1x16x16)" in out, err
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert manifest["method"] == "generator-sample" and manifest["generator"]["latent_dim"] == 256
    code, _, err = run(["train-generator", DIGITS_MODEL, *DIGITS_ARGS, "-o", gen], capsys)
    assert code == 1 and "already exists; choose another -o/--output or pass --overwrite" in err
    code, _, err = run(
        ["train-generator", DIGITS_MODEL, *DIGITS_ARGS, "--preset", "mct", "-o", tmp_path / "x.onnx"], capsys
    )
    assert code == 1 and "train-generator trains method generator, not bn-inversion" in err
    code, _, err = run(["sample", DIGITS_MODEL, "-o", tmp_path / "t"], capsys)
    assert code == 1 and "an image generator needs a float input [N, D] of latent codes" in err
    code, _, err = run(["generate", DIGITS_MODEL, *DIGITS_ARGS, "--preset", "generator", "--granularity",
                        "all-images", "-o", tmp_path / "v"], capsys)  # fmt: skip
    assert code == 1 and "no fixed set for all-images statistics; use --granularity per-batch" in err


def test_a_foreign_generator_needs_a_normalization(tmp_path):
    # latents [N, 4] -> MatMul -> images [N, 1, 2, 2]; no labels input, no datagen metadata
    weight = helper.make_tensor("w", TensorProto.FLOAT, [4, 4], np.eye(4, dtype=np.float32).ravel())
    shape = helper.make_tensor("shape", TensorProto.INT64, [4], [-1, 1, 2, 2])
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["z", "w"], ["flat"]), helper.make_node("Reshape", ["flat", "shape"], ["images"])],
        "gen",
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["N", 1, 2, 2])],
        [weight, shape],
    )
    path = save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "foreign.onnx")
    with pytest.raises(ConfigError, match="give --normalization or --mean/--std"):
        sample(path, 3)
    dataset = sample(path, 3, normalization=onnx_datagen.Normalization((0.5,), (0.5,)))
    from onnx_datagen.images.generator_file import latent_codes

    np.testing.assert_array_equal(dataset.images.reshape(3, 4), latent_codes(0, 0, 3, 4))
    assert "labels" not in dataset.manifest
    config = GenerationConfig(init_from=str(path), normalization=onnx_datagen.Normalization((0.3,), (0.32,)))
    with pytest.raises(ModelError, match=r"makes images of shape \[1, 2, 2\], but the model takes \[1, 16, 16\]"):
        onnx_datagen.generate(str(DIGITS_MODEL), n_images=2, config=config.replace(n_iter=1))
    with pytest.raises(ModelError, match="images \\[N, C, H, W\\]"):
        bad = onnx.load(str(path))
        bad.graph.node[1].input[1] = "flat_shape"
        bad.graph.initializer.append(helper.make_tensor("flat_shape", TensorProto.INT64, [2], [-1, 4]))
        bad.graph.output[0].type.tensor_type.shape.dim.pop()
        bad.graph.output[0].type.tensor_type.shape.dim.pop()
        GeneratorFile.load(save(bad, tmp_path / "flat.onnx")).sample(0, 0, 2)


def test_a_changed_init_from_generator_is_another_job(trained, tmp_path):
    from onnx_datagen.graph.prepare import load_model_input
    from onnx_datagen.run.folder import job_difference
    from onnx_datagen.run.generate import job_record

    source = load_model_input(str(DIGITS_MODEL))
    copy = tmp_path / "gen.onnx"
    copy.write_bytes(trained.read_bytes())
    config = GenerationConfig(init_from=str(copy), normalization=onnx_datagen.Normalization((0.3,), (0.32,)))
    config = config.resolve(*DIGITS_SIZE)
    before = job_record(source, config, 8)
    assert before["init_from"]["sha256"] == onnx_datagen.graph.load.file_sha256(trained)
    retrained = train_generator(str(DIGITS_MODEL), tmp_path / "other.onnx", generator_config(n_iter=2, batch_size=8))
    copy.write_bytes(retrained.read_bytes())  # same path, other weights: resume and merge must refuse
    assert job_difference(before, job_record(source, config, 8)).startswith("init_from.sha256: ")
    with pytest.raises(ConfigError, match="--init-from .*missing.onnx: no such file"):
        job_record(source, config.replace(init_from=str(tmp_path / "missing.onnx")), 8)
