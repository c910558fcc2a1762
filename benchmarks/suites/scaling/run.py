"""Batch-job throughput: one process, two shard processes, and Ray with two workers, on CIFAR ResNet-20.

Every mode makes the same job (same bytes, which the script checks) and is timed from the
command's start to its complete dataset, start-up included: that is what a batch job pays. Modes
run interleaved, `--repeats` times, each in fresh processes; the machine is shared, so compare
ratios from one run. A 224x224 ResNet-18 (random weights; only its cost matters) gives the
per-image cost behind the cluster estimate in SCALING.md.

    python -m benchmarks.suites.scaling.run --shared-data ../shared/data     # writes SCALING.md and scaling.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks.harness.child import DATAGEN
from benchmarks.harness.options import add_options
from benchmarks.harness.results import publish, save_result
from benchmarks.suites.scaling import render
from benchmarks.suites.scaling.render import NAME

BATCH = 32  # datagen's default batch at 32x32: groups are whole batches
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
    add_options(parser, shared_data=None, n_images=256, n_iter=20, repeats=2)
    parser.add_argument("--group-size", type=int, default=64)
    args = parser.parse_args()
    if args.group_size % BATCH or args.n_images < 2 * args.group_size:
        parser.error(f"--group-size must be a multiple of the batch size ({BATCH}) and --n-images at least two groups "
                     "(the shard mode runs two)")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="datagen-scaling-") as folder:
        measure(args, Path(folder))


def measure(args, work: Path) -> None:
    from benchmarks.models import cifar_resnet

    r20 = cifar_resnet.export(cifar_resnet.load(args.shared_data / "resnet20-12fca82f.th", 20), work / "r20.onnx")
    settings = ["-n", args.n_images, "--n-iter", args.n_iter, "--group-size", args.group_size]
    # The akamaster CIFAR ResNets were trained on ImageNet-normalised input (as in benchmarks/suites/cifar/run.py).
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
    data = {"n_images": args.n_images, "n_iter": args.n_iter, "group_size": args.group_size, "modes": rows,
            "resnet18_224_images_x_iterations_per_second": r18_rate}  # fmt: skip
    result = save_result(NAME, data)
    publish(render, result)
    print(render.render(result))


if __name__ == "__main__":
    main()
