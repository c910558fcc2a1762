"""Throughput on a shared machine: `datagen generate`'s images x iterations per second alone, beside two busy
processes (each a Python loop that never sleeps, as a CI runner's or a laptop's other work) and beside a second
`datagen generate` (a batch job's or Ray workers' neighbour, under the same setting), with OpenMP's threads
left to spin while they wait (OMP_WAIT_POLICY set empty: libgomp's default, what torch does when nothing is set),
sleeping at once (OMP_WAIT_POLICY=PASSIVE) and with datagen's default (it sets GOMP_SPINCOUNT=3000 where the caller
set neither: waiting threads spin briefly, then sleep).

    python -m benchmarks.suites.shared_machine.run --work /work/bench/shared_machine

Each cell is one `datagen generate` run in its own process (set-up excluded: the manifest's optimisation rate); the
other processes start before it and are killed after it. Writes SHARED_MACHINE.md and shared_machine.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.harness.child import generate_npy, run_child
from benchmarks.harness.options import REQUIRED, add_options
from benchmarks.harness.paths import REPO
from benchmarks.harness.results import publish, save_result
from benchmarks.models.mobilenet_v2 import mobilenet_v2_onnx
from benchmarks.suites.shared_machine import render
from benchmarks.suites.shared_machine.render import NAME

POLICIES = {
    "spinning (libgomp's default)": {"OMP_WAIT_POLICY": ""},
    "sleeping at once (OMP_WAIT_POLICY=PASSIVE)": {"OMP_WAIT_POLICY": "PASSIVE"},
    "datagen's default (3,000 spins, then sleep)": {},
}
BUSY = [sys.executable, "-m", "benchmarks.suites.shared_machine.busy"]  # a Python loop that never sleeps
LOADS = ("alone", "busy2", "datagen")
THREADS = 2


def cases(work: Path) -> dict[str, list[str]]:
    """name -> `datagen generate` arguments: a small model, where a step is a few milliseconds of many short
    parallel regions, and MobileNetV2 at 224x224."""
    digits = [str(REPO / "models" / "digits_cnn.onnx"), "--mean", "0.3", "--std", "0.32"]
    return {
        "digits CNN, 16x16, 32 images, 30 iterations": [*digits, "-n", "32", "--n-iter", "30"],
        "MobileNetV2, 224x224, 8 images, 4 iterations": [str(mobilenet_v2_onnx(work)), "-n", "8", "--n-iter", "4"],
    }


def measure(arguments: list[str], env: dict, load: str) -> float:
    """Images x iterations per second of one run beside `load`'s processes."""
    with tempfile.TemporaryDirectory() as out:
        others = {
            "alone": [],
            "busy2": [BUSY] * 2,
            # the same run again, ten times as long, under the same policy (datagen batch or Ray workers on one node)
            "datagen": [generate_npy([*arguments, "--n-iter", "1000"], Path(out) / "other", THREADS)],
        }[load]
        running = [subprocess.Popen(command, env={**os.environ, **env}, cwd=REPO, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL) for command in others]  # fmt: skip
        try:
            run_child(generate_npy(arguments, Path(out) / "set", THREADS), env=env)
            manifest = json.loads((Path(out) / "set" / "manifest.json").read_text())
        finally:
            for process in running:
                process.kill()
                process.wait()
    return manifest["timing"]["images_x_iterations_per_second"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    args = add_options(parser, work=REQUIRED, repeats=2).parse_args()
    rows = []
    for case, arguments in cases(Path(args.work)).items():
        for policy, env in POLICIES.items():
            rates = {load: [measure(arguments, env, load) for _ in range(args.repeats)] for load in LOADS}
            rows.append({"case": case, "policy": policy, **rates})
            print(json.dumps(rows[-1]), flush=True)
    publish(render, save_result(NAME, {"repeats": args.repeats, "rows": rows}))


if __name__ == "__main__":
    main()
