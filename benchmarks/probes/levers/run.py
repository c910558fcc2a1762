"""Speed levers of BN inversion at ImageNet scale, one at a time, each run in a fresh process.

torchvision's MobileNetV2 (benchmarks/models/mobilenet_v2.py), 224x224, `generate` through the Python API with
per-batch statistics, 2 torch threads: wall time (set-up included), user and kernel CPU time, minor page faults
and peak RSS of the child process. The allocator lever is switched off by replacing
engines/torch/allocator.keep_freed_memory with a function returning False; fp32 channels_last (not an option of
the tool) by converting the module and each input to torch.channels_last.

    python -m benchmarks.probes.levers.run --work /work/bench/imagenet       # writes LEVERS.md and levers.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks.harness.child import run_child
from benchmarks.harness.options import REQUIRED, add_options, add_render_only
from benchmarks.harness.repeats import interleaved
from benchmarks.harness.results import publish, save_result
from benchmarks.models.mobilenet_v2 import mobilenet_v2_onnx
from benchmarks.probes.levers import render
from benchmarks.probes.levers.render import MARKDOWN, NAME

VARIANTS = {  # name: (batch size, allocator keeps freed memory, --precision, fp32 channels_last)
    "batch 32, glibc default allocator": (32, False, "fp32", False),
    "batch 32, freed memory kept": (32, True, "fp32", False),
    "batch 8, glibc default allocator": (8, False, "fp32", False),
    "batch 8, freed memory kept": (8, True, "fp32", False),
    "batch 32, kept, channels_last fp32": (32, True, "fp32", True),
    "batch 32, kept, --precision fast (bf16 autocast + channels_last)": (32, True, "fast", False),
}


def run(model: Path, n: int, iters: int, batch: int, keep: bool, precision: str, channels_last: bool) -> dict:
    arguments = [str(model), str(n), str(batch), str(iters), str(int(keep)), precision, str(int(channels_last))]
    done = run_child([sys.executable, "-m", "benchmarks.workers.levers", "levers", *arguments], capture=False)
    return {"wall_s": round(done.wall_s, 1), "user_s": round(done.user_s, 1), "sys_s": round(done.sys_s, 1),
            "minor_faults_m": round(done.minor_faults / 1e6, 2), "peak_rss_gb": round(done.peak_rss_gb, 2),
            "images_x_iterations_per_s": round(n * iters / done.wall_s, 2)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_options(parser, work=REQUIRED, n_images=32, n_iter=6, repeats=2)
    add_render_only(parser, MARKDOWN)
    args = parser.parse_args()
    if not args.render_only:
        model = mobilenet_v2_onnx(args.work)
        rows = interleaved(VARIANTS, args.repeats, lambda *variant: run(model, args.n_images, args.n_iter, *variant))
        arguments = {"n_images": args.n_images, "n_iter": args.n_iter, "repeats": args.repeats, "work": str(args.work)}
        save_result(NAME, {"args": arguments, "rows": rows})
    publish(render)


if __name__ == "__main__":
    main()
