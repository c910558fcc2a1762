"""Generation speed and peak memory: embedded digits model and CIFAR-10 ResNet-20, fp32 vs fast mode.

Each measurement runs in its own process (peak RSS is per process), fp32 and fast runs are
interleaved and repeated, and the median is reported: this machine is shared and noisy, so
compare the fp32/fast ratio from one run, not absolute numbers across runs.

    python -m benchmarks.speed                       # writes benchmarks/results/SPEED.md and speed.json
    python -m benchmarks.speed --shared-data ../shared/data --n-images 128 --n-iter 20 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.harness import REPO, RESULTS, cpu_model


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
                "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "rss_before_generation_mib": rss_before,
                "bn_loss_initial": dataset.manifest["statistics"]["bn_loss_initial"],
                "bn_loss_final": dataset.manifest["statistics"]["bn_loss_final"],
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared-data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--n-images", type=int, default=128)
    parser.add_argument("--n-iter", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS / "SPEED.md")
    parser.add_argument("--child", nargs=3, metavar=("MODEL", "PRECISION", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        model, precision, out = args.child
        return child(model, precision, args.n_images, args.n_iter, args.threads, Path(out))

    import onnx
    import onnxruntime
    import torch

    from benchmarks import cifar_resnet

    work = Path(tempfile.mkdtemp(prefix="datagen-speed-"))
    resnet20 = cifar_resnet.export(
        cifar_resnet.load(args.shared_data / cifar_resnet.DEPTHS[20], 20), work / "resnet20.onnx"
    )
    models = {"digits CNN (1x16x16, 4 BN)": "digits", "CIFAR-10 ResNet-20 (3x32x32, 19 BN)": str(resnet20)}
    runs: dict[tuple[str, str], list[dict]] = {}
    for repeat in range(args.repeats):
        for label, model in models.items():
            for precision in ("fp32", "fast"):
                out = work / f"{repeat}-{precision}-{Path(model).stem}.json"
                subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "benchmarks.speed",
                        "--n-images",
                        str(args.n_images),
                        "--n-iter",
                        str(args.n_iter),
                        "--threads",
                        str(args.threads),
                        "--child",
                        model,
                        precision,
                        str(out),
                    ],
                    check=True,
                    env={**os.environ, "OMP_NUM_THREADS": str(args.threads)},
                    cwd=REPO,
                )
                runs.setdefault((label, precision), []).append(json.loads(out.read_text()))
                print(label, precision, runs[(label, precision)][-1], flush=True)

    rows, summary = [], {}
    for (label, precision), results in runs.items():
        med = {k: statistics.median(r[k] for r in results) for k in results[0]}
        spread = [r["images_x_iterations_per_second"] for r in results]
        summary[f"{label} / {precision}"] = {"median": med, "runs": results}
        rows.append(
            f"| {label} | {precision} | {med['images_x_iterations_per_second']:.0f} "
            f"({min(spread):.0f}-{max(spread):.0f}) | {med['optimize_seconds']:.1f} | "
            f"{med['peak_rss_mib']:.0f} | {med['rss_before_generation_mib']:.0f} | "
            f"{med['bn_loss_initial']:.4g} -> {med['bn_loss_final']:.4g} |"
        )
    ratios = []
    for label in models:
        fp32 = summary[f"{label} / fp32"]["median"]["images_x_iterations_per_second"]
        fast = summary[f"{label} / fast"]["median"]["images_x_iterations_per_second"]
        ratios.append(f"- {label}: fast / fp32 = **{fast / fp32:.2f}x**")
    load = os.getloadavg()
    command = "python -m benchmarks.speed " + " ".join(
        f"--{k.replace('_', '-')} {v}"
        for k, v in (
            ("n_images", args.n_images),
            ("n_iter", args.n_iter),
            ("threads", args.threads),
            ("repeats", args.repeats),
        )
    )
    text = f"""# Generation speed and memory

Measured by `{command}` (generated file; rerun to refresh).

- Machine: {cpu_model()}, {os.cpu_count()} cores, load average after the run {load[0]:.2f}; no GPU.
- Versions: Python {platform.python_version()}, torch {torch.__version__}, onnx {onnx.__version__},
  onnxruntime {onnxruntime.__version__}; {args.threads} torch threads.
- Each run: `onnx_datagen.generate` with default settings (MCT defaults, all-images granularity,
  batch 32), {args.n_images} images x {args.n_iter} iterations, in a fresh process.
  Median of {args.repeats} interleaved runs (min-max in brackets).
- Peak RSS is the whole process (imports, model, conversion, generation); "before" is the RSS
  after imports, so generation itself costs the difference.

| model | precision | images x iterations / s | optimise s | peak RSS MiB | RSS before MiB | BN loss start -> end |
|---|---|---|---|---|---|---|
{chr(10).join(rows)}

{chr(10).join(ratios)}
"""
    args.out.write_text(text)
    args.out.with_name("speed.json").write_text(json.dumps({"command": command, "results": summary}, indent=2))
    print(text)


if __name__ == "__main__":
    main()
