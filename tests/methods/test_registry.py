"""The method registry: every --method value has its module, and each method refuses what it cannot honour before
the model is read."""

import re

import pytest

import onnx_datagen
from onnx_datagen import GenerationConfig
from onnx_datagen.config.choices import Method
from onnx_datagen.errors import ConfigError
from onnx_datagen.methods.registry import METHODS, method_for


def test_every_method_value_has_a_module():
    assert set(METHODS) == set(Method) - {Method.AUTO}  # auto is resolved to one of them per model
    for method in METHODS:
        assert method_for(GenerationConfig(method=method)).name is method
    assert method_for(GenerationConfig()).name is Method.BN_INVERSION  # a model already prepared for BN


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"method": "fractal", "labels": "0-3"}, "fractal images have none"),
        ({"method": "generator", "granularity": "all-images"}, "no fixed set for all-images statistics"),
        ({"method": "generator", "granularity": "per-batch", "init": "uniform"}, "from N(0, 1) latents"),
        (
            {"method": "generator", "granularity": "per-batch", "low_res_fraction": 0.5, "pipeline": "identity"},
            "not to --method generator",
        ),  # fmt: skip
        ({"method": "generator", "granularity": "per-batch", "engine": "ort-training"}, "trains a torch generator"),
    ],
)
def test_a_method_refuses_what_it_cannot_honour_before_reading_the_model(settings, message):
    with pytest.raises(
        ConfigError, match=re.escape(message)
    ):  # the path does not exist: a model error would come later
        onnx_datagen.generate("no-such-model.onnx", 4, GenerationConfig(**settings))


def test_defaults_that_depend_on_the_model_follow_its_image_size_and_the_method():
    def resolved(size: int, **settings) -> tuple:
        c = GenerationConfig(**settings).resolve(size, size)
        return (
            c.n_iter,
            c.batch_size,
            c.granularity.value,
            c.group_size,
            c.init.value,
            c.pipeline.value,
            c.low_res_fraction,
        )

    mct_views = ("smoothing-and-augmentation", 0.0)
    assert resolved(32) == resolved(112) == (100, 32, "all-images", None, "fractal", *mct_views)  # MCT views, 100 it
    pooled = ("jitter-and-flip", 0.5)
    assert resolved(224) == resolved(512) == (30, 8, "all-images", 256, "fractal", *pooled)  # memory stays flat
    assert resolved(128) == (30, 16, "all-images", 256, "fractal", *pooled)
    assert resolved(224, batch_size=24)[:4] == (30, 24, "all-images", 264)  # whole batches
    assert resolved(224, batch_size=32, n_iter=7, granularity="per-batch", init="uniform")[:5] == (
        7, 32, "per-batch", None, "uniform"
    )  # fmt: skip
    assert resolved(224, pipeline="smoothing-and-augmentation")[5:] == mct_views  # it crops: no pooled phase
    assert resolved(224, engine="ort-training")[5:] == ("jitter-and-flip", 0.0)  # one graph per image size
    assert resolved(32, low_res_fraction=0.25)[5:] == ("jitter-and-flip", 0.25)
    assert resolved(224, method="generator")[2:] == ("per-batch", None, "gaussian", "jitter-and-flip", 0.0)
    with pytest.raises(ConfigError, match="multiple of --batch-size"):
        GenerationConfig(group_size=20).resolve(224, 224)


def test_group_sizes_follow_the_method():
    batch = {"batch_size": 32}
    all_images = GenerationConfig(**batch).resolve(32, 32)
    assert method_for(all_images).group_size(all_images) == 1024
    per_batch = GenerationConfig(granularity="per-batch", **batch)
    assert method_for(per_batch).group_size(per_batch) == 32
    generator = GenerationConfig(method="generator", granularity="per-batch", n_iter=500, **batch)
    assert method_for(generator).group_size(generator) == 1024  # one training serves every group
    assert method_for(generator).steps(generator, batches=10) == generator.n_iter
    fractal = GenerationConfig(method="fractal")
    assert method_for(fractal).steps(fractal, batches=10) == 0
