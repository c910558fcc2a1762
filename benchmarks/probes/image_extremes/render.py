"""IMAGE_EXTREMES.md from image_extremes.json: each set's per-image extremes and BN-input tails against real photos."""

from __future__ import annotations

NAME, MARKDOWN = "image_extremes", "IMAGE_EXTREMES.md"


def render(result: dict) -> str:
    data = result["data"]
    n = data["n_images"]
    lines = [
        f"# Each image's extremes and the BN-input tails: MobileNetV2, {n} images per set",
        "",
        f"Reproduce: `{result['command']}` (what the columns are: its docstring). *mean max*: what NNCF reads, "
        f"*max*: what ORT MinMax reads, both over real's first {n} photos, median over the {data['linear_layers']} "
        f"linear bottleneck outputs. *tail*: mean squared excess of |z| beyond {data['bound']:g} per value, summed "
        "over layers. *NNCF*: the set's NNCF INT8 agreement with the float model on the held-out photos "
        "(benchmarks/suites/imagenet/run.py; – where not scored at this size).",
        "",
        "| set | mean max | max | tail, linear layers | tail, ReLU6 layers | of which unclipped | NNCF |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in data["rows"]:
        agree = "–" if row["nncf"] is None else f"{row['nncf']:.1f}"
        lines.append(f"| {row['set']} | {row['mean_max']:.2f} | {row['all_max']:.2f} | {row['tail_linear']:.4f} | "
                     f"{row['tail_clipped']:.4f} | {row['tail_clipped_visible']:.4f} | {agree} |")  # fmt: skip
    return "\n".join(lines) + "\n"
