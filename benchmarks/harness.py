"""What every benchmark shares: where committed results go, where the shared data sits, and the machine record.

Run benchmarks from the repository root as modules: `python -m benchmarks.NAME --help`.
"""

from __future__ import annotations

import os
import platform
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
