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

from benchmarks.harness import RESULTS, cpu_model
from benchmarks.levers import REPLACE_MODULE, interleaved, model_and_repeats

CHILD = (
    REPLACE_MODULE
    + """
import json, statistics, sys, time, torch, onnx_datagen
from onnx_datagen import GenerationConfig, Normalization
torch.set_num_threads(2)
if sys.argv[2] == "compiled":
    replace_module(torch.compile)
config = GenerationConfig(n_iter=12, batch_size=8, granularity="per-batch", low_res_fraction=0.0,
                          normalization=Normalization.preset("imagenet"))
started, stamps = time.perf_counter(), []
onnx_datagen.generate(sys.argv[1], 8, config, progress=lambda _report: stamps.append(time.perf_counter()))
steps = [b - a for a, b in zip(stamps, stamps[1:])]
print(json.dumps({"setup_s": stamps[0] - started, "step_s": statistics.median(steps)}))
"""
)
MODES = ("eager", "compiled")


def run(model: Path, mode: str) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, str(model), mode], capture_output=True, text=True, check=True)
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
