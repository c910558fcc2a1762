"""ENGINE_LEVER.md from engine_lever.json: ort-training's batch step against torch's."""

from __future__ import annotations

from benchmarks.harness.results import cpu_line

NAME, MARKDOWN = "engine_lever", "ENGINE_LEVER.md"
SETUP = """Needs the ort-training environment (it holds both engines). Each run is a fresh process generating 16 images
(2 batches of 8, per-batch statistics, no half-resolution phase: ort-training has none) with 2 threads; a run of
2 and one of 14 iterations per engine and repeat, so the difference is 12 iterations x 2 batch steps without the
set-up. Peak RSS is the child's."""


def render(result: dict) -> str:
    data = result["data"]
    lines = [
        "# Engine lever at ImageNet scale: ort-training against torch (MobileNetV2, 224x224)",
        "",
        f"Measured by `{result['command']}` on {cpu_line(result['machine'])}, nothing else running. {SETUP}",
        "",
        "| engine | seconds per batch step (each repeat) | set-up + 2 iterations, s | peak RSS GB |",
        "|---|---|---|---|",
    ]
    for engine, row in data["engines"].items():
        lines.append(f"| {engine} | {', '.join(f'{s:.2f}' for s in row['per_step_s'])} | "
                     f"{', '.join(f'{s:.0f}' for s in row['short_run_s'])} | {row['peak_rss_gb']:.2f} |")  # fmt: skip
    ratio = data["ort_over_torch"]
    faster = "torch" if ratio > 1 else "ort-training"
    lines += ["", f"ort-training's step takes {ratio:.2f}x torch's: {faster} is the faster engine here. The default "
              "stays `--engine auto` (torch, ort-training where onnx2torch cannot convert).", ""]  # fmt: skip
    return "\n".join(lines)
