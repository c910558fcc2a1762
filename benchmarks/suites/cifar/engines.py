"""The two engines on one model: torch (onnx2torch) and ort-training, same settings, speed and quality.

    python -m benchmarks.suites.cifar.engines --depth 20 --work bench-work/B20 --worker-python .venv-ort/bin/python
    python -m benchmarks.suites.cifar.collect --presets ... --backends bench-work/B20

Both engines generate in the ort-training environment (--worker-python; it has torch too), so they share
one torch and one process setup; quantization and evaluation run here, in the main environment, with the
same ONNX Runtime as every other table (onnxruntime-training 1.19's quantizer has no int4 weights).
Settings: the mct preset at per-batch granularity (the engines' arithmetic without the all-images cache,
which each engine keeps in its own float rounding), each engine in its own one-thread process; speed is
images x iterations per CPU second and per wall second.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

from benchmarks.harness.options import add_options
from benchmarks.pipelines.cifar import PRESET_QUANTIZERS, Bench, log, run_worker

BACKENDS = ["torch", "ort-training"]


def generate(bench: Bench, backend: str, seed: int) -> np.ndarray:
    args = bench.args
    stem = f"R{args.depth}_backend-{backend}_s{seed}_n{args.n_images}_it{args.n_iter}"
    out, report = bench.work / f"{stem}.npy", bench.work / f"{stem}.json"
    if not out.exists():
        options = ["--preset", "mct", "--granularity", "per-batch", "--backend", backend, "--n-iter", str(args.n_iter)]
        run_worker(args, "datagen", bench.kept_path, seed, out, report, *options, python=args.worker_python)
        timing = json.loads(report.read_text())
        bench.results.add({"key": f"engine|R{args.depth}|{backend}|{seed}", "kind": "engine", **timing})
        log(f"  {backend}: {timing['generate_seconds']:.0f} s ({timing['generate_cpu_seconds']:.0f} s CPU)")
    return np.load(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_options(parser, depth=20, work=Path("bench-work/backends"), shared_data=None, seeds=[0], n_images=256,
                n_iter=100, threads=1, e2_limit=2000)  # fmt: skip
    parser.add_argument("--worker-python", default=sys.executable, help="the ort-training environment's python")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    bench = Bench(args)
    for seed in args.seeds:
        for backend in BACKENDS:
            images = generate(bench, backend, seed)
            bench.evaluate(f"{backend} s{seed}", images, args.n_iter, PRESET_QUANTIZERS)


if __name__ == "__main__":
    main()
