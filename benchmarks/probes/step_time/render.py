"""STEP_TIME.md from step_time.json: seconds per optimiser step by batch size, precision and resolution."""

from __future__ import annotations

from benchmarks.harness.machine import ISA_FLAGS

NAME, MARKDOWN = "step_time", "STEP_TIME.md"


def render(result: dict) -> str:
    measured_on, data = result["machine"], result["data"]
    rows = data["rows"]
    base = {
        (r["batch"], r["low_res_fraction"]): r["images_x_iterations_per_s"]
        for r in rows
        if r["precision"] == "fp32" and not r.get("network_alone")
    }
    reference = base[(8, 0.0)]
    lines = [
        "# Seconds per step at 224x224, by batch size, precision and resolution",
        "",
        f"Regenerate: `{result['command']}` (nothing else running). "
        f"MobileNetV2 (BN kept), per-batch statistics, fastest of 7 steps, {data['threads']} torch threads, "
        f"torch {measured_on['versions']['torch']}. CPU: {measured_on['cpu']}, {measured_on['cores']} cores; "
        + ", ".join(f"{f} {f in measured_on['isa']}" for f in ISA_FLAGS)
        + ". `--precision fast` is bf16 autocast + channels_last; *half resolution* is a step of the "
        "low-resolution phase (the model sees the images 2x2 average-pooled). *network alone*: the converted "
        "network's forward and backward to its input, no statistics, loss or views: the floor under a step.",
        "",
        "| batch | precision | resolution | s / step | images x iterations / s | vs batch 8 fp32 full |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        resolution = "half" if r["low_res_fraction"] else "full"
        precision = "fp32, network alone" if r.get("network_alone") else r["precision"]
        speed = r["images_x_iterations_per_s"]
        lines.append(f"| {r['batch']} | {precision} | {resolution} | {r['step_s']} | {speed} | "
                     f"{speed / reference:.2f}x |")  # fmt: skip
    return "\n".join(lines) + "\n"
