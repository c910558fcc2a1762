"""SPEED_VS_MCT.md from speed_vs_mct.json: images x iterations per second of datagen, MCT and the bare network."""

from __future__ import annotations

import statistics

from benchmarks.harness.results import cpu_line

NAME, MARKDOWN = "speed_vs_mct", "SPEED_VS_MCT.md"
GENERATORS = ("datagen", "datagen-w8a4", "mct", "ceiling")


def render(result: dict) -> str:
    data, info = result["data"], result["machine"]
    args, small, mct_iterations = data["args"], data["small_image_iterations"], data["mct_iterations"]
    rows = []
    for depth in args["depths"]:
        for threads in args["threads"]:
            runs = {g: data["runs"][str((depth, threads, g))] for g in GENERATORS}
            med = {g: statistics.median(r["images_x_iterations_per_second"] for r in runs[g]) for g in GENERATORS}
            rss = {g: statistics.median(r["peak_rss_mib"] for r in runs[g]) for g in GENERATORS}
            # --for w8a4 at its default iterations against MCT's default 500 (the W8A4 quality it exceeds)
            time_ratio = (small / med["datagen-w8a4"]) / (mct_iterations / med["mct"])
            rows.append(
                f"| ResNet-{depth} | {threads} | {med['datagen']:.1f} | {med['datagen-w8a4']:.1f} | {med['mct']:.1f} | "
                f"**{med['datagen'] / med['mct']:.2f}x** | **{time_ratio:.2f}** | {med['ceiling']:.1f} | "
                f"{med['ceiling'] / med['mct']:.2f}x | {rss['datagen']:.0f} | {rss['mct']:.0f} |"
            )
    header = (
        "| model | threads | datagen img·it/s | datagen --for w8a4 img·it/s | MCT img·it/s | datagen / MCT "
        f"| time of --for w8a4 at {small} it / MCT at {mct_iterations} | ceiling img·it/s "
        "| ceiling / MCT | datagen RSS MiB | MCT RSS MiB |"
    )
    return f"""# Generation speed: datagen vs Sony MCT (same machine, same run)

Measured by `{result["command"]}` (generated file; rerun to refresh).
{cpu_line(info)}, load average at the end {data["load_average_end"]:.1f};
{", ".join(f"{k} {v}" for k, v in info["versions"].items())}.
Each number is the median of {args["repeats"]} interleaved runs, each in a fresh process: {args["n_images"]} images x
{args["n_iter"]} iterations, batch 32, defaults otherwise (datagen: the mct preset, as benchmarks/workers/generate.py \
runs it, and
with `--for w8a4` its tail penalty; MCT: its PyTorch data-generation defaults with `output_image_size=32`). The
time column: datagen `--for w8a4` at its default {small} iterations (above MCT's W8A4 quality in
benchmarks/results/TAILS.md) against MCT at its default {mct_iterations}, from these speeds. Images x iterations per \
second of
the generator call; peak RSS of the whole process. "Ceiling" is a bare forward + backward to the input of the native
torch model with no statistics or loss: no BN-inversion loop can run faster than that in fp32.

{header}
|---|---|---|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}
"""
