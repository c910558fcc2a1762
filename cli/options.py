"""Click options generated from GenerationConfig's fields, so the CLI cannot drift from the config."""

from __future__ import annotations

import dataclasses
import logging
import types
import typing
from enum import Enum

import click

from onnx_datagen.config.choices import ChannelOrder
from onnx_datagen.config.generation import GenerationConfig
from onnx_datagen.config.normalization import NORMALIZATIONS, Normalization
from onnx_datagen.config.parsing import RENAMED_KEYS
from onnx_datagen.config.presets import config_data
from onnx_datagen.errors import ConfigError

# Fields with hand-written options (normalisation has its own group below).
CUSTOM_FIELDS = {"normalization"}
SHORT_FLAGS = {"calibrate_for": "--for"}  # `datagen generate model.onnx --for w8a4` reads as it is meant


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _config_option(f: dataclasses.Field, hint) -> typing.Callable:
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    default = f.default.value if isinstance(f.default, Enum) else f.default
    help_text = f"{f.metadata['help']} [default: {default}]" if default is not None else f.metadata["help"]
    if isinstance(hint, type) and issubclass(hint, Enum):
        flags = [_flag(f.name), *[_flag(old) for old, new in RENAMED_KEYS.items() if new == f.name]]
        flags += [SHORT_FLAGS[f.name]] if f.name in SHORT_FLAGS else []
        return click.option(*flags, f.name, type=click.Choice([m.value for m in hint]), default=None, help=help_text)
    if hint is bool:
        flag = _flag(f.name)
        return click.option(f"{flag}/--no-{flag[2:]}", f.name, default=None, help=help_text)
    return click.option(_flag(f.name), f.name, type=hint, default=None, help=help_text)


def config_options(command: typing.Callable) -> typing.Callable:
    """Add one option per GenerationConfig field, plus --config and the normalisation options."""
    hints = typing.get_type_hints(GenerationConfig)
    for f in reversed(dataclasses.fields(GenerationConfig)):
        if f.name not in CUSTOM_FIELDS:
            command = _config_option(f, hints[f.name])(command)
    command = normalization_options(command)
    command = click.option(
        "--preset",
        default=None,
        help="named settings (a config file shipped with datagen; see --list-presets); --config and options override",
    )(command)
    return click.option(
        "--config",
        "config_file",
        type=click.Path(dir_okay=False),
        default=None,
        help="YAML or JSON file with config values; options given here override it",
    )(command)


def normalization_options(command: typing.Callable) -> typing.Callable:
    """--normalization / --mean / --std / --pixel-scale / --channel-order: how raw pixels become model input."""
    for option in reversed(
        [
            click.option(
                "--normalization",
                type=click.Choice(list(NORMALIZATIONS)),
                default=None,
                help="the model's input normalisation (on 0-1 pixels) [default: imagenet]",
            ),
            click.option("--mean", default=None, help="custom per-channel mean, e.g. 0.485,0.456,0.406 (with --std)"),
            click.option("--std", default=None, help="custom per-channel std, e.g. 0.229,0.224,0.225 (with --mean)"),
            click.option(
                "--pixel-scale",
                type=click.Choice(["1", "255"]),
                default=None,
                help="pixel range the mean/std refer to: 0-1 or 0-255 [default: 1]",
            ),
            click.option(
                "--channel-order",
                type=click.Choice([c.value for c in ChannelOrder]),
                default=None,
                help="the model's colour order: bgr for Caffe/OpenCV-style models (--mean/--std in that order; "
                "image files stay RGB) [default: rgb]",
            ),
        ]
    ):
        command = option(command)
    return command


def build_normalization(values: dict) -> Normalization:
    """The Normalization the normalisation options describe (ImageNet when none is given)."""
    return _normalization(values, None) or Normalization()


def build_config(values: dict) -> GenerationConfig:
    """Defaults < --preset < --config file < explicit options."""

    preset = values.get("preset")
    data = config_data(preset, values.get("config_file"))
    for f in dataclasses.fields(GenerationConfig):
        if f.name not in CUSTOM_FIELDS and values.get(f.name) is not None:
            data[f.name] = values[f.name]
    normalization = _normalization(values, data.get("normalization"))
    if normalization is not None:
        data["normalization"] = normalization
    config = GenerationConfig.from_dict(data)
    if preset:  # options win over a preset (documented); say so, since it changes what the preset means
        preset_data = config_data(preset)
        final, chosen = config.to_dict(), GenerationConfig.from_dict(preset_data).to_dict()
        for key in sorted(preset_data):
            if final[key] != chosen[key]:
                click.echo(f"note: {_flag(key)} {final[key]} replaces preset {preset}'s {chosen[key]}", err=True)
    return config


def _normalization(values: dict, from_file) -> Normalization | dict | None:
    name, mean, std, scale, order = (
        values.get("normalization"),
        values.get("mean"),
        values.get("std"),
        values.get("pixel_scale"),
        values.get("channel_order"),
    )
    if name is None and mean is None and std is None and scale is None:
        if order is None or from_file is None:
            return from_file if order is None else Normalization.preset("imagenet", channel_order=ChannelOrder(order))
        return {**from_file, "channel_order": order}  # the config file's normalisation, in this order
    if (mean is None) != (std is None):
        raise ConfigError("--mean and --std go together; give both (comma-separated, one value or one per channel)")
    if mean is not None and name is not None:
        raise ConfigError("give either --normalization or --mean/--std, not both")
    pixel_scale = float(scale) if scale is not None else 1.0
    channel_order = ChannelOrder(order or "rgb")
    if mean is not None:
        return Normalization(_floats(mean, "--mean"), _floats(std, "--std"), pixel_scale, "custom", channel_order)
    return Normalization.preset(name or "imagenet", pixel_scale, channel_order)


def _floats(text: str, flag: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.replace(" ", "").split(",") if v)
    except ValueError:
        raise ConfigError(f"{flag} takes comma-separated numbers, got {text!r}") from None


def echo_listing(items: dict[str, str]) -> None:
    """One aligned `name  description` line per item (for --list and --list-presets)."""
    width = max(len(name) for name in items)
    for name, text in items.items():
        click.echo(f"{name:<{width}}  {text}")


def hide_information() -> None:
    """A command's -q: the library's warnings still show (`note: ...`), its information (a time estimate) does not."""
    logging.getLogger("onnx_datagen").setLevel(logging.WARNING)
