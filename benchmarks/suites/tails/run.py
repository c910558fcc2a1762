"""The tail penalty on CIFAR ResNets and MobileNetV2: W8A4 and W8A8 quality and BN-input tails, with and without it.

    .bench/bin/python -m benchmarks.suites.tails.run --depth 56 --work bench-work/T56 --seed 0 --real   # one core
    .bench/bin/python -m benchmarks.suites.tails.run --depth 56 --work bench-work/T56 --seed 1          # the other
    .bench/bin/python -m benchmarks.suites.tails.run --imagenet bench-work/imagenet                    # MobileNetV2
    .bench/bin/python -m benchmarks.suites.tails.run --render bench-work/T20 bench-work/T56 \
        --imagenet bench-work/imagenet                                       # tails.json and TAILS.md

Each variant is datagen's mct preset (tail penalty off) with fractal starts and the overrides in VARIANTS, run by
benchmarks/workers/generate.py in its own process on one thread, scored like the CIFAR suite (E1 top-1, E3
agreement with float on the first 2000 JPEG images) with ORT W8A4 Percentile, W8A4 MinMax and W8A8 MinMax, and NNCF
INT8 (its defaults; a rerun on a cached work directory scores only what is missing). The
real rows are two disjoint draws of the calibration range. Tails: each BN input's distance from its running mean
in running stds, |z|; per layer the 99.99th percentile and the maximum over the set (medians over layers), and
the share of values beyond 4. Results are cached in --work (results.jsonl, the sets as .npy).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from benchmarks.harness.options import add_options
from benchmarks.harness.results import publish, save_result
from benchmarks.pipelines.bn_tails import abs_z
from benchmarks.pipelines.cifar import QUANTIZERS, REAL_CALIB, TAIL_QUANTIZERS, Bench, Results, run_worker
from benchmarks.suites.tails import render
from benchmarks.suites.tails.render import IMAGENET_IMAGES, LABELS, NAME

VARIANTS = {  # name -> config over the mct preset; "default" is the tool's default before the penalty
    "default": {"init": "fractal"},
    "tail10b4": {"init": "fractal", "tail_weight": 10.0, "tail_bound": 4.0},
    "tail100b4": {"init": "fractal", "tail_weight": 100.0, "tail_bound": 4.0},
    "tail100b3": {"init": "fractal", "tail_weight": 100.0, "tail_bound": 3.0},
}
# MobileNetV2 at 224x224 (the ImageNet suite's model, split and scores), 64 images, the default's 30 iterations
IMAGENET_VARIANTS = {
    "notail s0": {"seed": 0, "tail_weight": 0.0},
    "notail s1": {"seed": 1, "tail_weight": 0.0},
    "tail1b4 s0": {"seed": 0, "tail_weight": 1.0},
    "tail10b4 s0": {"seed": 0, "tail_weight": 10.0},
    "tail10b6 s0": {"seed": 0, "tail_weight": 10.0, "tail_bound": 6.0},
}


def tails(bench: Bench, images: np.ndarray) -> dict:
    """Median over BN layers of |z|'s 99.99th percentile and maximum, and the mean share of |z| > 4 (%)."""
    rows = [(np.percentile(z, 99.99), z.max(), (z > 4).mean() * 100) for z in abs_z(bench.kept_path, images)]
    rows = np.array(rows)
    return {"z_p9999": float(np.median(rows[:, 0])), "z_max": float(np.median(rows[:, 1])),
            "beyond4_pct": float(rows[:, 2].mean())}  # fmt: skip


def score(bench: Bench, name: str, images: np.ndarray, n_iter: int) -> None:
    bench.evaluate(name, images, n_iter, {k: QUANTIZERS[k] for k in TAIL_QUANTIZERS})
    key = f"tails|R{bench.args.depth}|{name}|{n_iter}"
    if bench.results.get(key) is None:
        bench.results.add({"key": key, "kind": "tails", "depth": bench.args.depth, "set": name, "n_iter": n_iter,
                           **tails(bench, images)})  # fmt: skip


def run(args) -> None:
    bench = Bench(args)
    if args.real:
        from onnx_datagen.config.normalization import Normalization
        from onnx_datagen.data.image_sets import load_labelled

        pool = load_labelled(Path(args.shared_data) / "cifar10_test.npz").subset(REAL_CALIB.start, REAL_CALIB.stop)
        x = pool.model_input(Normalization.preset("imagenet"))
        score(bench, "real", x[: args.n_images], 0)
        score(bench, "realB", x[args.n_images : 2 * args.n_images], 0)
    for name in args.variants:
        stem = f"R{args.depth}_{name}_s{args.seed}_n{args.n_images}_it{args.n_iter}"
        out, report = bench.work / f"{stem}.npy", bench.work / f"{stem}.json"
        if not out.exists():
            run_worker(args, "datagen", bench.kept_path, args.seed, out, report, "--n-iter", str(args.n_iter),
                       "--config-json", json.dumps(VARIANTS[name]))  # fmt: skip
            bench.results.add({"key": f"time|{stem}", "kind": "timing", "variant": name,
                               **json.loads(report.read_text())})  # fmt: skip
        score(bench, f"{name} s{args.seed}", np.load(out), args.n_iter)


