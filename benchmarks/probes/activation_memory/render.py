"""ACTIVATION_MEMORY.md from activation_memory.json: peak memory and speed of the memory levers."""

from __future__ import annotations

from benchmarks.harness.results import cpu_line

NAME, MARKDOWN = "activation_memory", "ACTIVATION_MEMORY.md"
DEFAULT = "batch 8, gradients released after the step (default)"


def render(result: dict) -> str:
    data = result["data"]
    args, rows = data["args"], data["rows"]
    best = {name: {"peak_rss_gb": min(r["peak_rss_gb"] for r in runs), "rate": max(r["rate"] for r in runs)}
            for name, runs in rows.items()}  # fmt: skip
    base = best[DEFAULT]
    lines = [
        "# Memory levers at ImageNet scale",
        "",
        f"torchvision's MobileNetV2 (224x224, BN kept), {args['n_images']} images (one all-images group of "
        f"{rows[DEFAULT][0]['group_size']}) x {args['n_iter']} iterations, the defaults otherwise (batch 8, half the "
        "iterations at half resolution) from Gaussian starts, 2 torch threads, each run a fresh process; peak RSS is "
        f"{data['peak_rss']}, speed the optimiser's images x iterations per second; {args['repeats']} interleaved "
        f"repeats, the best of each shown. CPU: {cpu_line(result['machine'])}.",
        f"Regenerate: `{result['command']}`.",
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
        *[f"| {name} | {r['peak_rss_gb']:.2f} | {r['rate']:.2f} |" for name, r in data["routes"].items()],
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
