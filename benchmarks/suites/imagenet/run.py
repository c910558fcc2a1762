"""ImageNet-scale calibration benchmark: torchvision's MobileNetV2 (BN kept, 224x224), real ImageNet photos,
noise, fractal images, datagen's presets and Sony MCT, scored after ORT W8A8 (MinMax, Percentile) and NNCF INT8.

    .bench/bin/python -m benchmarks.suites.imagenet.run --work /work/bench/imagenet          # the table
    .bench/bin/python -m benchmarks.suites.imagenet.run --work /work/bench/imagenet --parts curves  # time to quality
    .bench/bin/python -m benchmarks.suites.imagenet.run --work W --model efficientnet_lite0 --n-images 64 \
        --variant "default s0={}" --variant 'default s1={"seed": 1}'     # another network: scores in W's cache

--model picks the network and its export (benchmarks/models/imagenet.py: MobileNetV2 or EfficientNet-Lite0, BN kept
or folded); Sony MCT runs on MobileNetV2's torchvision weights only.

Data: imagenet_natural_1000_256.tar (../shared/data), centre-cropped to 224, shuffled with seed 0: the first
--n-real photos are the real calibration pool, the rest the held-out set (top-1 agreement with the float model,
output SQNR); imagenet_val_sample_200_224.npz gives top-1 against labels. Every generated set is made in a fresh
child process (wall time and peak RSS are that generator's alone); every set and score is cached in --work, so an
interrupted run resumes. Writes benchmarks/results/IMAGENET.md and imagenet.json. Needs the benchmark environment
(benchmarks/requirements.txt: MCT, NNCF, OpenVINO). `python -m benchmarks.render` then copies the tables into
RESULTS.md's last section.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from benchmarks.harness import paths
from benchmarks.harness.options import REQUIRED, add_options, numbers
from benchmarks.harness.results import load_result, publish, save_result
from benchmarks.models.imagenet import MODELS
from benchmarks.pipelines.imagenet import QUANTIZERS, W8A4_QUANTIZERS, Bench, log, noise_sets
from benchmarks.suites.imagenet import render
from benchmarks.suites.imagenet.render import NAME

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
    for name, images in noise_sets(n, bench.heldout.shape[1:], bench.network.normalization).items():
        rows[name] = {"scores": bench.score(name, images)}
    for name, spec in [
        ("fractal", {"preset": "fractal"}),
        (f"datagen default, {args.budget}", {"time_budget": args.budget}),
    ]:
        images, report = bench.datagen(name, spec, n)
        rows[name] = {"scores": bench.score(name, images), "generation": report}
    default = rows[f"datagen default, {args.budget}"]["generation"]
    mct_rate = mct_images_x_iterations_per_second(bench)
    if not mct_rate:
        log("no MCT row: no MCT run is cached in --work to time it (run --parts curves first)")
    else:
        n_iter = max(1, round(default["wall_s"] * mct_rate / n))
        name = f"MCT {n_iter} iterations (same wall time)"
        images, report = bench.mct(name, n, n_iter)
        rows[name] = {"scores": bench.score(name, images), "generation": report}
    return rows


def presets(bench: Bench, args) -> dict:
    """Every preset at --preset-images within --preset-budget (generator: the iterations the default chose)."""
    n, rows = args.preset_images, {}
    for name, images in [
        ("real", bench.real_pool[:n]),
        *noise_sets(n, bench.heldout.shape[1:], bench.network.normalization).items(),
    ]:
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


# The exploration runs that chose the defaults (--variant NAME=JSON, LEVER_IMAGES images): name -> what differs.
LEVER_IMAGES = 64
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
PEAK_RSS = "peak resident memory (the child's, from wait4)"


SAME_RUN = (
    "work",
    "n_images",
    "budget",
    "preset_images",
    "preset_budget",
    "scale_images",
    "scale_budget",
    "curve_images",
    "curve_iterations",
    "mct_curve_iterations",
    "n_real",
)  # what the parts' tables depend on


def with_earlier_parts(results: dict) -> dict:
    """`results` with the parts (--parts) a run with the same settings committed before and this one did not run."""
    if not (paths.RESULTS / f"{NAME}.json").exists():
        return results
    earlier = load_result(NAME)["data"]
    if any(earlier["args"].get(k) != results["args"].get(k) for k in SAME_RUN):
        return results  # other settings: their tables would be mislabelled
    parts = ",".join(dict.fromkeys([*earlier["args"]["parts"].split(","), *results["args"]["parts"].split(",")]))
    return {**earlier, **results, "args": {**results["args"], "parts": parts}}


def lever_runs(bench: Bench, n: int) -> dict | None:
    """The LEVER_ROWS runs cached in --work, with the real photos' scores at the same size, for the results file."""
    runs = []
    for name, what in LEVER_ROWS.items():
        if f"set|{name}|{n}" not in bench.results:
            continue
        scores = {q: score_of(bench, name, q, n) for q in QUANTIZERS if f"score|{name}|{q}|{n}" in bench.results}
        runs.append({"name": name, "what": what, "n_iter": bench.results[f"set|{name}|{n}"]["n_iter"],
                     "scores": scores})  # fmt: skip
    if not runs or any(f"score|real|{q}|{n}" not in bench.results for q in QUANTIZERS):
        return None
    return {"n_images": n, "real": {q: score_of(bench, "real", q, n) for q in QUANTIZERS}, "runs": runs}


