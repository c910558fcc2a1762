"""The options benchmarks share, defined once: a benchmark names the ones it takes and its defaults.

add_options(parser, work=REQUIRED, n_images=256, seeds=[0, 1], threads=2)
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.harness.paths import SHARED_DATA

REQUIRED = object()  # a default that makes the option required


def numbers(text: str) -> list[int]:
    return [int(v) for v in text.split(",")]


OPTIONS = {
    "work": dict(type=Path, help="cache folder: exported models, image sets and scores, reused by a rerun"),
    "shared_data": dict(type=Path, help="the shared data folder (models, CIFAR-10, ImageNet photos)"),
    "n_images": dict(type=int, help="images per calibration set"),
    "n_iter": dict(type=int, help="optimiser iterations per generated set"),
    "seeds": dict(type=numbers, help="comma-separated seeds, one generated set each"),
    "threads": dict(type=int, help="torch threads per process"),
    "repeats": dict(type=int, help="interleaved repeats of each variant"),
    "depth": dict(type=int, choices=[20, 32, 44, 56], help="the CIFAR ResNet's depth"),
    "e2_limit": dict(type=int, help="evaluate E2 (and E3) on the first N E2 images only"),
}


def add_options(parser: argparse.ArgumentParser, **defaults) -> argparse.ArgumentParser:
    """Add the shared options named in `defaults` with those defaults (REQUIRED: no default), and --render-only."""
    for name, default in defaults.items():
        spec = dict(OPTIONS[name])
        if name == "shared_data" and default is None:
            default = SHARED_DATA
        if default is REQUIRED:
            spec["required"] = True
        else:
            spec["default"] = default
        parser.add_argument("--" + name.replace("_", "-"), **spec)
    return parser


def add_render_only(parser: argparse.ArgumentParser, results_file: str) -> None:
    parser.add_argument(
        "--render-only", action="store_true", help=f"rewrite {results_file} from its committed JSON, measuring nothing"
    )
