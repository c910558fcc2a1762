"""Named presets: plain config files shipped in preset_files/, listed with their first comment line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from onnx_datagen.config.parsing import load_config_file
from onnx_datagen.errors import ConfigError

PRESET_DIR = Path(__file__).resolve().parent / "preset_files"


def preset_paths() -> dict[str, Path]:
    return {path.stem: path for path in sorted(PRESET_DIR.glob("*.yaml"))}


def describe_presets() -> dict[str, str]:
    """name -> the one-line description (the file's first comment line)."""
    described = {}
    for name, path in preset_paths().items():
        first = path.read_text(encoding="utf-8").splitlines()[0]
        described[name] = first.lstrip("# ").strip()
    return described


def load_preset(name: str) -> dict[str, Any]:
    paths = preset_paths()
    if name not in paths:
        raise ConfigError(
            f"unknown preset {name!r}; choose one of {', '.join(paths)} (datagen generate --list-presets)"
        )
    return load_config_file(paths[name])


def config_data(preset: str | None = None, config: str | Path | dict | None = None) -> dict[str, Any]:
    """A preset's values, overridden by a config file (path) or mapping; keys may use '-' or '_'."""
    data = load_preset(preset) if preset else {}
    if isinstance(config, dict):
        data.update(config)
    elif config is not None:
        data.update(load_config_file(config))
    return {str(k).replace("-", "_"): v for k, v in data.items()}
