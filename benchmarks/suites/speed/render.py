"""SPEED.md from speed.json: generation speed and memory of fp32 against --precision fast."""

from __future__ import annotations

import statistics

NAME, MARKDOWN = "speed", "SPEED.md"
PRECISIONS = ("fp32", "fast")


def render(result: dict) -> str:
    data, info = result["data"], result["machine"]
    args, versions = data["args"], info["versions"]
    rows, median = [], {}
    for label in data["models"]:
        for precision in PRECISIONS:
            runs = data["runs"][f"{label} / {precision}"]
            med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            median[(label, precision)] = med
            spread = [r["images_x_iterations_per_second"] for r in runs]
            rows.append(
                f"| {label} | {precision} | {med['images_x_iterations_per_second']:.0f} "
                f"({min(spread):.0f}-{max(spread):.0f}) | {med['optimize_seconds']:.1f} | "
                f"{med['peak_rss_mib']:.0f} | {med['rss_before_generation_mib']:.0f} | "
                f"{med['bn_loss_initial']:.4g} -> {med['bn_loss_final']:.4g} |"
            )
    ratios = []
    for label in data["models"]:
        fp32, fast = (median[(label, p)]["images_x_iterations_per_second"] for p in PRECISIONS)
        ratios.append(f"- {label}: fast / fp32 = **{fast / fp32:.2f}x**")
    return f"""# Generation speed and memory

Measured by `{result["command"]}` (generated file; rerun to refresh).

- Machine: {info["cpu"]}, {info["cores"]} cores, load average after the run {data["load_average_end"]:.2f}; no GPU.
- Versions: Python {info["python"]}, torch {versions["torch"]}, onnx {versions["onnx"]},
  onnxruntime {versions["onnxruntime"]}; {args["threads"]} torch threads.
- Each run: `onnx_datagen.generate` with default settings (MCT defaults, all-images granularity,
  batch 32), {args["n_images"]} images x {args["n_iter"]} iterations, in a fresh process.
  Median of {args["repeats"]} interleaved runs (min-max in brackets).
- Peak RSS is the whole process (imports, model, conversion, generation); "before" is the RSS
  after imports, so generation itself costs the difference.

| model | precision | images x iterations / s | optimise s | peak RSS MiB | RSS before MiB | BN loss start -> end |
|---|---|---|---|---|---|---|
{chr(10).join(rows)}

{chr(10).join(ratios)}
"""
