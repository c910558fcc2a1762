"""LEVERS.md from levers.json: the speed levers' table and verdicts."""

from __future__ import annotations

from benchmarks.harness.results import cpu_line

NAME, MARKDOWN = "levers", "LEVERS.md"
KERNEL_LEVERS = {  # variant -> how the verdict names it
    "batch 32, kept, channels_last fp32": "fp32 channels_last",
    "batch 32, kept, --precision fast (bf16 autocast + channels_last)": "--precision fast",
}


def render(result: dict) -> str:
    data = result["data"]
    args, rows = data["args"], data["rows"]
    best = {name: min(r["wall_s"] for r in runs) for name, runs in rows.items()}
    base = best["batch 32, glibc default allocator"]
    lines = [
        "# Speed levers at ImageNet scale",
        "",
        f"torchvision's MobileNetV2 (224x224, 52 BN, BN kept), {args['n_images']} images x {args['n_iter']} "
        "iterations, per-batch statistics, defaults otherwise, 2 torch threads, each run a fresh process (set-up",
        f"included); {args['repeats']} interleaved repeats, the faster one shown. CPU: {cpu_line(result['machine'])}.",
        f"Regenerate: `{result['command']}`.",
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
        "",
    ]
    kept = best["batch 32, freed memory kept"]
    for name, label in KERNEL_LEVERS.items():
        ratio = kept / best[name]
        verdict = "not kept" if ratio < 1 else "a candidate (other kernels, so other bytes)"
        lines.append(f"- {label}: {ratio:.2f}x the speed of fp32 with freed memory kept, on this CPU: {verdict}.")
    return "\n".join(lines) + "\n"
