"""Generation speed and peak memory: embedded digits model and CIFAR-10 ResNet-20, fp32 vs fast mode.

Each measurement runs in its own process (peak RSS is per process), fp32 and fast runs are
interleaved and repeated, and the median is reported: this machine is shared and noisy, so
compare the fp32/fast ratio from one run, not absolute numbers across runs.

    python -m benchmarks.suites.speed.run                     # writes benchmarks/results/SPEED.md and speed.json
    python -m benchmarks.suites.speed.run --shared-data ../shared/data --n-images 128 --n-iter 20 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.harness.child import run_child
from benchmarks.harness.options import add_options
from benchmarks.harness.paths import REPO
from benchmarks.harness.results import publish, save_result
from benchmarks.suites.speed import render
from benchmarks.suites.speed.render import NAME, PRECISIONS


def child(model: str, precision: str, n_images: int, n_iter: int, threads: int, out: Path) -> None:
    import torch

    torch.set_num_threads(threads)
    import onnx_datagen
    from onnx_datagen import GenerationConfig, Normalization

    if model == "digits":
        path, norm = REPO / "models" / "digits_cnn.onnx", Normalization((0.3,), (0.32,), 1.0, "digits")
    else:
        path, norm = Path(model), Normalization.preset("imagenet")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    config = GenerationConfig(n_iter=n_iter, precision=precision, normalization=norm)
    started = time.perf_counter()
    dataset = onnx_datagen.generate(str(path), n_images=n_images, config=config)
    wall = time.perf_counter() - started
    out.write_text(
        json.dumps(
            {
                "wall_seconds": wall,
                "optimize_seconds": dataset.manifest["timing"]["optimize_seconds"],
                "images_x_iterations_per_second": dataset.manifest["timing"]["images_x_iterations_per_second"],
                "rss_before_generation_mib": rss_before,
                "bn_loss_initial": dataset.manifest["statistics"]["bn_loss_initial"],
                "bn_loss_final": dataset.manifest["statistics"]["bn_loss_final"],
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_options(parser, shared_data=None, n_images=128, n_iter=20, threads=2, repeats=3)
    parser.add_argument("--child", nargs=3, metavar=("MODEL", "PRECISION", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        model, precision, out = args.child
        return child(model, precision, args.n_images, args.n_iter, args.threads, Path(out))

    from benchmarks.models import cifar_resnet

    work = Path(tempfile.mkdtemp(prefix="datagen-speed-"))
    resnet20 = cifar_resnet.export(
        cifar_resnet.load(args.shared_data / cifar_resnet.DEPTHS[20], 20), work / "resnet20.onnx"
    )
    models = {"digits CNN (1x16x16, 4 BN)": "digits", "CIFAR-10 ResNet-20 (3x32x32, 19 BN)": str(resnet20)}
    runs: dict[str, list[dict]] = {}
    options = ["--n-images", str(args.n_images), "--n-iter", str(args.n_iter), "--threads", str(args.threads)]
    for repeat in range(args.repeats):
        for label, model in models.items():
            for precision in PRECISIONS:
                out = work / f"{repeat}-{precision}-{Path(model).stem}.json"
                child_run = [sys.executable, "-m", "benchmarks.suites.speed.run", *options, "--child", model, precision,
                             str(out)]  # fmt: skip
                done = run_child(child_run, env={"OMP_NUM_THREADS": str(args.threads)}, capture=False)
                report = {**json.loads(out.read_text()), "peak_rss_mib": done.peak_rss_gb * 1024}
                runs.setdefault(f"{label} / {precision}", []).append(report)
                print(label, precision, report, flush=True)
    arguments = {k: getattr(args, k) for k in ("n_images", "n_iter", "threads", "repeats")}
    data = {"args": arguments, "models": list(models), "load_average_end": os.getloadavg()[0], "runs": runs}
    result = save_result(NAME, data)
    publish(render, result)
    print(render.render(result))


if __name__ == "__main__":
    main()
