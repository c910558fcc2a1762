"""The torch.compile lever at ImageNet scale: the converted module compiled with inductor against eager, interleaved.

    python -m benchmarks.compile_lever --work /work/bench/imagenet      # writes COMPILE_LEVER.md

torchvision's MobileNetV2 (benchmarks/imagenet_model.py), 224x224, one batch of 8 for 12 iterations, per-batch
statistics, no half-resolution phase (each new input size would compile again), 2 torch threads, each run a fresh
process. torch.compile is not an option of the tool; the child wraps the converted module in it. Set-up is the time
to the end of the first optimiser step (conversion, the time-estimate probe, and for the compiled module its
compilation; a later repeat reuses inductor's on-disk cache and
compiles faster); the step is the median of the steps after it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from benchmarks.harness import REPO, RESULTS, cpu_model, interleaved
from benchmarks.levers import model_and_repeats

MODES = ("eager", "compiled")


def run(model: Path, mode: str) -> dict:
    child = [sys.executable, "-m", "benchmarks.lever_children", "compile", str(model), mode]
    done = subprocess.run(child, capture_output=True, text=True, check=True, cwd=REPO)
    return json.loads(done.stdout.splitlines()[-1])


def main() -> None:
    model, repeats = model_and_repeats(__doc__)
    import torch

    runs = interleaved({mode: (mode,) for mode in MODES}, repeats, lambda mode: run(model, mode))
    lines = [
        "# torch.compile lever at ImageNet scale (MobileNetV2, 224x224)",
        "",
        f"Measured by `python -m benchmarks.compile_lever --work W --repeats {repeats}` on {cpu_model()}, "
        f"{os.cpu_count()} cores, torch {torch.__version__}. {__doc__.split(chr(10), 3)[3].strip()}",
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
    (RESULTS / "COMPILE_LEVER.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
