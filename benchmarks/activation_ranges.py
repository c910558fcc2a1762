"""What calibrators read: the activation ranges each calibration set gives ORT, against those of real photos.

For every set cached by imagenet_benchmark.py (its --work folder) at one size, quantize MobileNetV2 with ORT
W8A8 (MinMax and Percentile, `datagen quantize`'s settings), read each activation tensor's range back from its
QuantizeLinear scale and zero point, and compare it with the range the real photos give the same tensor. A
second, disjoint draw of real photos shows how much ranges move between real sets of that size.

    .bench/bin/python -m benchmarks.activation_ranges --work /work/bench/imagenet --n-images 64

Writes benchmarks/results/ACTIVATION_RANGES.md and activation_ranges.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from benchmarks.harness import RESULTS, SHARED_DATA
from benchmarks.imagenet_model import mobilenet_v2_onnx
from benchmarks.imagenet_pipeline import QUANTIZERS, noise_sets, normalise, split_images

METHODS = {name: spec for name, spec in QUANTIZERS.items() if spec != "nncf"}


def activation_ranges(model: onnx.ModelProto) -> dict[str, tuple[float, float]]:
    """tensor -> (low, high) that a QDQ model's QuantizeLinear represents, for tensors that are not weights."""
    constants = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    ranges = {}
    for node in model.graph.node:
        if node.op_type != "QuantizeLinear" or node.input[0] in constants:
            continue
        scale, zero = constants[node.input[1]], constants[node.input[2]]
        if scale.size != 1:  # per-channel: a weight path
            continue
        info = np.iinfo(zero.dtype)
        scale, zero = float(scale), int(zero)
        ranges[node.input[0]] = ((info.min - zero) * scale, (info.max - zero) * scale)
    return ranges


def quantized_ranges(model_path: Path, images: np.ndarray, spec: dict) -> dict[str, tuple[float, float]]:
    from onnx_datagen.quant.quantize import QuantSettings, quantize

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "q.onnx"
        quantize(model_path, out, images, QuantSettings(**spec))
        return activation_ranges(onnx.load(str(out)))


def compare(ranges: dict, reference: dict) -> dict:
    """Width ratios (set / reference) over the tensors both have: their spread, and how many are far off."""
    names = sorted(set(ranges) & set(reference))
    ratio = np.array([(ranges[n][1] - ranges[n][0]) / max(reference[n][1] - reference[n][0], 1e-12) for n in names])
    return {
        "tensors": len(names),
        "median": float(np.median(ratio)),
        "p10": float(np.percentile(ratio, 10)),
        "p90": float(np.percentile(ratio, 90)),
        "wider_25pct": float((ratio > 1.25).mean() * 100),
        "narrower_20pct": float((ratio < 0.8).mean() * 100),
        "log_rms": float(np.sqrt(np.mean(np.log(ratio) ** 2))),
    }


def cached_sets_arguments(description: str, positionals: tuple[str, ...] = ()) -> argparse.Namespace:
    """--work (imagenet_benchmark.py's), --shared-data, --n-images (the set size), --n-real (its split), after
    the script's own positional arguments."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name in positionals:
        parser.add_argument(name)
    parser.add_argument("--work", required=True)
    parser.add_argument("--shared-data", default=str(SHARED_DATA))
    parser.add_argument("--n-images", type=int, default=64)
    parser.add_argument("--n-real", type=int, default=256)
    return parser.parse_args()


def cached_sets(args: argparse.Namespace) -> dict[str, np.ndarray]:
    """The first --n-images real photos ("real"), the next as many, and every set imagenet_benchmark.py cached at
    that size (its name with spaces for underscores)."""
    work, n = Path(args.work), args.n_images
    calib, _ = split_images(work, Path(args.shared_data), args.n_real, 1000 - args.n_real)
    pool = normalise(np.load(calib)["images"])
    sets = {"real": pool[:n], f"real, photos {n}-{2 * n - 1}": pool[n : 2 * n]}
    for path in sorted((work / "sets").glob(f"*_{n}.npy")):
        sets[path.stem[: -len(f"_{n}")].replace("_", " ")] = np.load(path)
    return sets


def cached_scores(args: argparse.Namespace) -> dict[tuple[str, str], float]:
    """(set name, quantizer) -> agreement with the float model, from imagenet_benchmark.py's results.jsonl."""
    scores = {}
    for line in (Path(args.work) / "results.jsonl").read_text().splitlines():
        row = json.loads(line)
        if row["key"].startswith("score|") and row["key"].endswith(f"|{args.n_images}"):
            _, name, quantizer, _ = row["key"].split("|")
            scores[(name.replace("_", " "), quantizer)] = row["agreement"]
    return scores


def main() -> None:
    args = cached_sets_arguments(__doc__)
    model, n = mobilenet_v2_onnx(Path(args.work)), args.n_images
    sets = cached_sets(args)
    sets.update(noise_sets(n, sets["real"].shape[1:]))
    scores = cached_scores(args)
    results = {}
    for method, spec in METHODS.items():
        reference = quantized_ranges(model, sets["real"], spec)
        for name, images in sets.items():
            if name == "real":
                continue
            row = compare(quantized_ranges(model, images, spec), reference)
            row["agreement"] = scores.get((name, method))
            results.setdefault(method, {})[name] = row
            print(f"{method:18s} {name:45s} median {row['median']:.2f} p90 {row['p90']:.2f}", flush=True)
    (RESULTS / "activation_ranges.json").write_text(json.dumps(results, indent=1) + "\n")
    lines = [
        f"# Activation ranges against real photos: MobileNetV2, {n} images per set",
        "",
        "Reproduce: `python -m benchmarks.activation_ranges " + " ".join(sys.argv[1:]) + "`",
        "",
        f"Each set calibrates ORT W8A8 QDQ; each activation tensor's range (from its QuantizeLinear scale and zero "
        f"point) is divided by the range the first {n} real photos give it. *median*, *p10*, *p90*: of those "
        "ratios over the tensors; *>1.25x*, *<0.8x*: % of tensors that much wider or narrower; *log RMS*: the "
        "root mean square of log(ratio), 0 for the real ranges. *agree*: the set's top-1 agreement with the float "
        "model on the held-out photos (imagenet_benchmark.py; – where it was not scored at this size).",
        "",
    ]
    for method, rows in results.items():
        lines += [f"## {method}", "", "| set | median | p10 | p90 | >1.25x % | <0.8x % | log RMS | agree |",
                  "|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for name, r in sorted(rows.items(), key=lambda item: item[1]["log_rms"]):
            agree = f"{r['agreement']:.1f}" if r["agreement"] is not None else "–"
            lines.append(f"| {name} | {r['median']:.2f} | {r['p10']:.2f} | {r['p90']:.2f} | {r['wider_25pct']:.0f} | "
                         f"{r['narrower_20pct']:.0f} | {r['log_rms']:.3f} | {agree} |")  # fmt: skip
        lines.append("")
    (RESULTS / "ACTIVATION_RANGES.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
