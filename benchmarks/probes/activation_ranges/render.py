"""ACTIVATION_RANGES.md from activation_ranges.json: each set's ORT activation ranges against real photos'."""

from __future__ import annotations

NAME, MARKDOWN = "activation_ranges", "ACTIVATION_RANGES.md"


def render(result: dict) -> str:
    data = result["data"]
    n = data["n_images"]
    lines = [
        f"# Activation ranges against real photos: MobileNetV2, {n} images per set",
        "",
        f"Reproduce: `{result['command']}`",
        "",
        f"Each set calibrates ORT W8A8 QDQ; each activation tensor's range (from its QuantizeLinear scale and zero "
        f"point) is divided by the range the first {n} real photos give it. *median*, *p10*, *p90*: of those "
        "ratios over the tensors; *>1.25x*, *<0.8x*: % of tensors that much wider or narrower; *log RMS*: the "
        "root mean square of log(ratio), 0 for the real ranges. *agree*: the set's top-1 agreement with the float "
        "model on the held-out photos (benchmarks/suites/imagenet/run.py; – where it was not scored at this size).",
        "",
    ]
    for method, rows in data["methods"].items():
        lines += [f"## {method}", "", "| set | median | p10 | p90 | >1.25x % | <0.8x % | log RMS | agree |",
                  "|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for name, r in sorted(rows.items(), key=lambda item: item[1]["log_rms"]):
            agree = f"{r['agreement']:.1f}" if r["agreement"] is not None else "–"
            lines.append(f"| {name} | {r['median']:.2f} | {r['p10']:.2f} | {r['p90']:.2f} | {r['wider_25pct']:.0f} | "
                         f"{r['narrower_20pct']:.0f} | {r['log_rms']:.3f} | {agree} |")  # fmt: skip
        lines.append("")
    return "\n".join(lines)
