"""Seconds per optimiser step at ImageNet scale, by batch size, precision and resolution, in one process.

torchvision's MobileNetV2 (benchmarks/imagenet_model.py), 224x224, per-batch statistics, 8 iterations of one batch
each; the first steps warm caches up, so the fastest step is reported. `half` runs 75 % of the iterations at half
resolution (DeepInversion's low-resolution phase; the views are then jitter + flip, which it needs), and the fastest
step is one of those.

    python -m benchmarks.step_time --work /work/bench/imagenet [--threads 2]      # writes STEP_TIME.md, step_time.json
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from benchmarks.harness import RESULTS, cpu_model
from benchmarks.imagenet_model import mobilenet_v2_onnx

VARIANTS = [  # (batch, --precision, low-resolution fraction)
    (8, "fp32", 0.0),
    (8, "fast", 0.0),
    (32, "fp32", 0.0),
    (32, "fast", 0.0),
    (8, "fp32", 0.75),
    (8, "fast", 0.75),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", required=True)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    import torch

    import onnx_datagen
    from onnx_datagen import GenerationConfig, Normalization

    torch.set_num_threads(args.threads)
    model = mobilenet_v2_onnx(Path(args.work))
    rows = []
    for batch, precision, low in VARIANTS:
        stamps = []
        views = {"pipeline": "jitter-and-flip"} if low else {}
        imagenet = Normalization.preset("imagenet")
        config = GenerationConfig(n_iter=8, batch_size=batch, granularity="per-batch", precision=precision,
                                  low_res_fraction=low, normalization=imagenet, **views)  # fmt: skip
        onnx_datagen.generate(model, batch, config, progress=lambda _r, s=stamps: s.append(time.perf_counter()))
        step = min(b - a for a, b in zip(stamps, stamps[1:]))
        rows.append({"batch": batch, "precision": precision, "low_res_fraction": low, "step_s": round(step, 3),
                     "images_x_iterations_per_s": round(batch / step, 1)})  # fmt: skip
        print(json.dumps(rows[-1]), flush=True)
    flags = set(Path("/proc/cpuinfo").read_text().split())
    machine = {"cpu": cpu_model(), "cores": os.cpu_count(), "threads": args.threads, "torch": torch.__version__,
               **{f: f in flags for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16")}}  # fmt: skip
    (RESULTS / "step_time.json").write_text(json.dumps({"machine": machine, "rows": rows}, indent=1) + "\n")
    (RESULTS / "STEP_TIME.md").write_text(render(machine, rows))


def render(machine: dict, rows: list[dict]) -> str:
    base = {
        (r["batch"], r["low_res_fraction"]): r["images_x_iterations_per_s"] for r in rows if r["precision"] == "fp32"
    }
    reference = base[(8, 0.0)]
    lines = [
        "# Seconds per step at 224x224, by batch size, precision and resolution",
        "",
        "Regenerate: `python -m benchmarks.step_time --work /work/bench/imagenet` (nothing else running). "
        f"MobileNetV2 (BN kept), per-batch statistics, fastest of 7 steps, {machine['threads']} torch threads, "
        f"torch {machine['torch']}. CPU: {machine['cpu']}, {machine['cores']} cores; "
        + ", ".join(f"{f} {machine[f]}" for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16"))
        + ". `--precision fast` is bf16 autocast + channels_last; *half resolution* is a step of the "
        "low-resolution phase (the model sees the images 2x2 average-pooled).",
        "",
        "| batch | precision | resolution | s / step | images x iterations / s | vs batch 8 fp32 full |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        resolution = "half" if r["low_res_fraction"] else "full"
        speed = r["images_x_iterations_per_s"]
        lines.append(f"| {r['batch']} | {r['precision']} | {resolution} | {r['step_s']} | {speed} | "
                     f"{speed / reference:.2f}x |")  # fmt: skip
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
