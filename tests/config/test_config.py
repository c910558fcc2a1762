import dataclasses
import json

import pytest
from onnx_datagen.cli.generate import generate_command
from onnx_datagen.cli.options import CUSTOM_FIELDS

from onnx_datagen.config.choices import Granularity, Optimizer
from onnx_datagen.config.generation import GenerationConfig
from onnx_datagen.config.normalization import Normalization
from onnx_datagen.config.parsing import load_config_file
from onnx_datagen.errors import ConfigError


def test_round_trip_through_json():
    config = GenerationConfig(
        optimizer="adam", granularity="per-image", lr=0.5, normalization=Normalization.preset("cifar10", 255.0)
    )
    assert config.optimizer is Optimizer.ADAM and config.granularity is Granularity.PER_IMAGE
    again = GenerationConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config


def test_files_yaml_and_json(tmp_path):
    (tmp_path / "c.yaml").write_text("n-iter: 20\noptimizer: sgd\nnormalization: {name: keras}\n")
    (tmp_path / "c.json").write_text(json.dumps({"batch_size": 4}))
    config = GenerationConfig.from_dict(load_config_file(tmp_path / "c.yaml"))
    assert (config.n_iter, config.optimizer, config.normalization.mean) == (20, Optimizer.SGD, (0.5,))
    assert GenerationConfig.from_dict(load_config_file(tmp_path / "c.json")).batch_size == 4
    (tmp_path / "bad.yaml").write_text("n_iter: [1\n")
    with pytest.raises(ConfigError, match="cannot parse"):
        load_config_file(tmp_path / "bad.yaml")


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"n_iter": 0}, "--n-iter must be a positive integer"),
        ({"batch_size": -1}, "--batch-size must be a positive integer"),
        ({"optimizer": "lbfgs"}, "not one of radam, adam, sgd"),
        ({"lr": 0}, "--lr must be > 0"),
        ({"extra_pixels": -2}, "--extra-pixels"),
        ({"typo_key": 1}, "unknown configuration key"),
    ],
)
def test_invalid_values_name_the_option(changes, message):
    with pytest.raises(ConfigError, match=message):
        GenerationConfig.from_dict(changes)


def test_normalization_channel_count_must_match():
    with pytest.raises(ConfigError, match="3 values but the model input has 1 channels"):
        Normalization.preset("imagenet").per_channel(1)
    assert Normalization((0.5,), (0.2,)).per_channel(3) == ((0.5,) * 3, (0.2,) * 3)


def test_every_config_field_has_a_cli_option():
    flags = {opt for p in generate_command.params for opt in p.opts}
    for f in dataclasses.fields(GenerationConfig):
        if f.name not in CUSTOM_FIELDS:
            assert "--" + f.name.replace("_", "-") in flags, f.name
    assert {"--normalization", "--mean", "--std", "--pixel-scale", "--config"} <= flags


def test_options_page_lists_every_field_and_choice():
    import dataclasses
    import re
    from enum import Enum

    from onnx_datagen.config.generation import _ENUM_FIELDS
    from tests.conftest import REPO

    readme = (REPO / "docs" / "options.md").read_text(encoding="utf-8")
    rows = {m[1]: m[2] for m in re.finditer(r"^\| `(--[a-z0-9-]+)[^|]*\| [^|]* \| ([^|]*) \|", readme, re.M)}
    for f in dataclasses.fields(GenerationConfig):
        flag = "--" + f.name.replace("_", "-")
        assert flag in rows, f"docs/options.md's configuration table lacks {flag}"
        enum_type = _ENUM_FIELDS.get(f.name)
        if enum_type is not None and issubclass(enum_type, Enum):
            assert [c.strip() for c in rows[flag].split(",")] == [m.value for m in enum_type], flag


def test_the_engine_is_still_read_under_its_old_name_backend(tmp_path, capsys):
    import json

    from tests.cli.test_cli import run
    from tests.conftest import DIGITS_ARGS, DIGITS_MODEL

    assert GenerationConfig.from_dict({"backend": "torch"}).engine.value == "torch"  # old config/batch/manifest files
    args = ["generate", DIGITS_MODEL, *DIGITS_ARGS, "-n", "2", "--batch-size", "2", "--n-iter", "1", "-q"]
    code, _, err = run([*args, "--backend", "torch", "-o", tmp_path / "o"], capsys)
    assert code == 0, err
    assert json.loads((tmp_path / "o" / "manifest.json").read_text())["config"]["engine"] == "torch"
