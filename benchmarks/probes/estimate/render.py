"""ESTIMATE.md from estimate.json: the printed estimate and the budget against the measured wall time."""

from __future__ import annotations

NAME, MARKDOWN = "estimate", "ESTIMATE.md"


def render(result: dict) -> str:
    machine, data = result["machine"], result["data"]
    lines = [
        "# Time estimates and budgets against the clock",
        "",
        f"Regenerate: `{result['command']}` (nothing else running). CPU: {machine['cpu']}, {machine['cores']} cores, "
        f"torch {machine['versions']['torch']}, `--threads {data['threads']}`. *Estimate*: what `datagen generate` "
        "prints before the run (the manifest's `timing.estimated_seconds`, set-up included); *wall*: the whole "
        "process, interpreter start included; *set-up*: what the estimate had spent before it was made.",
        "",
        "| run | iterations | set-up s | estimate s | wall s | wall / estimate | budget s | wall / budget |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in data["rows"]:
        budget = row.get("budget_seconds")
        versus = f"{row['wall_s'] / budget:.2f}" if budget else "–"
        lines.append(f"| {row['case']} | {row['n_iter']} | {row['setup_seconds']} | {row['estimated_seconds']} | "
                     f"{row['wall_s']} | {row['wall_s'] / row['estimated_seconds']:.2f} | {budget or '–'} | "
                     f"{versus} |")  # fmt: skip
    return "\n".join(lines) + "\n"
