"""Re-render every results file from what is committed: each question's Markdown from its JSON
(benchmarks/results/NAME.json, the harness's result schema; BENCH_RESULTS=DIR reads and writes DIR instead), and
RESULTS.md, the summary: the CIFAR tables, the
hand-written findings of results_notes.md and the ImageNet tables. This module is RESULTS.md's one writer.

    python -m benchmarks.render            # rewrite every results file from benchmarks/results/*.json
    python -m benchmarks.render --check    # exit 1 naming the files whose committed text differs
"""

from __future__ import annotations

import argparse
import sys

from benchmarks.harness import paths
from benchmarks.harness.results import load_result, write_atomic
from benchmarks.probes.activation_memory import render as activation_memory
from benchmarks.probes.activation_ranges import render as activation_ranges
from benchmarks.probes.compile_lever import render as compile_lever
from benchmarks.probes.engine_lever import render as engine_lever
from benchmarks.probes.estimate import render as estimate
from benchmarks.probes.image_extremes import render as image_extremes
from benchmarks.probes.levers import render as levers
from benchmarks.probes.step_time import render as step_time
from benchmarks.suites.cifar import render as cifar
from benchmarks.suites.dense import render as dense
from benchmarks.suites.imagenet import render as imagenet
from benchmarks.suites.imagenet_models import render as imagenet_models
from benchmarks.suites.memory import render as memory
from benchmarks.suites.openvino_e2e import render as openvino_e2e
from benchmarks.suites.scaling import render as scaling
from benchmarks.suites.shared_machine import render as shared_machine
from benchmarks.suites.speed import render as speed
from benchmarks.suites.speed_vs_mct import render as speed_vs_mct
from benchmarks.suites.tails import render as tails
from benchmarks.suites.wild_models import render as wild_models

QUESTIONS = (  # each: NAME (its JSON), MARKDOWN (its file), render(result) -> text
    imagenet, imagenet_models, tails, dense, wild_models, speed_vs_mct, speed, scaling, shared_machine, memory,
    openvino_e2e, levers, compile_lever, engine_lever, activation_memory, step_time, activation_ranges, image_extremes,
    estimate,
)  # fmt: skip
SUMMARY = "RESULTS.md"
IMAGENET_HEADING = "## ImageNet scale: MobileNetV2, 224x224"


def summary() -> str:
    """RESULTS.md: the CIFAR part, then IMAGENET.md below its title with its headings one level down."""
    body = imagenet.render(load_result(imagenet.NAME)).split("\n", 1)[1]
    body = "\n".join(f"#{line}" if line.startswith("## ") else line for line in body.splitlines())
    return f"{cifar.render(load_result(cifar.NAME)).rstrip()}\n\n{IMAGENET_HEADING}\n{body.rstrip()}\n"


def rendered() -> dict[str, str]:
    """Every results file's name -> its text rendered from the committed JSON."""
    return {q.MARKDOWN: q.render(load_result(q.NAME)) for q in QUESTIONS} | {SUMMARY: summary()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare with the committed files, write nothing")
    args = parser.parse_args()
    texts = rendered()
    if args.check:
        stale = [name for name, text in texts.items() if (paths.RESULTS / name).read_text() != text]
        if stale:
            sys.exit(f"differ from their JSON: {', '.join(stale)}; run python -m benchmarks.render")
        print(f"{len(texts)} results files match their JSON")
        return
    for name, text in texts.items():
        write_atomic(paths.RESULTS / name, text)
    print(f"rendered {len(texts)} results files in {paths.RESULTS} from their JSON")


if __name__ == "__main__":
    main()
