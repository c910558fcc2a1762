"""Memory levers of BN inversion at ImageNet scale: where a 224x224 run's peak memory goes, and what cuts it.

torchvision's MobileNetV2 (benchmarks/imagenet_model.py), 224x224, `generate` through the Python API with the
defaults (all-images statistics over a group, batch 8), Gaussian starts (fractal rendering is not what is measured),
2 torch threads, each variant a fresh process: its peak RSS (VmHWM) and the optimiser's images x iterations per
second from the manifest. Levers that are not options of the tool are switched in the child:
- gradients kept: each batch's canvas gradient stays until its next step (the engine before it released them);
- activation checkpointing: the converted module split with torch.fx into K segments of equal node count, each run
  under torch.utils.checkpoint (non-reentrant), so only segment inputs and the graph outputs (the BN inputs the
  loss needs) are kept through the backward pass, the rest recomputed.
Then a larger set, once each way: `generate` (every image returned in memory) and `run_job` (groups written to a
folder as they finish, the set returned memory-mapped: what `datagen generate` runs).

    python -m benchmarks.activation_memory --work /work/bench/imagenet   # writes ACTIVATION_MEMORY.md and .json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.harness import REPO, RESULTS, cpu_model, interleaved
from benchmarks.imagenet_model import mobilenet_v2_onnx

VARIANTS = {  # name: (batch size, checkpoint segments, gradients released after the step)
    "batch 8, gradients kept until the next step (before)": (8, 0, False),
    "batch 8, gradients released after the step (default)": (8, 0, True),
    "batch 4": (4, 0, True),
    "batch 8, activation checkpointing, 4 segments": (8, 4, True),
    "batch 8, activation checkpointing, 8 segments": (8, 8, True),
    "batch 8, activation checkpointing, 16 segments": (8, 16, True),
}
DEFAULT = "batch 8, gradients released after the step (default)"
ROUTES = {"generate(): the set returned in memory": False, "run_job(): groups written as they finish (the CLI)": True}


def run(model: Path, n: int, iters: int, batch: int, segments: int, release: bool, folder: str = "") -> dict:
    started = time.perf_counter()
    arguments = [str(model), str(n), str(iters), str(batch), str(segments), str(int(release)), folder]
    child = [sys.executable, "-m", "benchmarks.lever_children", "activation_memory", *arguments]
    done = subprocess.run(child, capture_output=True, text=True, check=True, cwd=REPO)
    return {**json.loads(done.stdout.splitlines()[-1]), "wall_s": round(time.perf_counter() - started, 1)}


def render(results: dict) -> str:
    args, rows = results["args"], results["rows"]
    best = {name: {"peak_rss_gb": min(r["peak_rss_gb"] for r in runs), "rate": max(r["rate"] for r in runs)}
            for name, runs in rows.items()}  # fmt: skip
    base = best[DEFAULT]
    lines = [
        "# Memory levers at ImageNet scale",
        "",
        f"torchvision's MobileNetV2 (224x224, BN kept), {args['n_images']} images (one all-images group of "
        f"{rows[DEFAULT][0]['group_size']}) x {args['n_iter']} iterations, the defaults otherwise (batch 8, half the "
        "iterations at half resolution) from Gaussian starts, 2 torch threads, each run a fresh process; peak RSS is "
        f"the child's VmHWM, speed the optimiser's images x iterations per second; {args['repeats']} interleaved "
        f"repeats, the best of each shown. CPU: {results['cpu']}.",
        "Regenerate: `python -m benchmarks.activation_memory --work /work/bench/imagenet`.",
        "",
        "| variant | peak RSS GB | vs default | images x it/s | speed vs default |",
        "|---|---|---|---|---|",
    ]
    for name, b in best.items():
        lines.append(f"| {name} | {b['peak_rss_gb']:.2f} | {b['peak_rss_gb'] - base['peak_rss_gb']:+.2f} | "
                     f"{b['rate']:.2f} | {b['rate'] / base['rate']:.2f}x |")  # fmt: skip
    lines += [
        "",
        f"{args['scale_images']} images ({args['scale_images'] // rows[DEFAULT][0]['group_size']} groups), the "
        "default, once each way:",
        "",
        "| route | peak RSS GB | images x it/s |",
        "|---|---|---|",
        *[f"| {name} | {r['peak_rss_gb']:.2f} | {r['rate']:.2f} |" for name, r in results["routes"].items()],
        "",
        "Kept: gradients released after each step (the first two rows); and, in every row, a group's starting "
        "images measured before the loop instead of held through it; the float64 sums of the statistics report "
        "one layer at a time; the memory the allocator keeps for the next step given back after each group "
        "(engines/torch/allocator.py). "
        "Before them, generate() of 1,024 images peaked at 3.26 GB (IMAGENET.md's 1,024-image row). Not kept: "
        "activation checkpointing saves little, because the BN inputs the loss reads are graph outputs and are "
        "held anyway; batch 4 saves more at about the same speed but changes the images, and its 8-bit quality "
        "trades one calibrator for another (RESULTS.md).",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("bench-work/imagenet"))
    parser.add_argument("--n-images", type=int, default=256)
    parser.add_argument("--n-iter", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--scale-images", type=int, default=1024)
    parser.add_argument("--render-only", action="store_true", help="rewrite ACTIVATION_MEMORY.md from its .json")
    args = parser.parse_args()
    out = RESULTS / "activation_memory.json"
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
        cpu = f"{cpu_model()}, 2 torch threads"
        out.write_text(json.dumps({"cpu": cpu, "args": arguments, "rows": rows, "routes": routes}, indent=1))
    (RESULTS / "ACTIVATION_MEMORY.md").write_text(render(json.loads(out.read_text())))


if __name__ == "__main__":
    main()
