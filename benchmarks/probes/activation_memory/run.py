"""Memory levers of BN inversion at ImageNet scale: where a 224x224 run's peak memory goes, and what cuts it.

torchvision's MobileNetV2 (benchmarks/models/mobilenet_v2.py), 224x224, `generate` through the Python API with the
defaults (all-images statistics over a group, batch 8), Gaussian starts (fractal rendering is not what is measured),
2 torch threads, each variant a fresh process: its peak RSS and the optimiser's images x iterations per
second from the manifest. Levers that are not options of the tool are switched in the child:
- gradients kept: each batch's canvas gradient stays until its next step (the engine before it released them);
- activation checkpointing: the converted module split with torch.fx into K segments of equal node count, each run
  under torch.utils.checkpoint (non-reentrant), so only segment inputs and the graph outputs (the BN inputs the
  loss needs) are kept through the backward pass, the rest recomputed.
Then a larger set, once each way: `generate` (every image returned in memory) and `run_job` (groups written to a
folder as they finish, the set returned memory-mapped: what `datagen generate` runs).

    python -m benchmarks.probes.activation_memory.run --work /work/bench/imagenet   # ACTIVATION_MEMORY.md and .json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from benchmarks.harness.child import run_child
from benchmarks.harness.options import REQUIRED, add_options, add_render_only
from benchmarks.harness.repeats import interleaved
from benchmarks.harness.results import publish, save_result
from benchmarks.models.mobilenet_v2 import mobilenet_v2_onnx
from benchmarks.probes.activation_memory import render
from benchmarks.probes.activation_memory.render import DEFAULT, MARKDOWN, NAME

VARIANTS = {  # name: (batch size, checkpoint segments, gradients released after the step)
    "batch 8, gradients kept until the next step (before)": (8, 0, False),
    "batch 8, gradients released after the step (default)": (8, 0, True),
    "batch 4": (4, 0, True),
    "batch 8, activation checkpointing, 4 segments": (8, 4, True),
    "batch 8, activation checkpointing, 8 segments": (8, 8, True),
    "batch 8, activation checkpointing, 16 segments": (8, 16, True),
}
ROUTES = {"generate(): the set returned in memory": False, "run_job(): groups written as they finish (the CLI)": True}


def run(model: Path, n: int, iters: int, batch: int, segments: int, release: bool, folder: str = "") -> dict:
    arguments = [str(model), str(n), str(iters), str(batch), str(segments), str(int(release)), folder]
    done = run_child([sys.executable, "-m", "benchmarks.workers.levers", "activation_memory", *arguments])
    return {**json.loads(done.stdout.splitlines()[-1]), "peak_rss_gb": round(done.peak_rss_gb, 3),
            "wall_s": round(done.wall_s, 1)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_options(parser, work=REQUIRED, n_images=256, n_iter=2, repeats=2)
    parser.add_argument("--scale-images", type=int, default=1024, help="images of the once-each-way routes")
    add_render_only(parser, MARKDOWN)
    args = parser.parse_args()
    if not args.render_only:
        model = mobilenet_v2_onnx(args.work)
        rows = interleaved(VARIANTS, args.repeats, lambda *variant: run(model, args.n_images, args.n_iter, *variant))
        routes = {}
        with tempfile.TemporaryDirectory() as tmp:
            for name, on_disk in ROUTES.items():
                routes[name] = run(model, args.scale_images, args.n_iter, *VARIANTS[DEFAULT], f"{tmp}/set" * on_disk)
                print(name, routes[name], flush=True)
        arguments = {"n_images": args.n_images, "n_iter": args.n_iter, "repeats": args.repeats,
                     "scale_images": args.scale_images}  # fmt: skip
        peak = "the child's peak RSS (wait4)"
        save_result(NAME, {"args": arguments, "peak_rss": peak, "rows": rows, "routes": routes})
    publish(render)


if __name__ == "__main__":
    main()
