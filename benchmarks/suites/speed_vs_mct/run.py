"""Generation speed, datagen vs Sony MCT, on the same CPU in the same run, next to the ceiling of any
BN-inversion loop: a bare forward + backward (to the input) of the native torch model, no loss terms.

    .bench/bin/python -m benchmarks.suites.speed_vs_mct.run --depths 20,56 --threads 1,2 --repeats 3

Runs are interleaved (datagen, datagen --for w8a4, MCT, ceiling, datagen, ...) and each is a fresh process; the
table gives medians. Writes benchmarks/results/SPEED_VS_MCT.md and speed_vs_mct.json. Nothing else should run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.harness.child import run_child
from benchmarks.harness.options import add_options, numbers
from benchmarks.harness.results import publish, save_result
from benchmarks.pipelines.cifar import with_peak_rss
from benchmarks.suites.speed_vs_mct import render
from benchmarks.suites.speed_vs_mct.render import GENERATORS, NAME

WORKERS = {  # name -> benchmarks/workers/generate.py's generator and options; "ceiling" runs this file's child
    "datagen": ["datagen"],
    "datagen-w8a4": ["datagen", "--config-json", '{"calibrate_for": "w8a4"}'],
    "mct": ["mct"],
    "ceiling": [],
}
MCT_ITERATIONS = 500  # MCT's default n_iter


def ceiling(args) -> None:
    """Forward + backward to the input of the plain torch model, batch by batch: no statistics, no loss."""
    import torch

    from benchmarks.models import cifar_resnet

    torch.set_num_threads(args.threads)
    model = cifar_resnet.load(Path(args.shared_data) / cifar_resnet.DEPTHS[args.depth], args.depth)
    model.requires_grad_(False)
    n_batches = args.n_images // args.batch_size
    batches = [torch.randn(args.batch_size, 3, 32, 32, requires_grad=True) for _ in range(n_batches)]
    started = time.perf_counter()
    for _ in range(args.n_iter):
        for x in batches:
            model(x).square().mean().backward()
    wall = time.perf_counter() - started
    report = {
        "generate_seconds": wall,
        "images_x_iterations_per_second": args.n_images * args.n_iter / wall,
    }
    Path(args.report).write_text(json.dumps(report))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--depths", type=numbers, default=[20, 56], help="CIFAR ResNet depths, comma-separated")
    parser.add_argument("--threads", type=numbers, default=[1, 2], help="torch threads per process, comma-separated")
    add_options(parser, n_images=128, n_iter=30, repeats=3, shared_data=None)
    parser.add_argument("--ceiling-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--depth", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--batch-size", type=int, default=32, help=argparse.SUPPRESS)
    parser.add_argument("--report", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ceiling_child:
        args.threads = args.threads[0]
        return ceiling(args)

    from benchmarks.models import cifar_resnet
    from onnx_datagen.config.defaults import SMALL_IMAGE_ITERATIONS

    work = Path(tempfile.mkdtemp(prefix="datagen-speed-mct-"))
    runs: dict[tuple[int, int, str], list[dict]] = {}
    for depth in args.depths:
        onnx_path = work / f"resnet{depth}.onnx"
        cifar_resnet.export(cifar_resnet.load(Path(args.shared_data) / cifar_resnet.DEPTHS[depth], depth), onnx_path)
        for threads in args.threads:
            for repeat in range(args.repeats):
                for generator in GENERATORS:
                    report = work / f"{depth}-{threads}-{generator}-{repeat}.json"
                    common = ["--depth", str(depth), "--n-images", str(args.n_images), "--n-iter", str(args.n_iter),
                              "--shared-data", str(args.shared_data), "--report", str(report)]  # fmt: skip
                    if generator == "ceiling":
                        command = [
                            "-m",
                            "benchmarks.suites.speed_vs_mct.run",
                            "--ceiling-child",
                            "--threads",
                            str(threads),
                            *common,
                        ]
                    else:
                        worker, *options = WORKERS[generator]
                        command = ["-m", "benchmarks.workers.generate", worker, "--onnx", str(onnx_path), *options,
                                   "--threads", str(threads), "--out", str(work / "x.npy"), *common]  # fmt: skip
                    done = run_child([sys.executable, *command], env={"OMP_NUM_THREADS": str(threads)})
                    runs.setdefault((depth, threads, generator), []).append(with_peak_rss(report, done))
                    speed = runs[(depth, threads, generator)][-1]["images_x_iterations_per_second"]
                    print(f"R{depth} {threads}t {generator:8s} {speed:.1f} img*it/s", flush=True)

    data = {
        "args": {k: getattr(args, k) for k in ("depths", "threads", "n_images", "n_iter", "repeats")},
        "small_image_iterations": SMALL_IMAGE_ITERATIONS,
        "mct_iterations": MCT_ITERATIONS,
        "load_average_end": os.getloadavg()[0],
        "runs": {str(k): v for k, v in runs.items()},
    }
    result = save_result(NAME, data)
    publish(render, result)
    print(render.render(result))


if __name__ == "__main__":
    main()
