"""The method registry: every --method value has its module, and each method refuses what it cannot honour before
the model is read."""

import re

import pytest

import onnx_datagen
from onnx_datagen import GenerationConfig
from onnx_datagen.config.settings import Method
from onnx_datagen.errors import ConfigError
from onnx_datagen.methods.registry import METHODS, method_for


def test_every_method_value_has_a_module():
    assert set(METHODS) == set(Method)
    for method in Method:
        assert method_for(GenerationConfig(method=method)).name is method


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"method": "fractal", "labels": "0-3"}, "fractal images have none"),
        ({"method": "generator"}, "no fixed set for all-images statistics"),
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


def test_group_sizes_follow_the_method():
    batch = {"batch_size": 32}
    assert method_for(GenerationConfig(**batch)).group_size(GenerationConfig(**batch)) == 1024  # all-images
    per_batch = GenerationConfig(granularity="per-batch", **batch)
    assert method_for(per_batch).group_size(per_batch) == 32
    generator = GenerationConfig(method="generator", granularity="per-batch", **batch)
    assert method_for(generator).group_size(generator) == 1024  # one training serves every group
    assert method_for(generator).steps(generator, batches=10) == generator.n_iter
    fractal = GenerationConfig(method="fractal")
    assert method_for(fractal).steps(fractal, batches=10) == 0
