"""The per-image share: the last images of an all-images set, in groups of one batch, each image matching the BN
statistics alone (issue 34: per-image extremes, which NNCF's ranges average)."""

import numpy as np
import pytest

import onnx_datagen
from onnx_datagen import GenerationConfig
from onnx_datagen.config.choices import Granularity, Method
from onnx_datagen.engines.base import Group
from onnx_datagen.run.groups import plan_groups
from tests.cli.test_cli import run
from tests.conftest import DIGITS_ARGS, DIGITS_MODEL, DIGITS_SIZE, DIGITS_TEST

DIGITS_NORM = {"mean": [0.3], "std": [0.32]}


def test_an_eighth_of_a_large_set_is_planned_per_image_in_whole_batches():
    large = GenerationConfig().resolve(224, 224)  # batch 8, groups of 256
    assert large.per_image_share == 0.125
    assert plan_groups(64, large) == [Group(0, 0, 56), Group(1, 56, 8, per_image=True)]
    assert plan_groups(256, large) == [Group(0, 0, 224)] + [Group(1 + j, 224 + 8 * j, 8, True) for j in range(4)]
    assert plan_groups(16, large) == [Group(0, 0, 16)]  # two images round to no whole batch: none alone
    # 100 images: 12.5 round to 2 batches, and the part batch ends the set, so per-image groups start on a boundary
    assert plan_groups(100, large) == [Group(0, 0, 80), Group(1, 80, 8, True), Group(2, 88, 8, True),
                                       Group(3, 96, 4, True)]  # fmt: skip
    # where it was not measured, or nothing is matched per set, the default is none
    for config in (
        GenerationConfig().resolve(32, 32),
        GenerationConfig(method=Method.PRIOR).resolve(224, 224),
        GenerationConfig(engine="ort-training").resolve(224, 224),
        GenerationConfig(granularity=Granularity.PER_BATCH).resolve(224, 224),
    ):
        assert config.per_image_share == 0.0 and not any(g.per_image for g in plan_groups(256, config))


def test_a_per_image_group_matches_each_image_alone():
    from onnx_datagen.engines.torch.engine import TorchEngine
    from onnx_datagen.graph.prepare import prepare_model

    prepared = prepare_model(str(DIGITS_MODEL))
    config = GenerationConfig(n_iter=4, batch_size=8, normalization=DIGITS_NORM)
    set_engine = TorchEngine(prepared, config.resolve(*DIGITS_SIZE))
    alone_engine = TorchEngine(prepared, config.replace(granularity=Granularity.PER_IMAGE).resolve(*DIGITS_SIZE))
    _, alone, _ = set_engine.optimize(Group(0, 0, 16, per_image=True))
    _, expected, _ = alone_engine.optimize(Group(0, 0, 16))
    np.testing.assert_array_equal(alone, expected)
    _, together, _ = set_engine.optimize(Group(0, 0, 16))  # the same engine, the next group all-images again
    assert np.abs(together - alone).mean() > 1e-3


def test_a_per_image_group_is_judged_by_its_images_own_losses():
    """A retry keeps the attempt with the lowest loss: for a per-image group, the loss its images minimise."""
    from onnx_datagen.engines.torch.engine import TorchEngine
    from onnx_datagen.graph.prepare import prepare_model

    engine = TorchEngine(prepare_model(str(DIGITS_MODEL)), GenerationConfig(normalization=DIGITS_NORM).resolve(16, 16))
    pixels = np.load(DIGITS_TEST)["images"][:8].astype(np.float32).transpose(0, 3, 1, 2) / 255  # NHWC uint8
    images = (pixels - 0.3) / 0.32
    sums = engine.layer_sums(images)
    own = [engine.whole_set_bn_loss(engine.layer_sums(image[None])) for image in images]
    assert engine._attempt_loss(Group(0, 0, 8, per_image=True), images, sums) == pytest.approx(np.mean(own))
    together = engine._attempt_loss(Group(0, 0, 8), images, sums)
    assert together == engine.whole_set_bn_loss(sums) and together < 0.9 * np.mean(own)


def test_generate_makes_the_share_last_and_says_so_in_the_manifest():
    config = GenerationConfig(n_iter=3, batch_size=8, per_image_share=0.5, normalization=DIGITS_NORM)
    shared = onnx_datagen.generate(str(DIGITS_MODEL), n_images=16, config=config)
    assert shared.manifest["config"]["per_image_share"] == 0.5
    plain = onnx_datagen.generate(str(DIGITS_MODEL), n_images=16, config=config.replace(per_image_share=0.0))
    assert not np.array_equal(shared.images[8:], plain.images[8:])  # where the whole set's statistics made them
    per_image = config.replace(per_image_share=0.0, granularity=Granularity.PER_IMAGE)
    alone = onnx_datagen.generate(str(DIGITS_MODEL), n_images=16, config=per_image)
    np.testing.assert_array_equal(shared.images[8:], alone.images[8:])  # the same batch, matched image by image


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--per-image-share", "1"], "--per-image-share must be in [0, 1)"),
        (["--per-image-share", "0.25", "--granularity", "per-batch"], "use --granularity all-images"),
        (["--per-image-share", "0.25", "--method", "generator"], "not to --method generator"),
    ],
)
def test_per_image_share_refusals(tmp_path, capsys, extra, says):
    code, _, err = run(["generate", DIGITS_MODEL, *DIGITS_ARGS, "-n", "8", "-o", tmp_path / "o", *extra], capsys)
    assert code != 0 and says in err and "Traceback" not in err


def test_the_summary_names_the_share_and_an_earlier_run_folder_reads_as_without_it(tmp_path, capsys):
    from onnx_datagen.run.folder import upgraded_job

    args = ["generate", DIGITS_MODEL, *DIGITS_ARGS, "-n", "16", "--batch-size", "8", "--n-iter", "2"]
    code, out, err = run([*args, "--per-image-share", "0.5", "-o", tmp_path / "o"], capsys)
    assert code == 0, err
    assert "the last 8 images matched the BN statistics each alone, the others as a set" in out
    # a job written before the setting existed made no per-image images, whatever the image size
    earlier = upgraded_job({"config": {"n_iter": 2}})["config"]
    assert earlier["per_image_share"] == 0.0 and earlier["low_res_levels"] == 1
