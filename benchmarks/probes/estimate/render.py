"""ESTIMATE.md from estimate.json: the printed estimate and the budget against the measured wall time."""

from __future__ import annotations

from benchmarks.harness.results import machine_line

NAME, MARKDOWN = "estimate", "ESTIMATE.md"


def render(result: dict) -> str:
    data = result["data"]
    lines = [
        "# Time estimates and budgets against the clock",
        "",
        f"Regenerate: `{result['command']}` (nothing else running), `--threads {data['threads']}`. Machine: "
        f"{machine_line(result['machine'])}. *Estimate*: what `datagen generate` "
        "prints before the run (the manifest's `timing.estimated_seconds`, set-up included); *wall*: the whole "
        "process, interpreter start included; *set-up*: what the estimate had spent before it was made; *iterations*: "
        "planned, and where a budget's deadline ended the optimisation, the iterations done per image.",
        "",
        "| run | iterations | set-up s | estimate s | wall s | wall / estimate | budget s | wall / budget |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in data["rows"]:
        budget = row.get("budget_seconds")
        versus = f"{row['wall_s'] / budget:.2f}" if budget else "–"
        done = f" ({row['iterations_done']:g} done)" if "iterations_done" in row else ""
        lines.append(f"| {row['case']} | {row['n_iter']}{done} | {row['setup_seconds']} | {row['estimated_seconds']} | "
                     f"{row['wall_s']} | {row['wall_s'] / row['estimated_seconds']:.2f} | {budget or '–'} | "
                     f"{versus} |")  # fmt: skip
    return "\n".join(lines) + "\n"
