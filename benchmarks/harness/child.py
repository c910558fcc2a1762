"""Run one measured command in its own process: wall time, CPU time and peak resident memory, the one way.

The command runs under a small launcher (benchmarks.harness.launch) that reads the child's resource usage from wait4.
Measured from the benchmark's own process instead, a child's peak memory would include the parent's: Linux carries
the high-water mark of the address space a child is forked from over its exec, and a benchmark holding torch and
image sets is large. The launcher is about 10 MB, the most it can add.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.harness.paths import REPO

DATAGEN = [sys.executable, "-m", "onnx_datagen.cli.main"]  # the CLI, under this interpreter


def generate_npy(arguments: list[str], out: Path, threads: int) -> list[str]:
    """`datagen generate ARGUMENTS`, quiet, npy only, with `threads` torch threads, into `out` (its manifest.json says
    how the run went)."""
    return [*DATAGEN, "generate", *arguments, "--format", "npy", "-q", "--threads", str(threads), "-o", str(out)]


@dataclass(frozen=True)
class ChildRun:
    returncode: int  # negative: killed by that signal
    wall_s: float
    user_s: float  # CPU time of the child and the children it waited for
    sys_s: float
    peak_rss_gb: float
    minor_faults: int
    stdout: str

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s


def run_child(
    command: list[str], env: dict | None = None, capture: bool = True, check: bool = True, timeout: float | None = None
) -> ChildRun:
    """Run `command` from the repository root with `env` over this process's environment; with `check`, a failure
    raises CalledProcessError."""
    with tempfile.TemporaryDirectory(prefix="bench-child-") as folder:
        usage_file = Path(folder) / "usage.json"
        launcher = [sys.executable, "-m", "benchmarks.harness.launch", str(usage_file), "--", *command]
        started = time.perf_counter()
        done = subprocess.run(
            launcher,
            env=None if env is None else {**os.environ, **env},
            cwd=REPO,
            stdout=subprocess.PIPE if capture else None,
            text=True,
            timeout=timeout,
        )
        wall = time.perf_counter() - started
        if done.returncode and check:
            raise subprocess.CalledProcessError(done.returncode, command, done.stdout)
        usage = json.loads(usage_file.read_text())
    peak = usage["peak_rss_kib"] / 2**20  # Linux reports KiB
    cpu = usage["user_s"], usage["sys_s"]
    return ChildRun(done.returncode, wall, *cpu, peak, usage["minor_faults"], done.stdout or "")
