"""Generation speed, datagen vs Sony MCT, on the same CPU in the same run, next to the ceiling of any
BN-inversion loop: a bare forward + backward (to the input) of the native torch model, no loss terms.

    .bench/bin/python -m benchmarks.speed_vs_mct --depths 20,56 --threads 1,2 --repeats 3

Runs are interleaved (datagen, datagen --for w8a4, MCT, ceiling, datagen, ...) and each is a fresh process; the
table gives medians. Writes benchmarks/results/SPEED_VS_MCT.md and speed_vs_mct.json. Nothing else should run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.harness import REPO, RESULTS, SHARED_DATA, machine

GENERATORS = {  # name -> generate_worker.py's generator and options; "ceiling" runs this file's child
    "datagen": ["datagen"],
    "datagen-w8a4": ["datagen", "--config-json", '{"calibrate_for": "w8a4"}'],
    "mct": ["mct"],
    "ceiling": [],
}
MCT_ITERATIONS = 500  # MCT's default n_iter


def ceiling(args) -> None:
    """Forward + backward to the input of the plain torch model, batch by batch: no statistics, no loss."""
    import torch

    from benchmarks import cifar_resnet

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
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    Path(args.report).write_text(json.dumps(report))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--depths", type=lambda s: [int(v) for v in s.split(",")], default=[20, 56])
    parser.add_argument("--threads", type=lambda s: [int(v) for v in s.split(",")], default=[1, 2])
    parser.add_argument("--n-images", type=int, default=128)
    parser.add_argument("--n-iter", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--shared-data", default=str(SHARED_DATA))
    parser.add_argument("--ceiling-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--depth", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--batch-size", type=int, default=32, help=argparse.SUPPRESS)
    parser.add_argument("--report", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ceiling_child:
        args.threads = args.threads[0]
        return ceiling(args)

    from benchmarks import cifar_resnet
    from onnx_datagen.config.defaults import SMALL_IMAGE_ITERATIONS

    work = Path(tempfile.mkdtemp(prefix="datagen-speed-mct-"))
    runs: dict[tuple[int, int, str], list[dict]] = {}
    for depth in args.depths:
        onnx_path = work / f"resnet{depth}.onnx"
        cifar_resnet.export(cifar_resnet.load(Path(args.shared_data) / cifar_resnet.DEPTHS[depth], depth), onnx_path)
        for threads in args.threads:
            env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
            for repeat in range(args.repeats):
                for generator in GENERATORS:
                    report = work / f"{depth}-{threads}-{generator}-{repeat}.json"
                    common = ["--depth", str(depth), "--n-images", str(args.n_images), "--n-iter", str(args.n_iter),
                              "--shared-data", args.shared_data, "--report", str(report)]  # fmt: skip
                    if generator == "ceiling":
                        command = [
                            "-m",
                            "benchmarks.speed_vs_mct",
                            "--ceiling-child",
                            "--threads",
                            str(threads),
                            *common,
                        ]
                    else:
                        worker, *options = GENERATORS[generator]
                        command = ["-m", "benchmarks.generate_worker", worker, "--onnx", str(onnx_path), *options,
                                   "--threads", str(threads), "--out", str(work / "x.npy"), *common]  # fmt: skip
                    subprocess.run([sys.executable, *command], check=True, env=env, capture_output=True, cwd=REPO)
                    runs.setdefault((depth, threads, generator), []).append(json.loads(report.read_text()))
                    speed = runs[(depth, threads, generator)][-1]["images_x_iterations_per_second"]
                    print(f"R{depth} {threads}t {generator:8s} {speed:.1f} img*it/s", flush=True)

    rows = []
    for depth in args.depths:
        for threads in args.threads:
            med = {
                g: statistics.median(r["images_x_iterations_per_second"] for r in runs[(depth, threads, g)])
                for g in GENERATORS
            }
            rss = {g: statistics.median(r["peak_rss_mib"] for r in runs[(depth, threads, g)]) for g in med}
            # --for w8a4 at its default 100 iterations against MCT's default 500 (the W8A4 quality it exceeds)
            time_ratio = (SMALL_IMAGE_ITERATIONS / med["datagen-w8a4"]) / (MCT_ITERATIONS / med["mct"])
            rows.append(
                f"| ResNet-{depth} | {threads} | {med['datagen']:.1f} | {med['datagen-w8a4']:.1f} | {med['mct']:.1f} | "
                f"**{med['datagen'] / med['mct']:.2f}x** | **{time_ratio:.2f}** | {med['ceiling']:.1f} | "
                f"{med['ceiling'] / med['mct']:.2f}x | {rss['datagen']:.0f} | {rss['mct']:.0f} |"
            )
    header = (
        "| model | threads | datagen img·it/s | datagen --for w8a4 img·it/s | MCT img·it/s | datagen / MCT "
        f"| time of --for w8a4 at {SMALL_IMAGE_ITERATIONS} it / MCT at {MCT_ITERATIONS} | ceiling img·it/s "
        "| ceiling / MCT | datagen RSS MiB | MCT RSS MiB |"
    )
    info = machine()
    command = (f"-m benchmarks.speed_vs_mct --depths {','.join(map(str, args.depths))} "
               f"--threads {','.join(map(str, args.threads))} --n-images {args.n_images} --n-iter {args.n_iter} "
               f"--repeats {args.repeats}")  # fmt: skip
    text = f"""# Generation speed: datagen vs Sony MCT (same machine, same run)

Measured by `.bench/bin/python {command}` (generated file; rerun to refresh).
{info["cpu"]}, {info["cores"]} cores, load average at the end {os.getloadavg()[0]:.1f};
{", ".join(f"{k} {v}" for k, v in info["versions"].items())}.
Each number is the median of {args.repeats} interleaved runs, each in a fresh process: {args.n_images} images x
{args.n_iter} iterations, batch 32, defaults otherwise (datagen: the mct preset, as generate_worker.py runs it, and
with `--for w8a4` its tail penalty; MCT: its PyTorch data-generation defaults with `output_image_size=32`). The
time column: datagen `--for w8a4` at its default {SMALL_IMAGE_ITERATIONS} iterations (above MCT's W8A4 quality in
TAILS.md) against MCT at its default {MCT_ITERATIONS}, from these speeds. Images x iterations per second of
the generator call; peak RSS of the whole process. "Ceiling" is a bare forward + backward to the input of the native
torch model with no statistics or loss: no BN-inversion loop can run faster than that in fp32.

{header}
|---|---|---|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}
"""
    (RESULTS / "SPEED_VS_MCT.md").write_text(text)
    (RESULTS / "speed_vs_mct.json").write_text(
        json.dumps({"command": command, "machine": info, "runs": {str(k): v for k, v in runs.items()}}, indent=1)
    )
    print(text)


if __name__ == "__main__":
    main()
