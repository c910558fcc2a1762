"""Does a set calibrate better without its most extreme images? Score cached sets whole and with --drop images left out.

An image's extremeness: over BN layers, the mean of log(its largest |z| / the set's median of per-image largest |z|),
|z| a BN input's distance from the running mean in running stds. MinMax calibrators take each tensor's range from
the single most extreme image; percentile and NNCF's mean of per-image extremes read more of the set.

    .bench/bin/python -m benchmarks.probes.drop_extremes.run --imagenet /work/bench/imagenet --n-images 256 --drop 16 \\
        default_s0 default_s1                       # the ImageNet suite's cached sets (--work/sets/NAME_N.npy)
    .bench/bin/python -m benchmarks.probes.drop_extremes.run --cifar /work/T20 --depth 20 --drop 16 \\
        R20_default_s0_n256_it100 R20_tail100b4_s0_n256_it100      # the tail suite's sets (--work/NAME.npy)

Prints one row per set: each quantizer's score whole and without the dropped images (MobileNetV2: agreement with
float on the held-out photos; CIFAR: E1 top-1 at W8A4, E3 agreement at 8 bits), cached in the work folder.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from benchmarks.harness.options import add_options
from benchmarks.pipelines.bn_tails import abs_z
from benchmarks.pipelines.cifar import TAIL_QUANTIZERS

MEASURE_BATCH = 8  # every BN input of a 224x224 batch is held at once


def extremeness(model_path: Path, images: np.ndarray) -> np.ndarray:
    """Per image: the mean over BN layers of log(its largest |z| / the median over images of the largest |z|)."""
    batches = (images[start : start + MEASURE_BATCH] for start in range(0, len(images), MEASURE_BATCH))
    z = np.concatenate([np.stack([z.reshape(len(z), -1).max(1) for z in abs_z(model_path, b)], 1) for b in batches])
    return np.log(z / np.median(z, 0, keepdims=True)).mean(1)


def kept(model_path: Path, images: np.ndarray, drop: int) -> np.ndarray:
    return images[np.sort(np.argsort(-extremeness(model_path, images))[drop:])]


def imagenet(args) -> None:
    from benchmarks.pipelines.imagenet import Bench

    args.work, args.threads, args.n_real = args.imagenet, 2, 256
    bench = Bench(args)
    for name in args.sets:
        images = np.load(bench.work / "sets" / f"{name}_{args.n_images}.npy")
        whole = bench.score(name, images)
        part = bench.score(f"drop{args.drop}_{name}", kept(bench.model, images, args.drop))
        print(f"| {name} | " + " | ".join(f"{whole[q]['agreement']:.1f} -> {part[q]['agreement']:.1f}" for q in whole)
              + " |", flush=True)  # fmt: skip


def cifar(args) -> None:
    from benchmarks.pipelines.cifar import QUANTIZERS, Bench

    args.work, args.threads, args.e2_limit = args.cifar, 1, 2000
    bench = Bench(args)
    quantizers = {q: QUANTIZERS[q] for q in TAIL_QUANTIZERS}
    for name in args.sets:
        images = np.load(bench.work / f"{name}.npy")
        cells = []
        for label, x in ((name, images), (f"drop{args.drop} {name}", kept(bench.kept_path, images, args.drop))):
            bench.evaluate(label, x, 0, quantizers)
            rows = [bench.results.get(f"q|R{args.depth}|{label}|{q}|0") for q in quantizers]
            cells.append([row["E1" if q.startswith("W8A4") else "E3"] for row, q in zip(rows, quantizers)])
        print(f"| {name} | " + " | ".join(f"{a:.1f} -> {b:.1f}" for a, b in zip(*cells)) + " |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sets", nargs="+")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--imagenet", help="benchmarks/suites/imagenet/run.py's --work")
    where.add_argument("--cifar", help="benchmarks/suites/tails/run.py's --work")
    add_options(parser, depth=56, n_images=256, shared_data=None)  # --cifar: the ResNet; --imagenet: the sets' size
    parser.add_argument("--drop", type=int, default=16)
    args = parser.parse_args()
    imagenet(args) if args.imagenet else cifar(args)


if __name__ == "__main__":
    main()