def score_of(bench: Bench, name: str, quantizer: str, n: int) -> dict:
    row = bench.results[f"score|{name}|{quantizer}|{n}"]
    return {k: row[k] for k in ("top1", "agreement", "sqnr_db")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_options(parser, work=REQUIRED, shared_data=None, n_images=256, threads=2)
    parser.add_argument("--model", choices=list(MODELS), default="mobilenet_v2", help="the network and its export")
    parser.add_argument("--budget", default="10m", help="datagen's --time-budget in the main table")
    parser.add_argument("--preset-images", type=int, default=64)
    parser.add_argument("--preset-budget", default="150s")
    parser.add_argument("--scale-images", type=int, default=1024)
    parser.add_argument("--scale-budget", default="40m")
    parser.add_argument("--curve-images", type=int, default=64)
    parser.add_argument("--curve-iterations", default="10,25,50", type=numbers, help="datagen's curve")
    parser.add_argument("--mct-curve-iterations", default="25,50,100", type=numbers, help="MCT's curve")
    parser.add_argument("--n-real", type=int, default=256, help="photos kept out of the held-out set")
    parser.add_argument("--parts", default="curves,table,scale,presets")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=JSON",
                        help="an extra datagen set: config overrides as JSON (exploration)")  # fmt: skip
    parser.add_argument("--mix", action="append", default=[], metavar="NAME=A+B",
                        help="score parts of earlier --variant sets A, B, ... as one set: equal parts, or as many "
                             "as each part's weight, A*3+B for three quarters of A")  # fmt: skip
    every = ", ".join(QUANTIZERS | W8A4_QUANTIZERS)
    parser.add_argument("--quantizers", type=lambda s: s.split(","), default=list(QUANTIZERS),
                        help=f"--variant and --mix: the quantizers to score, comma-separated, of: {every}")  # fmt: skip
    args = parser.parse_args()
    bench = Bench(args)
    log(f"float top-1 {bench.float_row()['top1']:.1f} on {len(bench.labels)} labelled images")
    if args.variant or args.mix:
        bench.score("real", bench.real_pool[: args.n_images], args.quantizers)  # to compare with (cached)
        for text in args.variant:
            name, spec = text.split("=", 1)
            images, _ = bench.datagen(name, json.loads(spec), args.n_images)
            bench.score(name, images, args.quantizers)
        for text in args.mix:  # each part's first images, so the mix holds as many images as each part
            name, parts = text.split("=", 1)
            weighted = [(part, int(weight or 1)) for part, _, weight in (p.partition("*") for p in parts.split("+"))]
            total = sum(weight for _, weight in weighted)
            sets = [np.load(bench.work / "sets" / f"{part.replace(' ', '_')}_{args.n_images}.npy")[
                : args.n_images * weight // total] for part, weight in weighted]  # fmt: skip
            bench.score(name, np.concatenate(sets), args.quantizers)
        return
    results = {"float": bench.float_row(), "args": {k: str(v) if isinstance(v, Path) else v for k, v in
                                                    vars(args).items()}, "peak_rss": PEAK_RSS}  # fmt: skip
    for part in args.parts.split(","):
        results[part] = {"curves": curves, "table": table, "scale": scale, "presets": presets}[part](bench, args)
    results = with_earlier_parts(results)
    levers = lever_runs(bench, LEVER_IMAGES)
    if levers:
        results["levers"] = levers
    publish(render, save_result(NAME, results))


if __name__ == "__main__":
    main()
