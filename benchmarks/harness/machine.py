"""The machine record every result carries: CPU, cores, load, Python, the versions that decide the numbers, commit."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from benchmarks.harness.paths import REPO

ISA_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")  # the vector units that change torch's kernels
VERSIONED = ["onnx-datagen", "torch", "onnxruntime", "onnx", "model-compression-toolkit", "nncf", "openvino"]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def isa() -> list[str]:
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return []
    return [flag for flag in ISA_FLAGS if flag in flags]


def machine() -> dict:
    """The machine a result was measured on; the load average says how shared it was at the start."""
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
        "isa": isa(),
        "load_average": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "versions": versions,
        "commit": commit.stdout.strip() or "unknown",
    }
