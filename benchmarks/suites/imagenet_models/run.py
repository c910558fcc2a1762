"""Every ImageNet export at one size: MobileNetV2 and EfficientNet-Lite0, each with BN kept and folded (torch's
default export), datagen's default set over seeds (whatever --method auto picks for that export) against as many real
photos, scored after ORT W8A8 MinMax and Percentile and NNCF INT8.

    .bench/bin/python -m benchmarks.suites.imagenet_models.run --work /work/bench/imagenet_models --n-images 64 \\
        --seeds 0,1

Each model's sets and scores are cached in WORK/<model> in the ImageNet suite's layout (benchmarks/suites/imagenet,
`--work WORK/<model> --model <model>`: its --variant runs there land in the same cache); a rerun resumes. Writes
benchmarks/results/IMAGENET_MODELS.md and imagenet_models.json (--render-only rewrites the Markdown alone).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.harness.options import REQUIRED, add_options, add_render_only
from benchmarks.harness.results import publish, save_result
from benchmarks.models.imagenet import MODELS
from benchmarks.pipelines.imagenet import QUANTIZERS, Bench, log
from benchmarks.suites.imagenet_models import render
from benchmarks.suites.imagenet_models.render import MARKDOWN, NAME

GENERATION = ("wall_s", "peak_rss_gb", "n_iter", "method", "bn_loss_initial", "bn_loss_final")


def measure(model: str, args) -> dict:
    """The real photos' and each seed's default-set scores for one export (cached in WORK/<model>)."""
    bench = Bench(argparse.Namespace(**{**vars(args), "work": Path(args.work) / model, "model": model}))
    n = args.n_images
    row = {"model": model, "folded": MODELS[model].folded, "float_top1": bench.float_row()["top1"],
           "real": bench.score("real", bench.real_pool[:n]), "seeds": []}  # fmt: skip
    for seed in args.seeds:
        images, report = bench.datagen(f"default s{seed}", {"seed": seed}, n)
        if images is None:
            row["seeds"].append({"seed": seed, "refused": report["refused"]})
            continue
        made = {k: report.get(k) for k in GENERATION}
        row["seeds"].append({"seed": seed, **made, "scores": bench.score(f"default s{seed}", images)})
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_options(parser, work=REQUIRED, shared_data=None, n_images=64, seeds=[0, 1], threads=2)
    parser.add_argument("--models", type=lambda s: s.split(","), default=list(MODELS), help="of: " + ", ".join(MODELS))
    parser.add_argument("--n-real", type=int, default=256, help="photos kept out of the held-out set (the split)")
    add_render_only(parser, MARKDOWN)
    args = parser.parse_args()
    if args.render_only:
        publish(render)
        return
    rows = []
    for model in args.models:
        log(f"--- {model}")
        rows.append(measure(model, args))
    publish(render, save_result(NAME, {"n_images": args.n_images, "quantizers": list(QUANTIZERS), "rows": rows}))


if __name__ == "__main__":
    main()
