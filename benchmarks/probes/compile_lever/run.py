"""The torch.compile lever at ImageNet scale: the converted module compiled with inductor against eager, interleaved
(render.py says what is measured).

    python -m benchmarks.probes.compile_lever.run --work /work/bench/imagenet      # writes COMPILE_LEVER.md
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmarks.harness.child import run_child
from benchmarks.harness.options import REQUIRED, add_options
from benchmarks.harness.repeats import interleaved
from benchmarks.harness.results import publish, save_result
from benchmarks.models.mobilenet_v2 import mobilenet_v2_onnx
from benchmarks.probes.compile_lever import render
from benchmarks.probes.compile_lever.render import MODES, NAME


def run(model: Path, mode: str) -> dict:
    done = run_child([sys.executable, "-m", "benchmarks.workers.levers", "compile", str(model), mode])
    return json.loads(done.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    args = add_options(parser, work=REQUIRED, repeats=2).parse_args()
    model = mobilenet_v2_onnx(args.work)
    runs = interleaved({mode: (mode,) for mode in MODES}, args.repeats, lambda mode: run(model, mode))
    publish(render, save_result(NAME, {"runs": runs}))


if __name__ == "__main__":
    main()
