"""What NNCF reads: each image's own extremes, and the BN-input tails behind them, on MobileNetV2.

ORT MinMax calibrates a tensor to the extremes over all images; NNCF INT8 (per-tensor activations) to the mean
over images of each image's own min and max. For every set cached by benchmarks/suites/imagenet/run.py at one size, this
runs torchvision's MobileNetV2 (benchmarks/models/mobilenet_v2.py's weights) and reports, against the first real photos:

- over the 17 linear bottleneck outputs (BN without an activation after it): the median over layers of the
  mean per-image maximum (what NNCF reads) and of the maximum over all images (what MinMax reads), each over
  the real photos' value for the same layer;
- the tails: per value, the mean squared excess of |z| beyond 4 (z: the BN input's distance from the running
  mean in running stds; the tail penalty's quantity), summed over layers, on the linear layers and on the 35
  layers that ReLU6 clips (and there only where the output is not clipped: what a calibrator can see).

    .bench/bin/python -m benchmarks.probes.image_extremes.run --work /work/bench/imagenet --n-images 64

Writes benchmarks/results/image_extremes.json and IMAGE_EXTREMES.md.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.harness.results import publish, save_result
from benchmarks.models.mobilenet_v2 import classifier, weights_file
from benchmarks.pipelines.imagenet import cached_scores, cached_sets, cached_sets_arguments
from benchmarks.probes.image_extremes import render
from benchmarks.probes.image_extremes.render import NAME

BOUND = 4.0  # the tail penalty's default bound


def mobilenet_v2(work: Path):
    """torchvision's MobileNetV2 in eval mode, and its BN layers with whether a ReLU6 follows each."""
    import torch

    model = classifier(weights_file(work))
    layers = []
    for module in model.modules():
        children = list(module.children())
        for i, child in enumerate(children):
            if isinstance(child, torch.nn.BatchNorm2d):
                clipped = i + 1 < len(children) and isinstance(children[i + 1], torch.nn.ReLU6)
                layers.append((child, clipped))
    return model, layers


def measure(model, layers, images: np.ndarray) -> list[dict]:
    """Per BN layer: per-image maxima of its output (after ReLU6 where one follows) and the summed tail excess."""
    import torch

    found: dict[int, dict] = {}

    def hook(index: int, bn, clipped: bool):
        def record(module, inputs, output):
            x = inputs[0].double()
            shape = (1, -1, 1, 1)
            z = (x - bn.running_mean.double().view(shape)) / bn.running_var.double().sqrt().view(shape)
            y = output.double().clamp(0, 6) if clipped else output.double()
            excess = (z.abs() - BOUND).clamp_min(0) ** 2
            visible = excess * ((output > 0) & (output < 6)) if clipped else excess
            row = found.setdefault(index, {"maxima": [], "excess": 0.0, "visible": 0.0, "values": 0})
            row["maxima"].append(y.flatten(1).amax(1).numpy())
            row["excess"] += float(excess.sum())
            row["visible"] += float(visible.sum())
            row["values"] += z.numel()

        return record

    handles = [bn.register_forward_hook(hook(i, bn, clipped)) for i, (bn, clipped) in enumerate(layers)]
    with torch.no_grad():
        for start in range(0, len(images), 16):
            model(torch.from_numpy(np.ascontiguousarray(images[start : start + 16], dtype=np.float32)))
    for handle in handles:
        handle.remove()
    return [found[i] | {"maxima": np.concatenate(found[i]["maxima"])} for i in range(len(layers))]


def summary(rows: list[dict], reference: list[dict], clipped: list[bool]) -> dict:
    linear = [i for i, c in enumerate(clipped) if not c]
    mean_max = [rows[i]["maxima"].mean() / reference[i]["maxima"].mean() for i in linear]
    all_max = [rows[i]["maxima"].max() / reference[i]["maxima"].max() for i in linear]
    per_value = lambda key, keep: sum(r[key] / r["values"] for r, c in zip(rows, clipped) if keep(c))  # noqa: E731
    return {
        "mean_max": float(np.median(mean_max)),
        "all_max": float(np.median(all_max)),
        "tail_linear": per_value("excess", lambda c: not c),
        "tail_clipped": per_value("excess", lambda c: c),
        "tail_clipped_visible": per_value("visible", lambda c: c),
    }


def main() -> None:
    args = cached_sets_arguments(__doc__)
    sets, scores = cached_sets(args), cached_scores(args)
    model, layers = mobilenet_v2(args.work)
    clipped = [c for _, c in layers]
    reference = measure(model, layers, sets["real"])
    rows = []
    for name, images in sets.items():
        rows.append({"set": name, **summary(measure(model, layers, images), reference, clipped),
                     "nncf": scores.get((name, "NNCF INT8"))})  # fmt: skip
        print(rows[-1], flush=True)
    data = {"n_images": args.n_images, "linear_layers": clipped.count(False), "bound": BOUND, "rows": rows}
    publish(render, save_result(NAME, data))


if __name__ == "__main__":
    main()
