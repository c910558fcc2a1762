"""The engine lever at ImageNet scale: ort-training against torch on MobileNetV2 at 224x224, interleaved.

    .venv-ort/bin/python -m benchmarks.engine_lever --work /work/bench/imagenet     # writes ENGINE_LEVER.md

Needs the ort-training environment (it holds both engines). Each run is a fresh process generating 16 images
(2 batches of 8, per-batch statistics, no half-resolution phase: ort-training has none) with 2 threads; a run of
2 and one of 14 iterations per engine and repeat, so the difference is 12 iterations x 2 batch steps without the
set-up. Peak RSS is the child's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.harness import REPO, RESULTS, cpu_model, interleaved
from benchmarks.levers import model_and_repeats

ENGINES = ("torch", "ort-training")
SHORT, LONG = 2, 14


def run(model: Path, engine: str, iterations: int) -> tuple[float, float]:
    """(wall seconds, peak RSS GB) of one child."""
    started = time.perf_counter()
    child = [sys.executable, "-m", "benchmarks.lever_children", "engine", str(model), engine, str(iterations)]
    process = subprocess.Popen(child, env={**os.environ, "OMP_NUM_THREADS": "2"}, cwd=REPO)
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"the {engine} run failed")
    return time.perf_counter() - started, usage.ru_maxrss / 2**20


def main() -> None:
    model, repeats = model_and_repeats(__doc__)
    variants = {(engine, iterations): (engine, iterations) for engine in ENGINES for iterations in (SHORT, LONG)}
    runs = interleaved(variants, repeats, lambda engine, iterations: run(model, engine, iterations))
    steps = 2 * (LONG - SHORT)
    lines = [
        "# Engine lever at ImageNet scale: ort-training against torch (MobileNetV2, 224x224)",
        "",
        f"Measured by `.venv-ort/bin/python -m benchmarks.engine_lever --work W --repeats {repeats}` on "
        f"{cpu_model()}, {os.cpu_count()} cores, nothing else running. {__doc__.split(chr(10), 3)[3].strip()}",
        "",
        "| engine | seconds per batch step (each repeat) | set-up + 2 iterations, s | peak RSS GB |",
        "|---|---|---|---|",
    ]
    mean_step = {}
    for engine in ENGINES:
        per_step = [(b[0] - a[0]) / steps for a, b in zip(runs[(engine, SHORT)], runs[(engine, LONG)])]
        mean_step[engine] = sum(per_step) / len(per_step)
        short = [a[0] for a in runs[(engine, SHORT)]]
        rss = max(r[1] for r in runs[(engine, LONG)])
        lines.append(f"| {engine} | {', '.join(f'{s:.2f}' for s in per_step)} | "
                     f"{', '.join(f'{s:.0f}' for s in short)} | {rss:.2f} |")  # fmt: skip
    ratio = mean_step["ort-training"] / mean_step["torch"]
    faster = "torch" if ratio > 1 else "ort-training"
    lines += ["", f"ort-training's step takes {ratio:.2f}x torch's: {faster} is the faster engine here. The default "
              "stays `--engine auto` (torch, ort-training where onnx2torch cannot convert).", ""]  # fmt: skip
    (RESULTS / "ENGINE_LEVER.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
