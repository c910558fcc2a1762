"""SHARED_MACHINE.md from shared_machine.json: throughput alone and beside two busy processes, by OpenMP wait policy."""

from __future__ import annotations

from statistics import median

NAME, MARKDOWN = "shared_machine", "SHARED_MACHINE.md"


def render(result: dict) -> str:
    machine, data = result["machine"], result["data"]
    lines = [
        "# Throughput on a shared machine",
        "",
        f"Regenerate: `{result['command']}`. CPU: {machine['cpu']}, {machine['cores']} cores, torch "
        f"{machine['versions']['torch']}; `datagen generate --threads 2`, each cell the median of {data['repeats']} "
        "runs (images x iterations per second of the optimisation, set-up excluded). *Beside two busy processes*: two "
        "Python loops that never sleep run on the same cores for the whole run; *beside a second run*: the same "
        "`datagen generate` with ten times the iterations, under the same setting, runs beside it.",
        "",
        "| run | OpenMP threads that wait | alone | beside two busy processes | slowdown | beside a second run | "
        "slowdown |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in data["rows"]:
        alone, busy, second = median(row["alone"]), median(row["busy2"]), median(row["datagen"])
        lines.append(f"| {row['case']} | {row['policy']} | {alone:.1f} | {busy:.1f} | {alone / busy:.1f}x | "
                     f"{second:.1f} | {alone / second:.1f}x |")  # fmt: skip
    return "\n".join(lines) + "\n"
