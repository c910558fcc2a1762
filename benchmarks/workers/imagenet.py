"""The ImageNet benchmark's generators, each run in a fresh process (`python -m benchmarks.workers.imagenet KIND
ARGS`, through the harness's child runner, which measures its wall time, CPU time and peak memory); each prints one
JSON line: its report.

    datagen MODEL N SPEC_JSON OUT THREADS        onnx-datagen with the settings in SPEC_JSON (a preset, options)
    mct WEIGHTS N N_ITER OUT THREADS SEED        Sony MCT's data generation on torchvision's MobileNetV2
"""

from __future__ import annotations

import json
import random
import sys
import time

import numpy as np


def datagen(model: str, n: str, spec: str, out: str, threads: str) -> dict:
    import torch

    import onnx_datagen
    from onnx_datagen import GenerationConfig, Normalization
    from onnx_datagen.config.presets import load_preset

    torch.set_num_threads(int(threads))
    spec = dict(json.loads(spec))
    preset = load_preset(spec.pop("preset")) if "preset" in spec else {}
    norm = spec.pop("normalization", None)  # the model's (benchmarks.models.imagenet), else torchvision's
    normalization = Normalization(tuple(norm["mean"]), tuple(norm["std"])) if norm else Normalization.preset("imagenet")
    config = GenerationConfig.from_dict({**preset, **spec}).replace(normalization=normalization)
    curve: dict[int, float] = {}  # iteration -> summed BN loss over the batches (the plateau an early stop would see)

    def progress(report):
        curve[report.iteration] = curve.get(report.iteration, 0.0) + report.bn_loss

    started = time.perf_counter()
    try:
        dataset = onnx_datagen.generate(model, int(n), config, progress=progress)
    except onnx_datagen.UserError as err:  # a setting this model or budget cannot take: a row that says why
        return {"refused": str(err)}
    seconds = time.perf_counter() - started
    np.save(out, dataset.images)
    made = dataset.manifest["config"]
    statistics = dataset.manifest["statistics"] or {}
    return {"generate_s": seconds, "n_iter": made["n_iter"], "config": made, "method": dataset.manifest["method"],
            "bn_loss_initial": statistics.get("bn_loss_initial"), "bn_loss_final": statistics.get("bn_loss_final"),
            "bn_loss_by_iteration": [curve[i] for i in sorted(curve)],
            "timing": dataset.manifest["timing"]}  # fmt: skip


def mct(weights: str, n: str, n_iter: str, out: str, threads: str, seed: str) -> dict:
    import torch

    from benchmarks.workers.generate import import_torchvision_for_mct

    import_torchvision_for_mct()
    import model_compression_toolkit as mct_package
    import torchvision

    torch.set_num_threads(int(threads))
    random.seed(int(seed))
    np.random.seed(int(seed))
    torch.manual_seed(int(seed))
    model = torchvision.models.mobilenet_v2()
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True), strict=True)
    model.eval()
    generation = mct_package.data_generation
    config = generation.get_pytorch_data_generation_config(n_iter=int(n_iter), data_gen_batch_size=32)
    started = time.perf_counter()
    images = generation.pytorch_data_generation_experimental(
        model=model, n_images=int(n), output_image_size=224, data_generation_config=config
    )
    seconds = time.perf_counter() - started
    np.save(out, torch.cat(images, 0).numpy().astype(np.float32))
    return {"generate_s": seconds, "n_iter": int(n_iter), "mct": mct_package.__version__}


KINDS = {"datagen": datagen, "mct": mct}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in KINDS or sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        raise SystemExit(0 if sys.argv[1:2] in (["-h"], ["--help"]) else 2)
    print(json.dumps(KINDS[sys.argv[1]](*sys.argv[2:])))


if __name__ == "__main__":
    main()
