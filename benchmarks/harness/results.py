"""The one result schema. Every committed result is benchmarks/results/NAME.json holding

    {"schema": 1, "command": "python -m benchmarks...", "machine": {...}, "data": {...}}

`command` reproduces it, `machine` is where it was measured (harness.machine's record; for results measured before
the schema, what was recorded then), `data` the question's own rows. Each question's render.py turns that file, and
nothing else, into its Markdown, so `python -m benchmarks.render` re-renders every results file from what is
committed.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path

from benchmarks.harness import paths
from benchmarks.harness.machine import machine

SCHEMA = 1


def command_line() -> str:
    """How this run was started, as a command to paste: `python -m benchmarks.X ...`."""
    spec = getattr(sys.modules["__main__"], "__spec__", None)
    return shlex.join(["python", "-m", spec.name if spec else sys.argv[0], *sys.argv[1:]])


def write_atomic(path: Path, text: str) -> Path:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    os.replace(partial, path)
    return path


def save_result(name: str, data, measured_on: dict | None = None) -> dict:
    """Write benchmarks/results/NAME.json in the envelope (this run's command and machine); return the envelope."""
    result = {"schema": SCHEMA, "command": command_line(), "machine": measured_on or machine(), "data": data}
    write_atomic(paths.RESULTS / f"{name}.json", json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    return result


def load_result(name: str) -> dict:
    result = json.loads((paths.RESULTS / f"{name}.json").read_text())
    if result.get("schema") != SCHEMA:
        raise ValueError(f"benchmarks/results/{name}.json is not a schema-{SCHEMA} result")
    return result


def publish(renderer, result: dict | None = None) -> Path:
    """Write a question's Markdown: `renderer` is its render module (NAME, MARKDOWN, render); `result` defaults to
    the committed one."""
    text = renderer.render(result or load_result(renderer.NAME))
    return write_atomic(paths.RESULTS / renderer.MARKDOWN, text)


def cpu_line(measured_on: dict) -> str:
    """'CPU, N cores, ISA' from a machine record (records from before the schema hold the whole line under "cpu")."""
    cores = f", {measured_on['cores']} cores" if "cores" in measured_on else ""
    vector = f", {' '.join(measured_on['isa'])}" if measured_on.get("isa") else ""
    return f"{measured_on['cpu']}{cores}{vector}"


def machine_line(measured_on: dict) -> str:
    """The whole machine record in one line: CPU, cores, Python, the installed versions, the commit."""
    versions = ", ".join(f"{k} {v}" for k, v in measured_on["versions"].items() if v != "not installed")
    return f"{cpu_line(measured_on)}, Python {measured_on['python']}, {versions}, commit {measured_on['commit']}"
