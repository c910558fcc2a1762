"""The README's OpenVINO example, end to end on CIFAR-10 ResNet-20: generate -> export -> NNCF -> OpenVINO.

    .bench/bin/python -m benchmarks.suites.openvino_e2e.run --work bench-work/openvino

The datagen sets are made by the `datagen` CLI exactly as the README shows (generate, then export
--to openvino); every set, generated, real or random, is then quantized by `nncf.quantize` on the
OpenVINO model (INT8, its defaults, subset_size = the set's size) and the result runs in OpenVINO on
CPU. Cached in --work; writes benchmarks/results/OPENVINO_E2E.md and openvino_e2e.json.
"""

from __future__ import annotations

import argparse
import glob
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.harness.options import add_options
from benchmarks.harness.results import publish, save_result
from benchmarks.pipelines.cifar import REAL_CALIB
from benchmarks.suites.openvino_e2e import render
from benchmarks.suites.openvino_e2e.render import E2_RANGE, NAME


def datagen_set(args, work: Path, onnx_path: Path, seed: int) -> tuple[list[np.ndarray], float]:
    """The README commands, run as a user would; returns the openvino export's samples and generation seconds."""
    calib = work / f"calib_s{seed}"
    timing = work / f"calib_s{seed}.seconds"
    if not (calib / "openvino" / "export.json").is_file():
        datagen = [str(Path(sys.executable).parent / "datagen")]
        started = time.perf_counter()
        subprocess.run(
            [*datagen, "generate", str(onnx_path), "--normalization", "imagenet", "-n", str(args.n_images),
             "--n-iter", str(args.n_iter), "--seed", str(seed), "--threads", str(args.threads), "--format", "npy",
             "-o", str(calib), "--overwrite", "-q"],
            check=True,
        )  # fmt: skip
        timing.write_text(f"{time.perf_counter() - started:.1f}")
        subprocess.run([*datagen, "export", str(calib), "--to", "openvino", "--overwrite", "-q"], check=True)
    samples = [np.load(f) for f in sorted(glob.glob(str(calib / "openvino" / "samples" / "*.npy")))]
    return samples, float(timing.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_options(parser, work=Path("bench-work/openvino"), shared_data=None, seeds=[0, 1], n_images=512, n_iter=100,
                threads=2)  # fmt: skip
    args = parser.parse_args()

    import nncf
    import openvino as ov

    from benchmarks.models import cifar_resnet
    from onnx_datagen.config.normalization import Normalization
    from onnx_datagen.data.image_sets import load_labelled, random_images

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    onnx_path = work / "resnet20.onnx"
    if not onnx_path.exists():
        cifar_resnet.export(cifar_resnet.load(Path(args.shared_data) / cifar_resnet.DEPTHS[20], 20), onnx_path)
    norm = Normalization.preset("imagenet")
    data = Path(args.shared_data)
    e1 = load_labelled(data / "cifar10_test_lossless_first1017.npz")
    e2 = load_labelled(data / "cifar10_test.npz").subset(*E2_RANGE)
    real = load_labelled(data / "cifar10_test.npz").subset(REAL_CALIB.start, REAL_CALIB.stop).model_input(norm)

    sets: dict[str, list[np.ndarray]] = {
        "real": list(real[: args.n_images, None]),
        "gauss": list(random_images("gaussian", args.n_images, (3, 32, 32), norm)[:, None]),
        "uniform": list(random_images("uniform", args.n_images, (3, 32, 32), norm)[:, None]),
    }
    seconds = {}
    for seed in args.seeds:
        sets[f"datagen s{seed}"], seconds[f"datagen s{seed}"] = datagen_set(args, work, onnx_path, seed)

    core = ov.Core()
    model_xml = work / "resnet20.xml"
    ov.save_model(ov.convert_model(str(onnx_path)), str(model_xml))

    labels = {"E1": e1.labels, "E2": e2.labels}
    inputs = {"E1": e1.model_input(norm), "E2": e2.model_input(norm)}

    def logits_of(path: Path) -> dict:
        compiled = core.compile_model(str(path), "CPU")
        return {k: compiled(x)[0] for k, x in inputs.items()}

    def top1(a: np.ndarray, b: np.ndarray) -> float:
        return 100.0 * float(np.mean(a.argmax(1) == b))

    reference = logits_of(model_xml)
    rows = {"float": {k: top1(reference[k], labels[k]) for k in labels}}
    for name, samples in sets.items():
        started = time.perf_counter()
        dataset = nncf.Dataset(samples, lambda x: {"input": x})  # exactly the export's USAGE.md
        quantized = nncf.quantize(core.read_model(str(model_xml)), dataset, subset_size=len(samples))
        quantize_seconds = time.perf_counter() - started
        ov.save_model(quantized, str(work / "int8.xml"))
        logits = logits_of(work / "int8.xml")
        rows[name] = {
            **{k: top1(logits[k], labels[k]) for k in labels},
            "E3": top1(logits["E2"], reference["E2"].argmax(1)),
            "nncf_seconds": round(quantize_seconds, 1),
            "generate_seconds": seconds.get(name),
        }
        print(name, rows[name], flush=True)

    arguments = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    publish(render, save_result(NAME, {"args": arguments, "rows": rows}))


if __name__ == "__main__":
    main()
