"""What every benchmark shares: where committed results go, where the shared data sits, the machine record,
interleaved repeats, and the mean +- half-spread the tables print.

Run benchmarks from the repository root as modules: `python -m benchmarks.NAME --help`.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"  # every committed result file (md, json, notes), and no code
SHARED_DATA = REPO.parent / "shared" / "data"
VERSIONED = ["onnx-datagen", "torch", "onnxruntime", "onnx", "model-compression-toolkit", "nncf", "openvino"]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict:
    """The CPU, cores, Python, the versions that decide the numbers, and the commit measured."""
    versions = {}
    for dist in VERSIONED:
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO)
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "versions": versions,
        "commit": commit.stdout.strip() or "unknown",
    }


def mean_spread(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{statistics.mean(values):.1f} ±{(max(values) - min(values)) / 2:.1f}"


def interleaved(variants: dict, repeats: int, measure) -> dict[str, list]:
    """name -> `measure(*variant)` of each repeat; the repeats interleave the variants, so drift on a shared
    machine hits every variant alike."""
    rows = {name: [] for name in variants}
    for _ in range(repeats):
        for name, variant in variants.items():
            rows[name].append(measure(*variant))
            print(name, rows[name][-1], flush=True)
    return rows
