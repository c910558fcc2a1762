"""One generation run in its own process, so wall time and peak memory belong to that generator alone.

    python -m benchmarks.workers.generate datagen --depth 20 --onnx R20.onnx --seed 0 --n-images 512 \
        --n-iter 200 --batch-size 32 --threads 1 --out calib.npy --report run.json
    python -m benchmarks.workers.generate mct ...     (same options; needs benchmarks/requirements.txt)

Writes the N x 3 x 32 x 32 float32 images (ImageNet-normalised model input) and a JSON report with
generation wall time (the generator call only) and images x iterations per second; the caller adds the process's peak
RSS (benchmarks.pipelines.cifar.run_worker, through the harness's child runner).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.harness.options import REQUIRED, add_options


def cpu_seconds() -> float:
    """This process's CPU time: unlike wall time, barely moved by other jobs sharing the machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def import_torchvision_for_mct() -> None:
    """MCT needs torchvision; PyPI's 0.28 does not load its C++ ops against CPU torch and then fails on
    `register_fake("torchvision::nms")`. Declaring the two op schemas lets the pure-Python part import
    (MCT data generation uses only its transforms). Our own code never imports torchvision."""
    import torch

    try:
        import torchvision  # noqa: F401
    except RuntimeError as err:
        if "torchvision::nms" not in str(err):
            raise
        for name in [n for n in sys.modules if n.startswith("torchvision")]:
            del sys.modules[name]
        library = torch.library.Library("torchvision", "DEF")  # noqa: F841 - kept alive for the session
        library.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        library.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        import_torchvision_for_mct.library = library
        import torchvision  # noqa: F401


def run_datagen(args) -> tuple[np.ndarray, dict]:
    import onnx_datagen
    from onnx_datagen import GenerationConfig
    from onnx_datagen.config.presets import load_preset

    preset = load_preset(args.preset or ("prior" if args.generator == "prior" else "mct"))
    overrides = {**json.loads(args.config_json), "n_iter": args.n_iter, "seed": args.seed}
    if args.batch_size:  # else the preset's own batch size
        overrides["batch_size"] = args.batch_size
    config = GenerationConfig.from_dict({**preset, **overrides})
    if args.granularity:
        config = config.replace(granularity=args.granularity)
    if args.backend:
        config = config.replace(engine=args.backend)
    started, cpu = time.perf_counter(), cpu_seconds()
    if args.init_from_preset:  # train that preset's generator first (same n_iter and seed): the starting images
        generator = Path(args.out).with_suffix(".generator.onnx")
        train_config = GenerationConfig.from_dict({**load_preset(args.init_from_preset), **overrides})
        onnx_datagen.train_generator(args.onnx, generator, train_config)
        config = config.replace(init_from=str(generator))
    dataset = onnx_datagen.generate(args.onnx, n_images=args.n_images, config=config)
    wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    stats = dataset.manifest["statistics"] or {}
    import onnxruntime

    report = {"generate_seconds": wall, "generate_cpu_seconds": cpu, "batch_size": config.batch_size}
    if args.init_from_preset:
        report["init_from_preset"] = args.init_from_preset
    report["onnxruntime"] = onnxruntime.__version__
    report.update(bn_loss_final=stats.get("bn_loss_final"), diversity=dataset.manifest.get("diversity"))
    return dataset.images, report


def run_mct(args) -> tuple[np.ndarray, dict]:
    import torch

    import_torchvision_for_mct()
    import model_compression_toolkit as mct

    from benchmarks.models import cifar_resnet

    random.seed(args.seed)
    np.random.seed(args.seed)  # MCT draws its batch order from np.random
    torch.manual_seed(args.seed)
    model = cifar_resnet.load(Path(args.shared_data) / cifar_resnet.DEPTHS[args.depth], args.depth)
    config = mct.data_generation.get_pytorch_data_generation_config(
        n_iter=args.n_iter, data_gen_batch_size=args.batch_size or 32
    )
    started, cpu = time.perf_counter(), cpu_seconds()
    images = mct.data_generation.pytorch_data_generation_experimental(
        model=model, n_images=args.n_images, output_image_size=32, data_generation_config=config
    )
    wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    report = {"generate_seconds": wall, "generate_cpu_seconds": cpu, "mct": mct.__version__}
    return torch.cat(images, 0).numpy().astype(np.float32), report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("generator", choices=["datagen", "mct", "prior"], help="prior: datagen --preset prior")
    parser.add_argument("--granularity", help="datagen: override the default statistics granularity")
    parser.add_argument("--preset", help="datagen: start from this preset (default mct, our defaults)")
    parser.add_argument("--backend", help="datagen: torch, ort-training or auto (default: the config's)")
    parser.add_argument("--init-from-preset", help="datagen: start from the samples of this preset's trained generator")
    parser.add_argument("--config-json", default="{}", help="datagen: config values over the preset's, as JSON")
    add_options(parser, depth=REQUIRED, shared_data=None, n_images=512, n_iter=500, threads=1)
    parser.add_argument("--onnx", required=True, help="the BN-kept export (datagen's input)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=None, help="default: the preset's (MCT: 32)")
    parser.add_argument("--out", required=True)
    parser.add_argument("--report", required=True)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    images, report = (run_mct if args.generator == "mct" else run_datagen)(args)
    np.save(args.out, images)
    report.update(
        generator=f"{args.generator} {args.granularity}" if args.granularity else args.generator,
        preset=args.preset,
        backend=args.backend,
        depth=args.depth,
        seed=args.seed,
        n_images=len(images),
        n_iter=args.n_iter,
        batch_size=args.batch_size or report.get("batch_size"),
        threads=args.threads,
        images_x_iterations_per_second=len(images) * args.n_iter / report["generate_seconds"],
    )  # the process's peak RSS: the caller's, from the harness's child runner
    Path(args.report).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
