"""Batch-job throughput: one process, two shard processes, and Ray with two workers, on CIFAR ResNet-20.

Every mode makes the same job (same bytes, which the script checks) and is timed from the
command's start to its complete dataset, start-up included: that is what a batch job pays. Modes
run interleaved, `--repeats` times, each in fresh processes; the machine is shared, so compare
ratios from one run. A 224x224 ResNet-18 (random weights; only its cost matters) gives the
per-image cost behind the cluster estimate in SCALING.md.

    python -m benchmarks.scaling --shared-data ../shared/data     # writes SCALING.md and scaling.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.harness import RESULTS, SHARED_DATA

DATAGEN = [sys.executable, "-m", "onnx_datagen.cli.main"]
MODES = ["1 process, 2 threads", "1 process, 1 thread", "2 shard processes + merge", "Ray, 2 workers"]


def export_resnet18(path: Path) -> Path:
    """torchvision's ResNet-18 at 224x224, BN kept (no constant folding)."""
    import torch

    from onnx_datagen.engines.torch.engine import import_onnx2torch

    import_onnx2torch()  # makes torchvision importable beside the CPU torch build
    import torchvision

    model = torchvision.models.resnet18(num_classes=1000).eval()
    torch.onnx.export(
        model, (torch.randn(1, 3, 224, 224),), str(path), dynamo=False, do_constant_folding=False,
        opset_version=17, input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
    )  # fmt: skip
    return path


