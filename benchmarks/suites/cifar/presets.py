"""The preset benchmark: every generation preset on one CIFAR ResNet, at equal iterations and at equal wall time.

    python -m benchmarks.suites.cifar.presets --depth 20 --work bench-work/P20 --seeds 0,1 --n-images 256 --n-iter 100
    python -m benchmarks.suites.cifar.collect bench-work/R20 bench-work/R56 --presets bench-work/P20 bench-work/P56

Each preset runs as shipped (its batch size, optimiser, losses) except n_iter, n_images and seed. `A+B` is
preset B started from the samples of preset A's trained generator (`datagen train-generator`, then
`datagen generate --preset B --init-from`), both with n_iter iterations, timed together.
Equal wall time: a preset gets round(n_iter x T_mct / T_preset) iterations, T being both runs' generation
CPU time at n_iter (same seed; one thread each, so CPU time is the single-core wall time without the
noise of other jobs on a shared machine); where that is within 10 % of n_iter, the equal-iteration set
stands for it and no second run is made. The real and fractal sets are evaluated alongside as anchors.
Results are cached in --work exactly as benchmarks/suites/cifar/run.py caches them.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

from benchmarks.harness.options import add_options
from benchmarks.pipelines.cifar import PRESET_QUANTIZERS, REAL_CALIB, Bench, log, run_worker

PRESETS = ["mct", "dgh", "dsg", "zeroq", "deepinversion", "genie", "generator"]
SAME_BUDGET = 0.10  # equal-time iterations within this fraction of n_iter reuse the equal-iteration set


def generate(bench: Bench, preset: str, seed: int, n_iter: int) -> tuple[np.ndarray, dict]:
    """Run one preset in its own process (cached): the images and the worker's timing report."""
    args = bench.args
    stem = f"R{args.depth}_preset-{preset}_s{seed}_n{args.n_images}_it{n_iter}"
    out, report = bench.work / f"{stem}.npy", bench.work / f"{stem}.json"
    key = f"time|R{args.depth}|preset-{preset}|{seed}|{n_iter}"
    made = not out.exists()
    if made:
        start, _, refined = preset.rpartition("+")  # "generator+mct": mct from the samples of generator's generator
        options = ["--preset", refined, "--n-iter", str(n_iter)] + (["--init-from-preset", start] if start else [])
        run_worker(args, "datagen", bench.kept_path, seed, out, report, *options)
    timing = json.loads(report.read_text())
    if made or bench.results.get(key) is None:
        bench.results.add({"key": key, "kind": "timing", **timing, "preset": preset})
        log(f"  {preset}: {timing['generate_seconds']:.0f} s ({timing['generate_cpu_seconds']:.0f} s CPU)")
    return np.load(out), timing


def main_run(args) -> None:
    from onnx_datagen.config.normalization import Normalization
    from onnx_datagen.data.image_sets import load_labelled
    from onnx_datagen.images.init import fractal

    bench = Bench(args)
    norm = Normalization.preset("imagenet")
    real = load_labelled(Path(args.shared_data) / "cifar10_test.npz").subset(REAL_CALIB.start, REAL_CALIB.stop)
    bench.evaluate("real", real.model_input(norm)[: args.n_images], args.n_iter, PRESET_QUANTIZERS)
    shape = (args.n_images, 3, 32, 32)
    bench.evaluate("fractal", fractal(seed=0, first_index=0, shape=shape, normalization=norm), 0, PRESET_QUANTIZERS)

    seconds = {}
    for seed in args.seeds:
        for preset in args.presets:
            images, timing = generate(bench, preset, seed, args.n_iter)
            seconds[preset, seed] = timing["generate_cpu_seconds"]
            bench.evaluate(f"{preset} s{seed}", images, args.n_iter, PRESET_QUANTIZERS)

    for seed in args.seeds:  # equal wall time: MCT's (the default's) time at n_iter is the budget
        budget = seconds["mct", seed]
        for preset in args.presets:
            n_iter = max(1, round(args.n_iter * budget / seconds[preset, seed]))
            key = f"budget|R{args.depth}|{preset}|{seed}"
            if bench.results.get(key) is None:
                bench.results.add({"key": key, "kind": "budget", "depth": args.depth, "preset": preset, "seed": seed,
                                   "budget_cpu_seconds": budget, "n_iter": n_iter})  # fmt: skip
            if abs(n_iter - args.n_iter) <= SAME_BUDGET * args.n_iter:
                continue
            images, _ = generate(bench, preset, seed, n_iter)
            bench.evaluate(f"{preset} s{seed}", images, n_iter, PRESET_QUANTIZERS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_options(parser, depth=20, work=Path("bench-work/presets"), shared_data=None, seeds=[0, 1], n_images=256,
                n_iter=100, threads=1, e2_limit=2000)  # fmt: skip
    parser.add_argument("--presets", type=lambda s: s.split(","), default=PRESETS)
    args = parser.parse_args()
    if "mct" not in args.presets:
        parser.error("--presets must include mct: its time is the equal-wall-time budget")
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    main_run(args)


if __name__ == "__main__":
    main()
