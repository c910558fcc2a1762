"""Gather the CIFAR runs' rows from their work folders (each one's results.jsonl) into benchmarks/results/results.json,
the data of RESULTS.md's CIFAR tables; then `python -m benchmarks.render` writes RESULTS.md.

    .bench/bin/python -m benchmarks.suites.cifar.collect bench-work/R20 bench-work/R56 --folded bench-work/R20f ...
    python -m benchmarks.suites.cifar.collect --presets bench-work/P20 bench-work/P56   # the other tables kept

A group of folders given replaces that group's stored rows (main and folded rows go together, with this machine's
record; presets with theirs); a group not given keeps what results.json holds.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks.harness.machine import machine
from benchmarks.harness.results import load_result, save_result
from benchmarks.suites.cifar.render import NAME


def load_rows(work_dirs: list[Path]) -> list[dict]:
    rows: dict[str, dict] = {}
    for work in work_dirs:
        for line in (work / "results.jsonl").read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                rows[row["key"]] = row
    return list(rows.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("work", nargs="*", type=Path, help="work folders of benchmarks.suites.cifar.run")
    parser.add_argument("--folded", nargs="+", type=Path, default=[], help="the BN-folded exports' work folders")
    parser.add_argument("--presets", nargs="+", type=Path, default=[], help="benchmarks.suites.cifar.presets' folders")
    parser.add_argument("--backends", nargs="+", type=Path, default=[], help="benchmarks.suites.cifar.engines' folders")
    args = parser.parse_args()
    stored = load_result(NAME)
    data, measured_on = stored["data"], stored["machine"]
    if args.work:
        data.update(rows=load_rows(args.work), folded_rows=load_rows(args.folded))
        measured_on = machine()
    if args.presets:
        data.update(preset_rows=load_rows(args.presets), preset_machine=machine())
    if args.backends:
        data.update(backend_rows=load_rows(args.backends))
    save_result(NAME, data, measured_on)
    print("results.json updated; `python -m benchmarks.render` writes RESULTS.md from it")


if __name__ == "__main__":
    main()
