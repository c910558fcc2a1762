"""What calibrators read: the activation ranges each calibration set gives ORT, against those of real photos.

For every set cached by benchmarks/suites/imagenet/run.py (its --work folder) at one size, quantize MobileNetV2 with ORT
W8A8 (MinMax and Percentile, `datagen quantize`'s settings), read each activation tensor's range back from its
QuantizeLinear scale and zero point, and compare it with the range the real photos give the same tensor. A
second, disjoint draw of real photos shows how much ranges move between real sets of that size.

    .bench/bin/python -m benchmarks.probes.activation_ranges.run --work /work/bench/imagenet --n-images 64

Writes benchmarks/results/ACTIVATION_RANGES.md and activation_ranges.json.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from benchmarks.harness.results import publish, save_result
from benchmarks.models.mobilenet_v2 import mobilenet_v2_onnx
from benchmarks.pipelines.imagenet import QUANTIZERS, cached_scores, cached_sets, cached_sets_arguments, noise_sets
from benchmarks.probes.activation_ranges import render
from benchmarks.probes.activation_ranges.render import NAME

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


def main() -> None:
    args = cached_sets_arguments(__doc__)
    model, n = mobilenet_v2_onnx(args.work), args.n_images
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
    publish(render, save_result(NAME, {"n_images": n, "methods": results}))


if __name__ == "__main__":
    main()
