"""COMPILE_LEVER.md from compile_lever.json: torch.compile's set-up and step time against eager."""

from __future__ import annotations

from benchmarks.harness.results import cpu_line

NAME, MARKDOWN = "compile_lever", "COMPILE_LEVER.md"
MODES = ("eager", "compiled")
SETUP = """torchvision's MobileNetV2 (benchmarks/models/mobilenet_v2.py), 224x224, one batch of 8 for 12 iterations, \
per-batch
statistics, no half-resolution phase (each new input size would compile again), 2 torch threads, each run a fresh
process. torch.compile is not an option of the tool; the child wraps the converted module in it. Set-up is the time
to the end of the first optimiser step (conversion, the time-estimate probe, and for the compiled module its
compilation; a later repeat reuses inductor's on-disk cache and
compiles faster); the step is the median of the steps after it."""


def render(result: dict) -> str:
    runs, measured_on = result["data"]["runs"], result["machine"]
    lines = [
        "# torch.compile lever at ImageNet scale (MobileNetV2, 224x224)",
        "",
        f"Measured by `{result['command']}` on {cpu_line(measured_on)}, torch {measured_on['versions']['torch']}. "
        + SETUP,
        "",
        "| module | set-up s (each repeat) | s per step (each repeat) |",
        "|---|---|---|",
    ]
    for mode in MODES:
        setup = ", ".join(f"{r['setup_s']:.0f}" for r in runs[mode])
        steps = ", ".join(f"{r['step_s']:.3f}" for r in runs[mode])
        lines.append(f"| {mode} | {setup} | {steps} |")
    best = {mode: min(r["step_s"] for r in runs[mode]) for mode in MODES}
    ratio = best["compiled"] / best["eager"]
    verdict = "not kept" if ratio >= 1 else "a candidate (other kernels, so other bytes)"
    lines += ["", f"The compiled step takes {ratio:.2f}x the eager one (fastest repeats): {verdict}.", ""]
    return "\n".join(lines)
