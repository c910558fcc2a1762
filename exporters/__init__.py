"""Dataset writers, one module per format, found through one table (imported only when used)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from onnx_datagen.errors import ConfigError

if TYPE_CHECKING:
    from onnx_datagen.dataset import Dataset


@dataclass(frozen=True)
class ExporterSpec:
    name: str
    target: str  # "module:function", imported on first use
    description: str


@dataclass(frozen=True)
class ExportResult:
    files: list[str]  # paths relative to the dataset directory
    entry: dict  # the manifest entry: layout, dtype, value range and space


EXPORTERS = {
    spec.name: spec
    for spec in (
        ExporterSpec(
            "npy",
            "onnx_datagen.exporters.npy:export",
            "images.npy: one stacked float32 N x C x H x W array in model-input space",
        ),
        ExporterSpec(
            "png", "onnx_datagen.exporters.png:export", "png/NNNNNN.png: de-normalised 8-bit RGB (or grayscale) images"
        ),
    )
}


def parse_formats(text: str | list[str]) -> list[str]:
    """'png,npy' -> ['png', 'npy'], checked against the table."""
    names = [n.strip().lower() for n in (text.split(",") if isinstance(text, str) else text) if n.strip()]
    if not names:
        raise ConfigError(f"--format needs at least one of: {', '.join(EXPORTERS)}")
    unknown = [n for n in names if n not in EXPORTERS]
    if unknown:
        raise ConfigError(f"unknown format {unknown[0]!r}; choose from {', '.join(EXPORTERS)}")
    return list(dict.fromkeys(names))


def check_formats(names: list[str], channels: int) -> None:
    """Fail before a long run if a format cannot hold images with this many channels."""
    if "png" in names and channels not in (1, 3):
        raise ConfigError(
            f"--format png writes 1- or 3-channel images but the model input has {channels} channels; use --format npy"
        )


def run_exporter(name: str, dataset: Dataset, out_dir: Path) -> ExportResult:
    module_name, function = EXPORTERS[name].target.split(":")
    return getattr(importlib.import_module(module_name), function)(dataset, out_dir)
