"""TAILS.md from tails.json: W8A4/W8A8 quality and BN-input tails with and without the tail penalty."""

from __future__ import annotations

from benchmarks.pipelines.cifar import TAIL_QUANTIZERS
from benchmarks.pipelines.imagenet import QUANTIZERS as IMAGENET_QUANTIZERS

NAME, MARKDOWN = "tails", "TAILS.md"
LABELS = {
    "default": "no penalty (the default, `--for w8a8`)",
    "tail10b4": "tail 10, bound 4",
    "tail100b4": "tail 100, bound 4 (`--for w8a4`)",
    "tail100b3": "tail 100, bound 3",
}
IMAGENET_IMAGES = 64


def mean_half(value: list[float]) -> str:
    return f"{value[0]:.1f}" if len(value) == 1 else f"{value[0]:.1f} ±{value[1]:.1f}"


def number(value: float | None, digits: int) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def render(result: dict) -> str:
    data = result["data"]
    seeds = " and ".join(map(str, data["resnets"][0]["seeds"])) if data["resnets"] else "–"
    lines = [
        "# The tail penalty on CIFAR ResNets and MobileNetV2",
        "",
        f"Measured by `{result['command']}` (after one run per seed and model, as in the module docstring).",
        "",
        f"Cells: E1 top-1 / E3 agreement with float, mean ± half-range over seeds {seeds} (real: the two draws). "
        "|z|: BN-input distance from the running mean in running stds; p99.99 and max are medians over BN layers; "
        "> 4: share of values. CPU s: generation CPU time of one set (one thread, mean of the seeds; the penalty "
        "rows ran its first, unfused torch form, same arithmetic: its fused cost is in SPEED_VS_MCT.md).",
        "",
    ]
    for resnet in data["resnets"]:
        lines += [f"## ResNet-{resnet['depth']}, {resnet['n_calib']} images, {resnet['n_iter']} iterations", "",
                  "| set | " + " | ".join(TAIL_QUANTIZERS) + " | \\|z\\| p99.99 | \\|z\\| max | > 4 (%) | CPU s |",
                  "|---" * (len(TAIL_QUANTIZERS) + 5) + "|"]  # fmt: skip
        for label, row in resnet["rows"].items():
            scores = row["scores"]
            cells = [f"{mean_half(scores[q]['E1'])} / {mean_half(scores[q]['E3'])}" for q in TAIL_QUANTIZERS]
            cells += [number(row["z_p9999"], 2), number(row["z_max"], 2), number(row["beyond4_pct"], 3)]
            cells.append(number(row["cpu_s"], 0))
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines.append("")
    if "mobilenet_v2" in data:
        lines += [f"## MobileNetV2 (ImageNet, 224x224), {IMAGENET_IMAGES} images, 30 iterations", "",
                  "Cells: top-1 on the 200 labelled images / top-1 agreement with float on the 744 held-out photos "
                  "(benchmarks/suites/imagenet/run.py's split and scores). Wall time and peak RSS of the generating "
                  "process (2 threads, other jobs sharing the machine).", "",
                  "| set | " + " | ".join(IMAGENET_QUANTIZERS) + " | wall s | peak RSS GB |",
                  "|---" * (len(IMAGENET_QUANTIZERS) + 3) + "|"]  # fmt: skip
        for label, row in data["mobilenet_v2"].items():
            cells = " | ".join(f"{row['scores'][q][0]:.1f} / {row['scores'][q][1]:.1f}" for q in IMAGENET_QUANTIZERS)
            lines.append(f"| {label} | {cells} | {number(row['wall_s'], 0)} | {number(row['peak_rss_gb'], 2)} |")
        lines.append("")
    return "\n".join(lines)
