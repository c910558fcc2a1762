"""The engine lever at ImageNet scale: ort-training against torch on MobileNetV2 at 224x224, interleaved (render.py
says what is measured).

    .venv-ort/bin/python -m benchmarks.probes.engine_lever.run --work /work/bench/imagenet     # writes ENGINE_LEVER.md
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from benchmarks.harness.child import ChildRun, run_child
from benchmarks.harness.options import REQUIRED, add_options
from benchmarks.harness.repeats import interleaved
from benchmarks.harness.results import publish, save_result
from benchmarks.models.mobilenet_v2 import mobilenet_v2_onnx
from benchmarks.probes.engine_lever import render
from benchmarks.probes.engine_lever.render import NAME

ENGINES = ("torch", "ort-training")
SHORT, LONG = 2, 14


def run(model: Path, engine: str, iterations: int) -> ChildRun:
    child = [sys.executable, "-m", "benchmarks.workers.levers", "engine", str(model), engine, str(iterations)]
    return run_child(child, env={"OMP_NUM_THREADS": "2"}, capture=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    args = add_options(parser, work=REQUIRED, repeats=2).parse_args()
    model = mobilenet_v2_onnx(args.work)
    variants = {(engine, iterations): (engine, iterations) for engine in ENGINES for iterations in (SHORT, LONG)}
    runs = interleaved(variants, args.repeats, lambda engine, iterations: run(model, engine, iterations))
    steps = 2 * (LONG - SHORT)
    engines = {}
    for engine in ENGINES:
        short, long = runs[(engine, SHORT)], runs[(engine, LONG)]
        engines[engine] = {
            "per_step_s": [(b.wall_s - a.wall_s) / steps for a, b in zip(short, long)],
            "short_run_s": [a.wall_s for a in short],
            "peak_rss_gb": max(r.peak_rss_gb for r in long),
        }
    mean_step = {engine: statistics.mean(row["per_step_s"]) for engine, row in engines.items()}
    data = {"engines": engines, "ort_over_torch": mean_step["ort-training"] / mean_step["torch"]}
    publish(render, save_result(NAME, data))


if __name__ == "__main__":
    main()
