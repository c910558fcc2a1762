"""Does `datagen generate` keep its time promises? The estimate it prints before a run (set-up included) against the
run's measured wall time, and a --time-budget run's wall time against its budget, for MobileNetV2 at 224x224 and the
digits CNN, each `datagen generate` in its own process (interpreter start included in the wall time).

    python -m benchmarks.probes.estimate.run --work /work/bench/imagenet      # ESTIMATE.md, estimate.json

Nothing else should run.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from benchmarks.harness.child import generate_npy, run_child
from benchmarks.harness.options import REQUIRED, add_options
from benchmarks.harness.paths import REPO
from benchmarks.harness.results import publish, save_result
from benchmarks.models.mobilenet_v2 import mobilenet_v2_onnx
from benchmarks.probes.estimate import render
from benchmarks.probes.estimate.render import NAME


def cases(work: Path) -> dict[str, list[str]]:
    """name -> `datagen generate` arguments."""
    mobilenet = [str(mobilenet_v2_onnx(work)), "--normalization", "imagenet"]
    digits = [str(REPO / "models" / "digits_cnn.onnx"), "--mean", "0.3", "--std", "0.32"]
    return {
        "MobileNetV2 224x224, 64 images": [*mobilenet, "-n", "64"],
        "MobileNetV2 224x224, 256 images, --time-budget 2m": [*mobilenet, "-n", "256", "--time-budget", "2m"],
        "digits CNN 16x16, 1,024 images": [*digits, "-n", "1024"],
        "digits CNN 16x16, 4,096 images, --time-budget 20s": [*digits, "-n", "4096", "--time-budget", "20s"],
    }


def measure(arguments: list[str], threads: int) -> dict:
    with tempfile.TemporaryDirectory() as out:
        run = run_child(generate_npy(arguments, Path(out), threads))
        manifest = json.loads((Path(out) / "manifest.json").read_text())
    timing = manifest["timing"]
    return {"wall_s": round(run.wall_s, 1), "n_iter": manifest["config"]["n_iter"], **timing}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    args = add_options(parser, work=REQUIRED, threads=2).parse_args()
    rows = []
    for case, arguments in cases(Path(args.work)).items():
        rows.append({"case": case, **measure(arguments, args.threads)})
        print(json.dumps(rows[-1]), flush=True)
    publish(render, save_result(NAME, {"threads": args.threads, "rows": rows}))


if __name__ == "__main__":
    main()
