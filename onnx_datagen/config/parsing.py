"""Reading settings as users write them: option spellings, enum values, class lists, durations, config files."""

from __future__ import annotations

import json
import re
from enum import Enum
from pathlib import Path
from typing import Any

from onnx_datagen.deps import require
from onnx_datagen.errors import ConfigError

RENAMED_KEYS = {"backend": "engine"}  # config files, batch files and manifests written before the rename


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def to_enum(enum_type: type[Enum], value: Any, name: str) -> Enum:
    try:
        return enum_type(value)
    except ValueError:
        choices = ", ".join(m.value for m in enum_type)
        raise ConfigError(f"{flag(name)}: {value!r} is not one of {choices}") from None


def check_positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{flag(name)} must be a positive integer, got {value!r}")


def check_n_images(n_images: int) -> None:
    if isinstance(n_images, bool) or not isinstance(n_images, int) or n_images <= 0:
        raise ConfigError(f"--n-images must be a positive integer, got {n_images!r}")


def parse_labels(text: str) -> tuple[int, ...] | None:
    """'balanced' -> None (every class in turn); '3,5,7' or '0-4' (or a mix) -> those classes in order."""
    if text.strip() == "balanced":
        return None
    classes: list[int] = []
    for item in text.replace(" ", "").split(","):
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", item)
        if not match or (match[2] is not None and int(match[2]) < int(match[1])):
            raise ConfigError(f"--labels takes 'balanced' or classes and ranges like 3,5,7 or 0-4, got {text!r}")
        classes += range(int(match[1]), int(match[2] or match[1]) + 1)
    return tuple(classes)


_DURATION_UNITS = {"h": 3600.0, "min": 60.0, "m": 60.0, "s": 1.0, "": 1.0}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(h|min|m|s|)\s*")


def parse_duration(text: str | float) -> float:
    """Seconds in '10m', '10min', '90s', '1h30m', '2.5m' or a bare number of seconds."""
    spoken, seconds, position = str(text).strip().lower(), 0.0, 0
    while position < len(spoken):
        part = _DURATION_PART.match(spoken, position)
        if part is None or part.end() == position:
            break
        seconds, position = seconds + float(part[1]) * _DURATION_UNITS[part[2]], part.end()
    if not spoken or position < len(spoken) or seconds <= 0:
        raise ConfigError(f"--time-budget takes a duration above zero such as 10m, 90s or 1h30m, got {text!r}")
    return seconds


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Read a JSON or YAML config file into a dict (validated later by GenerationConfig.from_dict)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    text = path.read_text(encoding="utf-8")
    suffix = path.suffix.lower()
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ConfigError(f"cannot parse config file {path}: {err}") from err
    elif suffix in (".yaml", ".yml"):
        yaml = require("yaml")
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise ConfigError(f"cannot parse config file {path}: {' '.join(str(err).split())}") from err
    else:
        raise ConfigError(f"config file {path} must end in .json, .yaml or .yml")
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of option names to values")
    return data
