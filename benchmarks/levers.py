"""Speed levers of BN inversion at ImageNet scale, one at a time, each run in a fresh process.

torchvision's MobileNetV2 (benchmarks/imagenet_model.py), 224x224, `generate` through the Python API with
per-batch statistics, 2 torch threads: wall time (set-up included), user and kernel CPU time, minor page faults
and peak RSS of the child process. The allocator lever is switched off by replacing
engines/torch/allocator.keep_freed_memory with a function returning False.

    python benchmarks/levers.py --work /work/bench/imagenet       # writes LEVERS.md and levers.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from imagenet_model import mobilenet_v2_onnx

HERE = Path(__file__).resolve().parent
CHILD = """
import sys, onnx_datagen
from onnx_datagen import GenerationConfig, Normalization
import onnx_datagen.engines.torch.allocator as allocator
import onnx_datagen.engines.torch.engine as engine
import torch
torch.set_num_threads(2)
model, n, batch, iters, keep = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1"
if not keep:
    engine.keep_freed_memory = lambda: False
imagenet = Normalization.preset("imagenet")
config = GenerationConfig(n_iter=iters, batch_size=batch, granularity="per-batch", normalization=imagenet)
onnx_datagen.generate(model, n, config)
"""
VARIANTS = {  # name: (batch size, allocator keeps freed memory)
    "batch 32, glibc default allocator": (32, False),
    "batch 32, freed memory kept": (32, True),
    "batch 8, glibc default allocator": (8, False),
    "batch 8, freed memory kept": (8, True),
}


def run(model: Path, n: int, iters: int, batch: int, keep: bool) -> dict:
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(model), str(n), str(batch), str(iters), str(int(keep))]
    )
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("the child run failed")
    wall = time.perf_counter() - started
    return {"wall_s": round(wall, 1), "user_s": round(usage.ru_utime, 1), "sys_s": round(usage.ru_stime, 1),
            "minor_faults_m": round(usage.ru_minflt / 1e6, 2), "peak_rss_gb": round(usage.ru_maxrss / 2**20, 2),
            "images_x_iterations_per_s": round(n * iters / wall, 2)}  # fmt: skip


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("bench-work/imagenet"))
    parser.add_argument("--n-images", type=int, default=32)
    parser.add_argument("--n-iter", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    model = mobilenet_v2_onnx(args.work)
    rows = {name: [] for name in VARIANTS}
    for _ in range(args.repeats):  # interleaved, so drift on a shared machine hits every variant alike
        for name, (batch, keep) in VARIANTS.items():
            rows[name].append(run(model, args.n_images, args.n_iter, batch, keep))
            print(name, rows[name][-1], flush=True)
    flags = Path("/proc/cpuinfo").read_text()
    cpu = f"{cpu_name()}, {os.cpu_count()} cores, avx512f {'avx512f' in flags}, avx512_bf16 {'avx512_bf16' in flags}"
    (HERE / "levers.json").write_text(json.dumps({"cpu": cpu, "args": vars(args) | {"work": str(args.work)},
                                                  "rows": rows}, indent=1))  # fmt: skip
    best = {name: min(r["wall_s"] for r in runs) for name, runs in rows.items()}
    base = best["batch 32, glibc default allocator"]
    lines = [
        "# Speed levers at ImageNet scale",
        "",
        f"torchvision's MobileNetV2 (224x224, 52 BN, BN kept), {args.n_images} images x {args.n_iter} iterations,",
        "per-batch statistics, defaults otherwise, 2 torch threads, each run a fresh process (set-up included);",
        f"{args.repeats} interleaved repeats, the faster one shown. CPU: {cpu}.",
        "Regenerate: `python benchmarks/levers.py --work /work/bench/imagenet`.",
        "",
        "| variant | wall s | speed-up | user s | kernel s | minor faults (M) | peak RSS GB |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, runs in rows.items():
        r = min(runs, key=lambda r: r["wall_s"])
        lines.append(f"| {name} | {r['wall_s']} | {base / r['wall_s']:.2f}x | {r['user_s']} | {r['sys_s']} | "
                     f"{r['minor_faults_m']} | {r['peak_rss_gb']} |")  # fmt: skip
    lines += [
        "",
        "Kept: the torch engine keeps freed memory by default (engines/torch/allocator.py: glibc's mmap off, trim",
        "threshold 2 GiB), so the 'freed memory kept' rows are what `generate` does now; it changes no image byte",
        "(tests/test_behaviour_unchanged.py). Not yet kept: batch 8 instead of MCT's 32 also cuts peak memory to a",
        "third, but it changes the images; it waits for the ImageNet quality benchmark (issue 20).",
    ]
    (HERE / "LEVERS.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
