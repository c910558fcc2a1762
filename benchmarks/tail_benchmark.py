"""The tail penalty on CIFAR ResNets and MobileNetV2: W8A4 and W8A8 quality and BN-input tails, with and without it.

    .bench/bin/python -m benchmarks.tail_benchmark --depth 56 --work bench-work/T56 --seed 0 --real   # one core
    .bench/bin/python -m benchmarks.tail_benchmark --depth 56 --work bench-work/T56 --seed 1          # the other
    .bench/bin/python -m benchmarks.tail_benchmark --imagenet bench-work/imagenet                    # MobileNetV2
    .bench/bin/python -m benchmarks.tail_benchmark --render bench-work/T20 bench-work/T56 --imagenet bench-work/imagenet

Each variant is datagen's mct preset (tail penalty off) with fractal starts and the overrides in VARIANTS, run by
generate_worker.py in its own process on one thread, scored like calibration_benchmark.py (E1 top-1, E3
agreement with float on the first 2000 JPEG images) with ORT W8A4 Percentile, W8A4 MinMax and W8A8 MinMax, and NNCF
INT8 (its defaults; a rerun on a cached work directory scores only what is missing). The
real rows are two disjoint draws of the calibration range. Tails: each BN input's distance from its running mean
in running stds, |z|; per layer the 99.99th percentile and the maximum over the set (medians over layers), and
the share of values beyond 4. Results are cached in --work (results.jsonl, the sets as .npy).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path

import numpy as np

from benchmarks.cifar_pipeline import QUANTIZERS, REAL_CALIB, Bench, Results, run_worker
from benchmarks.harness import RESULTS, SHARED_DATA, mean_spread

SCORED = ("W8A4 Pct", "W8A4 MinMax", "W8A8 MinMax", "NNCF INT8")
VARIANTS = {  # name -> config over the mct preset; "default" is the tool's default before the penalty
    "default": {"init": "fractal"},
    "tail10b4": {"init": "fractal", "tail_weight": 10.0, "tail_bound": 4.0},
    "tail100b4": {"init": "fractal", "tail_weight": 100.0, "tail_bound": 4.0},
    "tail100b3": {"init": "fractal", "tail_weight": 100.0, "tail_bound": 3.0},
}
LABELS = {
    "default": "no penalty (the default, `--for w8a8`)",
    "tail10b4": "tail 10, bound 4",
    "tail100b4": "tail 100, bound 4 (`--for w8a4`)",
    "tail100b3": "tail 100, bound 3",
}
# MobileNetV2 at 224x224 (imagenet_benchmark.py's model, split and scores), 64 images, the default's 30 iterations
IMAGENET_VARIANTS = {
    "notail s0": {"seed": 0, "tail_weight": 0.0},
    "notail s1": {"seed": 1, "tail_weight": 0.0},
    "tail1b4 s0": {"seed": 0, "tail_weight": 1.0},
    "tail10b4 s0": {"seed": 0, "tail_weight": 10.0},
    "tail10b6 s0": {"seed": 0, "tail_weight": 10.0, "tail_bound": 6.0},
}
IMAGENET_IMAGES = 64


@functools.cache
def bn_measurer(model_path: Path):
    """(engine, BN targets) of a model, made once: the engine's measure() gives every BN input of a set."""
    from onnx_datagen import GenerationConfig
    from onnx_datagen.engines.torch.engine import TorchEngine
    from onnx_datagen.graph.prepare import prepare_model
    from onnx_datagen.objective.bn_alignment import alignment_targets

    prepared = prepare_model(str(model_path))
    config = GenerationConfig().resolve(prepared.image.height, prepared.image.width)
    return TorchEngine(prepared, config), alignment_targets(prepared.bn_sites, 3)[1:]


def abs_z(model_path: Path, images: np.ndarray):
    """Per BN layer, in graph order: |z| of its input for `images` (N x C x H x W), the distance from the running
    mean in running stds."""
    engine, targets = bn_measurer(model_path)
    for x, (mean, std) in zip(engine.measure(images).layers[1:], targets):
        yield np.abs(x - mean[None, :, None, None]) / np.maximum(std, 1e-6)[None, :, None, None]


def tails(bench: Bench, images: np.ndarray) -> dict:
    """Median over BN layers of |z|'s 99.99th percentile and maximum, and the mean share of |z| > 4 (%)."""
    rows = [(np.percentile(z, 99.99), z.max(), (z > 4).mean() * 100) for z in abs_z(bench.kept_path, images)]
    rows = np.array(rows)
    return {"z_p9999": float(np.median(rows[:, 0])), "z_max": float(np.median(rows[:, 1])),
            "beyond4_pct": float(rows[:, 2].mean())}  # fmt: skip


def score(bench: Bench, name: str, images: np.ndarray, n_iter: int) -> None:
    bench.evaluate(name, images, n_iter, {k: QUANTIZERS[k] for k in SCORED})
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
    from benchmarks.imagenet_pipeline import Bench as ImageNetBench

    bench = ImageNetBench(args)
    bench.score("real", bench.real_pool[:IMAGENET_IMAGES])
    bench.score("realB", bench.real_pool[IMAGENET_IMAGES : 2 * IMAGENET_IMAGES])
    for name, spec in IMAGENET_VARIANTS.items():
        images, _ = bench.datagen(name, spec, IMAGENET_IMAGES)
        if images is not None:
            bench.score(name, images)