def run(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def run_mode(mode: str, job: list[str], out: Path) -> float:
    env_1 = {**os.environ, "OMP_NUM_THREADS": "1"}
    if mode == "1 process, 2 threads":
        return run([*DATAGEN, *job, "--threads", "2", "-o", str(out)])
    if mode == "1 process, 1 thread":
        return run([*DATAGEN, *job, "--threads", "1", "-o", str(out)])
    if mode == "2 shard processes + merge":
        started = time.perf_counter()
        shards = [
            subprocess.Popen([*DATAGEN, *job, "--threads", "1", "--shard", f"{k}/2", "-o", f"{out}.{k}"], env=env_1)
            for k in (1, 2)
        ]
        assert all(p.wait() == 0 for p in shards)
        subprocess.run([*DATAGEN, "merge", f"{out}.1", f"{out}.2", "-o", str(out), "-q"], check=True)
        return time.perf_counter() - started
    return run([*DATAGEN, *job, "--ray", "-o", str(out)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared-data", type=Path, default=SHARED_DATA)
    parser.add_argument("--n-images", type=int, default=256)
    parser.add_argument("--n-iter", type=int, default=20)
    parser.add_argument("--group-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    from benchmarks import cifar_resnet

    work = Path(tempfile.mkdtemp(prefix="datagen-scaling-"))
    r20 = cifar_resnet.export(cifar_resnet.load(args.shared_data / "resnet20-12fca82f.th", 20), work / "r20.onnx")
    settings = ["-n", args.n_images, "--n-iter", args.n_iter, "--group-size", args.group_size]
    # The akamaster CIFAR ResNets were trained on ImageNet-normalised input (as in calibration_benchmark.py).
    job = ["generate", str(r20), "--normalization", "imagenet", "--format", "npy", "-q", *map(str, settings)]
    times: dict[str, list[float]] = {mode: [] for mode in MODES}
    reference = None
    for repeat in range(args.repeats):
        for i, mode in enumerate(MODES):
            out = work / f"r{repeat}m{i}"
            times[mode].append(run_mode(mode, job, out))
            data = (out / "images.npy").read_bytes()
            reference = reference or data
            assert data == reference, f"{mode} wrote other bytes than the first mode"
            print(f"{mode}: {times[mode][-1]:.1f} s", flush=True)

    resnet18 = export_resnet18(work / "resnet18.onnx")
    per_image = work / "r18"
    run([*DATAGEN, "generate", str(resnet18), "-n", "16", "--batch-size", "16", "--n-iter", "3", "--threads", "2",
         "--format", "npy", "-q", "-o", str(per_image)])  # fmt: skip
    r18_rate = json.loads((per_image / "manifest.json").read_text())["timing"]["images_x_iterations_per_second"]

    work_units = args.n_images * args.n_iter
    rows = {}
    for mode, runs in times.items():
        rows[mode] = {"seconds": statistics.median(runs), "all": runs, "rate": work_units / statistics.median(runs)}
    result = {"n_images": args.n_images, "n_iter": args.n_iter, "group_size": args.group_size, "modes": rows,
              "resnet18_224_images_x_iterations_per_second": r18_rate, "cpus": os.cpu_count()}  # fmt: skip
    (args.out / "scaling.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "SCALING.md").write_text(render(result))
    print(render(result))


def render(result: dict) -> str:
    rows, r18 = result["modes"], result["resnet18_224_images_x_iterations_per_second"]
    base, one = rows["1 process, 2 threads"]["rate"], rows["1 process, 1 thread"]["rate"]
    shards = rows["2 shard processes + merge"]["rate"]
    ray_extra = rows["Ray, 2 workers"]["seconds"] - rows["2 shard processes + merge"]["seconds"]
    table = [
        "| mode | wall s (median) | runs | images x iterations / s | vs 1 process, 2 threads |",
        "|---|---|---|---|---|",
    ]
    for mode, row in rows.items():
        runs = ", ".join(f"{t:.1f}" for t in row["all"])
        table.append(f"| {mode} | {row['seconds']:.1f} | {runs} | {row['rate']:.0f} | {row['rate'] / base:.2f}x |")
    work = 100_000 * 500  # images x iterations: 100,000 ImageNet-size images at MCT's 500 iterations
    node_days = work / r18 / 86400
    gpu_rate = 1024 * 1000 / (12.5 * 60)  # MCT README: ResNet-18, 1024 images x 1000 iterations in 12.5 min
    return f"""# Batch-job throughput: processes, shards and Ray

Command: `python -m benchmarks.scaling --shared-data ../shared/data` (this file and scaling.json).
Job: CIFAR-10 ResNet-20, {result["n_images"]} images, {result["n_iter"]} iterations, groups of {result["group_size"]}
({result["n_images"] // result["group_size"]} groups), npy only; {result["cpus"]} CPUs, shared and noisy.
Wall time from the command's start to the complete dataset, start-up included (Python import and
model conversion in every process; for Ray, starting the local instance). Every mode wrote the same
bytes (the script checks).

{chr(10).join(table)}

- A second torch thread gives {base / one:.2f}x over one; two one-thread shard processes give
  {shards / one:.2f}x over one thread ({shards / base:.2f}x over two threads), merge included.
- Ray with 2 workers took {ray_extra:.0f} s more than the two shard processes: starting the local
  instance, and each worker importing torch and converting the model. On a job this short that
  eats the gain; Ray is for jobs that do not fit one machine.

## An estimate for a cluster (not measured)

A 224x224 torchvision ResNet-18 runs at {r18:.1f} images x iterations / s here (2 threads, 16 images x 3
iterations). 100,000 ImageNet-size images at 500 iterations are {work:.1e} images x iterations:
about {node_days:.0f} days on one such 2-core node, so about {node_days / 16:.1f} days on 16 of them, or about
{node_days / 16 / 16 * 24:.0f} hours on 16 nodes of 32 cores if throughput grows with cores as two processes do
here. On GPUs, MCT's README reports ResNet-18 at 1024 images x 1000 iterations in 12.5 min, i.e.
about {gpu_rate:.0f} images x iterations / s per GPU: {work / gpu_rate / 3600:.1f} h on one GPU, about
{work / gpu_rate / 16 / 60:.0f} min on 16, plus a few seconds per worker to convert the model.
Groups are independent, so the work splits evenly until there are fewer groups than workers
(100,000 images are 98 groups of 1024 under all-images statistics; use a smaller --group-size
for more workers).
"""


if __name__ == "__main__":
    main()