def run_imagenet(args) -> None:
    from benchmarks.pipelines.imagenet import Bench as ImageNetBench

    bench = ImageNetBench(args)
    bench.score("real", bench.real_pool[:IMAGENET_IMAGES])
    bench.score("realB", bench.real_pool[IMAGENET_IMAGES : 2 * IMAGENET_IMAGES])
    for name, spec in IMAGENET_VARIANTS.items():
        images, _ = bench.datagen(name, spec, IMAGENET_IMAGES)
        if images is not None:
            bench.score(name, images)


def imagenet_rows(work: Path) -> dict:
    """The MobileNetV2 rows from the ImageNet suite's cache (`--imagenet`): label -> scores, wall time, peak RSS."""
    from benchmarks.pipelines.imagenet import QUANTIZERS as IMAGENET_QUANTIZERS

    rows = [json.loads(line) for line in (work / "results.jsonl").read_text().splitlines()]
    rows = {r["key"]: r for r in rows}
    out = {}
    for name in ["real", "realB", *IMAGENET_VARIANTS]:
        scores = {q: rows.get(f"score|{name}|{q}|{IMAGENET_IMAGES}") for q in IMAGENET_QUANTIZERS}
        if None in scores.values():
            continue
        made = rows.get(f"set|{name}|{IMAGENET_IMAGES}", {})
        spec = IMAGENET_VARIANTS.get(name, {})
        label = {"real": "real photos 0-63", "realB": "real photos 64-127"}.get(name)
        if spec:
            weight = spec["tail_weight"]
            label = f"tail {weight:g}, bound {spec.get('tail_bound', 4.0):g}" if weight else LABELS["default"]
            label += f", seed {spec['seed']}"
        out[label] = {"scores": {q: [r["top1"], r["agreement"]] for q, r in scores.items()},
                      "wall_s": made.get("generate_s"), "peak_rss_gb": made.get("peak_rss_gb")}  # fmt: skip
    return out


def resnet_rows(work: Path) -> dict:
    """One ResNet's rows from a work directory: label -> per quantizer E1 and E3 (mean, half-range over seeds),
    the |z| tails and the CPU seconds of one set."""
    rows = list(Results(work / "results.jsonl").rows.values())
    quant = {(r["set"], r["quantizer"]): r for r in rows if r["kind"] == "quant"}
    tail_rows = {r["set"]: r for r in rows if r["kind"] == "tails"}
    cpu = {r["variant"]: [] for r in rows if r["kind"] == "timing"}
    for r in rows:
        if r["kind"] == "timing":
            cpu[r["variant"]].append(r["generate_cpu_seconds"])
    groups = {"real images": ["real", "realB"]} | {
        LABELS[v]: [f"{v} s0", f"{v} s1"] for v in VARIANTS if (f"{v} s0", TAIL_QUANTIZERS[0]) in quant
    }
    out = {}
    for label, names in groups.items():
        names = [n for n in names if (n, TAIL_QUANTIZERS[0]) in quant]
        if not names:  # e.g. no real rows: the run had no --real
            continue
        row = {"scores": {q: {m: mean_half([quant[(n, q)][m] for n in names]) for m in ("E1", "E3")}
                          for q in TAIL_QUANTIZERS}}  # fmt: skip
        for k in ("z_p9999", "z_max", "beyond4_pct"):
            values = [tail_rows[n][k] for n in names if n in tail_rows]
            row[k] = float(np.mean(values)) if values else None
        variant = names[0].rsplit(" ", 1)[0]
        row["cpu_s"] = float(np.mean(cpu[variant])) if cpu.get(variant) else None
        out[label] = row
    quant_rows = [r for r in rows if r["kind"] == "quant"]
    seeds = sorted({int(r["set"].rsplit(" s", 1)[1]) for r in quant_rows if r["set"].rsplit(" s", 1)[-1].isdigit()})
    return {"depth": next(r["depth"] for r in rows if r.get("depth")), "n_calib": quant_rows[0]["n_calib"],
            "n_iter": max(r["n_iter"] for r in quant_rows), "seeds": seeds, "rows": out}  # fmt: skip


def mean_half(values: list[float]) -> list[float]:
    """[mean, half-range], or [value] for one."""
    return [values[0]] if len(values) == 1 else [float(np.mean(values)), (max(values) - min(values)) / 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--render", nargs="+", type=Path, help="write tails.json and TAILS.md from these work "
                        "directories' results")  # fmt: skip
    parser.add_argument("--imagenet", type=Path, help="the ImageNet suite's --work: run (or with --render, "
                        "render) the MobileNetV2 rows")  # fmt: skip
    parser.add_argument("--n-real", type=int, default=256, help="--imagenet: as benchmarks/suites/imagenet/run.py's")
    add_options(parser, depth=56, work=Path("bench-work/T56"), shared_data=None, n_images=256, n_iter=100, threads=1,
                e2_limit=2000)  # fmt: skip
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--real", action="store_true", help="also score two real draws (once per work directory)")
    parser.add_argument("--variants", type=lambda s: s.split(","), default=list(VARIANTS))
    args = parser.parse_args()
    if args.render:
        data = {"resnets": [resnet_rows(work) for work in args.render]}
        if args.imagenet:
            data["mobilenet_v2"] = imagenet_rows(args.imagenet)
        publish(render, save_result(NAME, data))
        return
    if args.imagenet:
        args.work, args.threads = args.imagenet, 2
        run_imagenet(args)
        return
    run(args)


if __name__ == "__main__":
    main()
