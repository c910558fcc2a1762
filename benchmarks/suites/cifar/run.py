"""The calibration benchmark of ../shared/docs/benchmark.md: real / gauss / uniform / datagen / MCT data,
ORT and NNCF quantizers, E1/E2/E3, and datagen vs MCT generation speed measured in the same run.

    .bench/bin/python -m benchmarks.suites.cifar.run --depth 20 --work bench-work/R20   # one model
    .bench/bin/python -m benchmarks.suites.cifar.collect bench-work/R20 bench-work/R56          # RESULTS.md + JSON

Every step is cached in --work (generated sets as .npy, one JSON line per result in results.jsonl), so
an interrupted run continues where it stopped and two models can run side by side, one per core.
The environment: python3 -m venv .bench && .bench/bin/pip install -c constraints-cpu.txt -e ".[test]" \
    -r benchmarks/requirements.txt
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from benchmarks.harness.options import add_options
from benchmarks.pipelines.cifar import REAL_CALIB, Bench, generated_set


def main_run(args) -> None:
    bench = Bench(args)
    for name, images in calibration_sets_lazy(args, bench.work, bench.onnx_path, bench.results):
        bench.evaluate(name, images, args.n_iter)


def calibration_sets_lazy(args, work, onnx_path, results):
    """Model-free sets first (seconds; fractal is `--preset fractal`), then each generated set once it exists."""
    from onnx_datagen.config.normalization import Normalization
    from onnx_datagen.data.image_sets import load_labelled, random_images
    from onnx_datagen.images.init import fractal

    norm = Normalization.preset("imagenet")
    real = load_labelled(Path(args.shared_data) / "cifar10_test.npz").subset(REAL_CALIB.start, REAL_CALIB.stop)
    if args.baselines:
        yield "real", real.model_input(norm)[: args.n_images]
        yield "gauss", random_images("gaussian", args.n_images, (3, 32, 32), norm, seed=0)
        yield "uniform", random_images("uniform", args.n_images, (3, 32, 32), norm, seed=0)
        yield "fractal", fractal(seed=0, first_index=0, shape=(args.n_images, 3, 32, 32), normalization=norm)
    for seed in args.seeds:
        for generator in args.generators:
            label = f"{generator} {args.granularity}" if args.granularity and generator == "datagen" else generator
            if args.datagen_label and generator == "datagen":
                label += f" {args.datagen_label}"
            yield f"{label} s{seed}", generated_set(args, work, onnx_path, generator, seed, results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_options(parser, depth=20, work=Path("bench-work"), shared_data=None, seeds=[0, 1], n_images=512, n_iter=500,
                threads=1, e2_limit=None)  # fmt: skip
    parser.add_argument("--generators", type=lambda s: s.split(","), default=["datagen", "mct"])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--granularity", help="datagen sets with this granularity instead of the default")
    parser.add_argument("--datagen-config", help="datagen sets: config values over the mct preset's, as JSON")
    parser.add_argument("--datagen-label", help="datagen sets: a name for --datagen-config's variant")
    parser.add_argument("--no-baselines", dest="baselines", action="store_false", help="generated sets only")
    parser.add_argument(
        "--fold-bn", action="store_true", help="use the BN-folded export (torch's default); only model-free sets"
    )
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    main_run(args)


if __name__ == "__main__":
    main()