def imagenet_section(work: Path) -> list[str]:
    from benchmarks.imagenet_pipeline import QUANTIZERS as IMAGENET_QUANTIZERS

    rows = [json.loads(line) for line in (work / "results.jsonl").read_text().splitlines()]
    rows = {r["key"]: r for r in rows}
    lines = [f"## MobileNetV2 (ImageNet, 224x224), {IMAGENET_IMAGES} images, 30 iterations", "",
             "Cells: top-1 on the 200 labelled images / top-1 agreement with float on the 744 held-out photos "
             "(benchmarks/imagenet_benchmark.py's split and scores). Wall time and peak RSS of the generating "
             "process (2 threads, other jobs sharing the machine).", "",
             "| set | " + " | ".join(IMAGENET_QUANTIZERS) + " | wall s | peak RSS GB |",
             "|---" * (len(IMAGENET_QUANTIZERS) + 3) + "|"]  # fmt: skip
    for name in ["real", "realB", *IMAGENET_VARIANTS]:
        scores = [rows.get(f"score|{name}|{q}|{IMAGENET_IMAGES}") for q in IMAGENET_QUANTIZERS]
        if None in scores:
            continue
        made = rows.get(f"set|{name}|{IMAGENET_IMAGES}", {})
        spec = IMAGENET_VARIANTS.get(name, {})
        label = {"real": "real photos 0-63", "realB": "real photos 64-127"}.get(name)
        if spec:
            weight = spec["tail_weight"]
            label = f"tail {weight:g}, bound {spec.get('tail_bound', 4.0):g}" if weight else LABELS["default"]
            label += f", seed {spec['seed']}"
        wall = f"{made['generate_s']:.0f}" if made else "–"
        rss = f"{made['peak_rss_gb']:.2f}" if made else "–"
        cells = " | ".join(f"{r['top1']:.1f} / {r['agreement']:.1f}" for r in scores)
        lines.append(f"| {label} | {cells} | {wall} | {rss} |")
    return [*lines, ""]


def render(work_dirs: list[Path], command: str, imagenet: Path | None = None) -> str:
    lines = [
        "# The tail penalty on CIFAR ResNets and MobileNetV2",
        "",
        f"Measured by `{command}` (after one run per seed and model, as in the module docstring).",
        "",
        "Cells: E1 top-1 / E3 agreement with float, mean ± half-range over seeds 0 and 1 (real: the two draws). "
        "|z|: BN-input distance from the running mean in running stds; p99.99 and max are medians over BN layers; "
        "> 4: share of values. CPU s: generation CPU time of one set (one thread, mean of the seeds; the penalty "
        "rows ran its first, unfused torch form, same arithmetic: its fused cost is in SPEED_VS_MCT.md).",
        "",
    ]
    for work in work_dirs:
        rows = list(Results(work / "results.jsonl").rows.values())
        depth = next(r["depth"] for r in rows if r.get("depth"))
        quant = {(r["set"], r["quantizer"]): r for r in rows if r["kind"] == "quant"}
        tail_rows = {r["set"]: r for r in rows if r["kind"] == "tails"}
        cpu = {r["variant"]: [] for r in rows if r["kind"] == "timing"}
        for r in rows:
            if r["kind"] == "timing":
                cpu[r["variant"]].append(r["generate_cpu_seconds"])
        n_calib = next(r["n_calib"] for r in rows if r["kind"] == "quant")
        lines += [f"## ResNet-{depth}, {n_calib} images, 100 iterations", "",
                  "| set | " + " | ".join(SCORED) + " | \\|z\\| p99.99 | \\|z\\| max | > 4 (%) | CPU s |",
                  "|---" * (len(SCORED) + 5) + "|"]  # fmt: skip
        groups = {"real images": ["real", "realB"]} | {
            LABELS[v]: [f"{v} s0", f"{v} s1"] for v in VARIANTS if (f"{v} s0", SCORED[0]) in quant
        }
        for label, names in groups.items():
            names = [n for n in names if (n, SCORED[0]) in quant]
            cells = []
            for q in SCORED:
                e1 = [quant[(n, q)]["E1"] for n in names]
                e3 = [quant[(n, q)]["E3"] for n in names]
                cells.append(f"{mean_spread(e1)} / {mean_spread(e3)}")
            for k in ("z_p9999", "z_max", "beyond4_pct"):
                values = [tail_rows[n][k] for n in names if n in tail_rows]
                cells.append(f"{np.mean(values):.{3 if k == 'beyond4_pct' else 2}f}" if values else "–")
            variant = names[0].rsplit(" ", 1)[0]
            cells.append(f"{np.mean(cpu[variant]):.0f}" if cpu.get(variant) else "–")
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines.append("")
    if imagenet:
        lines += imagenet_section(imagenet)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--render", nargs="+", type=Path, help="write TAILS.md from these work directories")
    parser.add_argument("--imagenet", type=Path, help="imagenet_benchmark.py's --work: run (or with --render, "
                        "render) the MobileNetV2 rows")  # fmt: skip
    parser.add_argument("--n-real", type=int, default=256, help="--imagenet: as imagenet_benchmark.py's")
    parser.add_argument("--depth", type=int, choices=[20, 32, 44, 56], default=56)
    parser.add_argument("--work", default="bench-work/T56")
    parser.add_argument("--shared-data", default=str(SHARED_DATA))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--real", action="store_true", help="also score two real draws (once per work directory)")
    parser.add_argument("--variants", type=lambda s: s.split(","), default=list(VARIANTS))
    parser.add_argument("--n-images", type=int, default=256)
    parser.add_argument("--n-iter", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--e2-limit", type=int, default=2000)
    args = parser.parse_args()
    if args.render:
        command = "python -m benchmarks.tail_benchmark " + " ".join(sys.argv[1:])
        (RESULTS / "TAILS.md").write_text(render(args.render, command, args.imagenet))
        return
    if args.imagenet:
        args.work, args.threads = args.imagenet, 2
        run_imagenet(args)
        return
    run(args)


if __name__ == "__main__":
    main()
