"""Seconds per optimiser step at ImageNet scale, by batch size, precision and resolution, in one process.

torchvision's MobileNetV2 (benchmarks/models/mobilenet_v2.py), 224x224, per-batch statistics, 8 iterations of one batch
each; the first steps warm caches up, so the fastest step is reported. `half` runs 75 % of the iterations at half
resolution (DeepInversion's low-resolution phase; the views are then jitter + flip, which it needs), and the fastest
step is one of those. *Network alone* is the floor under a step: the converted network's forward and backward to its
input (the sum of its output), no statistics, loss or views, fastest of 7, at the same size.

    python -m benchmarks.probes.step_time.run --work /work/bench/imagenet [--threads 2]   # STEP_TIME.md, step_time.json
"""

from __future__ import annotations

import argparse
import json
import time

from benchmarks.harness.options import REQUIRED, add_options
from benchmarks.harness.results import publish, save_result
from benchmarks.models.mobilenet_v2 import mobilenet_v2_onnx
from benchmarks.probes.step_time import render
from benchmarks.probes.step_time.render import NAME

VARIANTS = [  # (batch, --precision, low-resolution fraction)
    (8, "fp32", 0.0),
    (8, "fast", 0.0),
    (32, "fp32", 0.0),
    (32, "fast", 0.0),
    (8, "fp32", 0.75),
    (8, "fast", 0.75),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    args = add_options(parser, work=REQUIRED, threads=2).parse_args()
    import torch

    import onnx_datagen
    from onnx_datagen import GenerationConfig, Normalization

    torch.set_num_threads(args.threads)
    model = mobilenet_v2_onnx(args.work)
    rows = []
    for batch, precision, low in VARIANTS:
        stamps = []
        views = {"pipeline": "jitter-and-flip"} if low else {}
        imagenet = Normalization.preset("imagenet")
        config = GenerationConfig(n_iter=8, batch_size=batch, granularity="per-batch", precision=precision,
                                  low_res_fraction=low, normalization=imagenet, **views)  # fmt: skip
        onnx_datagen.generate(model, batch, config, progress=lambda _r, s=stamps: s.append(time.perf_counter()))
        step = min(b - a for a, b in zip(stamps, stamps[1:]))
        rows.append({"batch": batch, "precision": precision, "low_res_fraction": low, "step_s": round(step, 3),
                     "images_x_iterations_per_s": round(batch / step, 1)})  # fmt: skip
        print(json.dumps(rows[-1]), flush=True)
    for low in (0.0, 0.75):
        step = network_alone(model, 8, 112 if low else 224)
        rows.append({"batch": 8, "precision": "fp32", "low_res_fraction": low, "network_alone": True,
                     "step_s": round(step, 3), "images_x_iterations_per_s": round(8 / step, 1)})  # fmt: skip
        print(json.dumps(rows[-1]), flush=True)
    publish(render, save_result(NAME, {"threads": args.threads, "rows": rows}))


def network_alone(model, batch: int, side: int) -> float:
    """Fastest of 7 forward + backward passes of the converted network (as the torch engine runs it) to its input."""
    import torch

    from onnx_datagen.config.generation import GenerationConfig
    from onnx_datagen.engines.torch.engine import TorchEngine
    from onnx_datagen.graph.prepare import prepare_model

    prepared = prepare_model(model)
    network = TorchEngine(prepared, GenerationConfig().resolve(side, side)).model
    x = torch.randn(batch, 3, side, side, requires_grad=True)
    seconds = []
    for _ in range(7):
        started = time.perf_counter()
        network(x).outputs[0].sum().backward()
        seconds.append(time.perf_counter() - started)
        x.grad = None
    return min(seconds)


if __name__ == "__main__":
    main()
