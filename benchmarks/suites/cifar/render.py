"""The CIFAR part of RESULTS.md from results.json (the rows benchmarks.suites.cifar.collect gathered from the runs'
work folders), with the hand-written findings of benchmarks/results/results_notes.md appended. benchmarks.render
puts the ImageNet suite's tables after it.
"""

from __future__ import annotations

import statistics

from benchmarks.harness.paths import COMMITTED
from benchmarks.harness.repeats import mean_spread
from benchmarks.pipelines.cifar import QUANTIZERS

NAME = "results"

BASELINES = ["real", "gauss", "uniform", "fractal"]
GENERATORS = ["datagen", "mct", "prior"]
METRICS = ["E1", "E2", "E3"]


def model_table(rows: list[dict], depth: int, title: str | None = None) -> list[str]:
    quant = [r for r in rows if r["kind"] == "quant" and r["depth"] == depth]
    if not quant:
        return []
    floats = next(r for r in rows if r["kind"] == "float" and r["depth"] == depth)
    bn = {r["set"]: r["bn_match"] for r in rows if r["kind"] == "bn_match" and r["depth"] == depth}
    sets = [s for s in BASELINES if any(r["set"] == s for r in quant)]
    generated = sorted(  # datagen (defaults), datagen variants, mct; seeds in order
        {r["set"] for r in quant} - set(BASELINES), key=lambda s: (GENERATORS.index(s.split()[0]), len(s.split()), s)
    )
    n_calib = {r["set"]: r["n_calib"] for r in quant}
    n_iter = next(r["n_iter"] for r in quant)
    out = [
        f"### {title or f'ResNet-{depth}'}",
        "",
        f"Float: E1 {floats['E1']:.2f}, E2 {floats['E2']:.2f} (on {floats['n_E2']} images). "
        f"Calibration sets of {n_calib['real']} images; generated sets: {n_iter} iterations. "
        "Cells: E1 / E2 / E3 (%).",
        "",
        "| calibration set | " + " | ".join(QUANTIZERS) + " | BN match |",
        "|---|" + "---|" * (len(QUANTIZERS) + 1),
    ]

    def cell(names: list[str], quantizer: str) -> str:
        found = [r for r in quant if r["set"] in names and r["quantizer"] == quantizer]
        if len(found) < len(names):
            return "–"
        return " / ".join(mean_spread([r[m] for r in found]) for m in METRICS)

    def bn_cell(names: list[str]) -> str:
        values = [bn[n] for n in names if n in bn]
        if len(values) < len(names):
            return "–"
        spread = f" ±{(max(values) - min(values)) / 2:.3f}" if len(values) > 1 else ""
        return f"{statistics.mean(values):.3f}{spread}"

    for name in sets + generated:
        out.append(f"| {name} | " + " | ".join(cell([name], q) for q in QUANTIZERS) + f" | {bn_cell([name])} |")
    for variant in dict.fromkeys(s.rsplit(" ", 1)[0] for s in generated):  # "datagen", "datagen per-image", "mct"
        seeds = [s for s in generated if s.rsplit(" ", 1)[0] == variant]
        if len(seeds) > 1:
            label = f"**{variant} mean ±half-range ({len(seeds)} seeds)**"
            out.append(f"| {label} | " + " | ".join(cell(seeds, q) for q in QUANTIZERS) + f" | {bn_cell(seeds)} |")
    return out + [""]


def timing_table(rows: list[dict]) -> list[str]:
    timing = [r for r in rows if r["kind"] == "timing"]
    if not timing:
        return []
    out = [
        "| model | seed | images x iterations | threads | datagen s | MCT s | datagen img·it/s | MCT img·it/s | "
        "speed ratio | datagen peak RSS MiB | MCT peak RSS MiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for depth in sorted({r["depth"] for r in timing}):
        for seed in sorted({r["seed"] for r in timing if r["depth"] == depth}):
            pair = {r["generator"]: r for r in timing if r["depth"] == depth and r["seed"] == seed}
            if not {"datagen", "mct"} <= set(pair):
                continue
            d, m = pair["datagen"], pair["mct"]
            ratio = d["images_x_iterations_per_second"] / m["images_x_iterations_per_second"]
            out.append(
                f"| ResNet-{depth} | {seed} | {d['n_images']} x {d['n_iter']} | {d['threads']} | "
                f"{d['generate_seconds']:.0f} | {m['generate_seconds']:.0f} | "
                f"{d['images_x_iterations_per_second']:.1f} | {m['images_x_iterations_per_second']:.1f} | "
                f"**{ratio:.2f}x** | {d['peak_rss_mib']:.0f} | {m['peak_rss_mib']:.0f} |"
            )
    return out + [""]


PRESET_COLUMNS = ["W8A4 Pct", "W8A4 MinMax", "W8A8 MinMax", "W4A8 MinMax"]


def presets_tables(rows: list[dict]) -> list[str]:
    out = []
    for depth in sorted({r["depth"] for r in rows if r["kind"] == "quant"}):
        out += preset_table([r for r in rows if r.get("depth") == depth], depth)
    return out


def preset_table(rows: list[dict], depth: int) -> list[str]:
    """The anchors, then every preset at equal iterations and at equal CPU time; cells E1 / E3, mean ±half-range
    over seeds."""
    quant = [r for r in rows if r["kind"] == "quant"]
    floats = next(r for r in rows if r["kind"] == "float")
    bn = {(r["set"], int(r["key"].rsplit("|", 1)[1])): r["bn_match"] for r in rows if r["kind"] == "bn_match"}
    cpu = {(r["preset"], r["seed"], r["n_iter"]): r["generate_cpu_seconds"] for r in rows if r["kind"] == "timing"}
    budgets = [r for r in rows if r["kind"] == "budget"]
    base = min(r["n_iter"] for r in quant if r["set"].startswith("mct "))  # the equal-iteration count (mct's)
    generated = [r["set"] for r in quant if r["set"] not in ("real", "fractal")]
    presets = list(dict.fromkeys(name.rsplit(" ", 1)[0] for name in generated))
    seeds = sorted({int(name.rsplit(" s", 1)[1]) for name in generated})
    n_calib = next(r["n_calib"] for r in quant if r["set"] == "real")

    def cells(names: list[str], n_iter: int) -> str:
        found = []
        for q in PRESET_COLUMNS:
            hits = [r for r in quant if r["set"] in names and r["quantizer"] == q and r["n_iter"] == n_iter]
            ok = len(hits) == len(names)
            found.append(" / ".join(mean_spread([r[m] for r in hits]) for m in ("E1", "E3")) if ok else "–")
        values = [bn[n, n_iter] for n in names if (n, n_iter) in bn]
        found.append(f"{statistics.mean(values):.3f}" if len(values) == len(names) else "–")
        return " | ".join(found)

    out = [
        f"### Presets, ResNet-{depth}",
        "",
        f"Float E1 {floats['E1']:.2f}. {n_calib} calibration images; seeds {', '.join(map(str, seeds))}; E3 on "
        f"{floats['n_E2']} E2 images. Cells: E1 / E3 (%), mean ±half-range over seeds. CPU s: generation CPU time "
        "(one thread), mean over seeds.",
        "",
        "| set | budget | iterations | " + " | ".join(PRESET_COLUMNS) + " | BN match | CPU s |",
        "|---|---|---|" + "---|" * (len(PRESET_COLUMNS) + 2),
        f"| real | – | – | {cells(['real'], base)} | – |",
        f"| fractal | – | – | {cells(['fractal'], 0)} | – |",
    ]
    for preset in presets:
        names = [f"{preset} s{seed}" for seed in seeds]
        seconds = [cpu[preset, s, base] for s in seeds if (preset, s, base) in cpu]
        seconds_cell = f"{statistics.mean(seconds):.0f}" if seconds else "–"
        out.append(f"| {preset} | equal iterations | {base} | {cells(names, base)} | {seconds_cell} |")
    for preset in presets:
        if preset == "mct":
            continue
        mine = {b["seed"]: b for b in budgets if b["preset"] == preset}
        for seed in seeds:
            name = f"{preset} s{seed}"
            if seed not in mine:
                out.append(
                    f"| {name} | equal CPU time | not run | " + " | ".join(["–"] * (len(PRESET_COLUMNS) + 1)) + " | |"
                )
                continue
            n_iter = mine[seed]["n_iter"]
            if abs(n_iter - base) <= 0.1 * base:  # the equal-iteration set stands for it
                out.append(f"| {name} | equal CPU time | {n_iter} (within 10 %: the {base}-iteration set) | "
                           f"{cells([name], base)} | |")  # fmt: skip
            else:
                out.append(f"| {name} | equal CPU time | {n_iter} | {cells([name], n_iter)} | |")
    return out + [""]


def backends_table(rows: list[dict]) -> list[str]:
    """torch vs ort-training on the same settings: speed (images x iterations per CPU and wall second) and quality."""
    engines = [r for r in rows if r["kind"] == "engine"]
    quant = [r for r in rows if r["kind"] == "quant"]
    bn = {r["set"]: r["bn_match"] for r in rows if r["kind"] == "bn_match"}
    out = [
        "| model | engine | seed | images x iterations | wall s | CPU s | img·it per CPU s | vs torch | "
        + " | ".join(PRESET_COLUMNS)
        + " | BN match |",
        "|---|---|---|---|---|---|---|---|" + "---|" * (len(PRESET_COLUMNS) + 1),
    ]
    for r in sorted(engines, key=lambda r: (r["depth"], r["seed"], r["backend"] != "torch")):
        name = f"{r['backend']} s{r['seed']}"
        torch_run = next(t for t in engines if t["backend"] == "torch" and t["seed"] == r["seed"]
                         and t["depth"] == r["depth"])  # fmt: skip
        rate = r["n_images"] * r["n_iter"] / r["generate_cpu_seconds"]
        ratio = torch_run["generate_cpu_seconds"] / r["generate_cpu_seconds"]
        cells = []
        for q in PRESET_COLUMNS:
            hit = next(
                (x for x in quant if x["set"] == name and x["quantizer"] == q and x["depth"] == r["depth"]), None
            )
            cells.append(f"{hit['E1']:.1f} / {hit['E3']:.1f}" if hit else "–")
        out.append(
            f"| ResNet-{r['depth']} | {r['backend']} | {r['seed']} | {r['n_images']} x {r['n_iter']} | "
            f"{r['generate_seconds']:.0f} | {r['generate_cpu_seconds']:.0f} | {rate:.1f} | {ratio:.2f}x | "
            + " | ".join(cells)
            + f" | {bn.get(name, float('nan')):.3f} |"
        )
    return out + [""]


GAP_QUANTIZERS = ["W8A4 Pct", "W8A4 MinMax", "W8A8 MinMax"]
MIN_GAP = 2.0  # E1 points between noise and BN inversion below which a share of the gap means nothing


def mean_e1(rows: list[dict], depth: int, name: str, quantizer: str) -> float | None:
    """E1 of set `name`, averaged over its seeds ("prior" covers "prior s0", "prior s1")."""
    values = [
        r["E1"]
        for r in rows
        if r["kind"] == "quant"
        and r["depth"] == depth
        and r["quantizer"] == quantizer
        and (r["set"] == name or r["set"].startswith(name + " s"))
    ]
    return statistics.mean(values) if values else None


def gap_table(kept: list[dict], folded: list[dict]) -> list[str]:
    """How much of the E1 gap between Gaussian noise and BN inversion (datagen defaults, on the BN-kept
    export) each model-free set closes on the folded export: (set - noise) / (datagen - noise)."""
    out = [
        "| model | calibration set | " + " | ".join(GAP_QUANTIZERS) + " |",
        "|---|---|" + "---|" * len(GAP_QUANTIZERS),
    ]
    for depth in sorted({r["depth"] for r in folded if r["kind"] == "quant"}):
        present = {r["set"].split()[0] for r in folded if r["kind"] == "quant" and r["depth"] == depth}
        for q_name, rows_, label in (
            ("gauss", folded, "gauss (0 %)"),
            ("datagen", kept, "BN inversion, BN-kept (100 %)"),
        ):
            cells = [mean_e1(rows_, depth, q_name, q) for q in GAP_QUANTIZERS]
            out.append(
                f"| ResNet-{depth} | {label} | " + " | ".join("–" if c is None else f"{c:.1f}" for c in cells) + " |"
            )
        for name in [s for s in ("real", "uniform", "fractal", "prior") if s in present]:
            cells = []
            for q in GAP_QUANTIZERS:
                value, noise = mean_e1(folded, depth, name, q), mean_e1(folded, depth, "gauss", q)
                bn = mean_e1(kept, depth, "datagen", q)
                if None in (value, noise, bn):
                    cells.append("–")
                elif abs(bn - noise) < MIN_GAP:
                    cells.append(f"{value:.1f} (no gap)")
                else:
                    cells.append(f"{value:.1f} ({100 * (value - noise) / (bn - noise):+.0f} %)")
            out.append(f"| ResNet-{depth} | {name} | " + " | ".join(cells) + " |")
    return out + [""]


def render(result: dict) -> str:
    data, info = result["data"], result["machine"]
    rows, folded, preset_rows, backend_rows = (data[k] for k in ("rows", "folded_rows", "preset_rows", "backend_rows"))
    depths = sorted({r["depth"] for r in rows if r["kind"] == "quant"})
    notes = (COMMITTED / "results_notes.md").read_text()  # hand-written, so always the committed file
    lines = [
        "# Calibration benchmark: datagen vs real data, noise and Sony MCT",
        "",
        "Generated by `python -m benchmarks.render` from `results.json` (the runs' rows, gathered by "
        "`benchmarks.suites.cifar.collect`); do not edit the tables by hand (findings live in "
        "`benchmarks/results/results_notes.md` and are appended at the end; the last section is the ImageNet "
        "suite's, from `imagenet.json`).",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores, CPU only, Python {info['python']}. "
        + ", ".join(f"{k} {v}" for k, v in info["versions"].items())
        + f". Code: commit {info['commit']}.",
        "",
        "Protocol: ../shared/docs/benchmark.md. E1 = top-1 on the lossless first 1017 CIFAR-10 test images, "
        "E2 = top-1 on JPEG test images from 1017 on, E3 = top-1 agreement of quantized with float on E2's "
        "images. ORT `quantize_static`, QDQ, per-channel symmetric int8/int4 weights, asymmetric uint8/uint4 "
        "activations; Pct = Percentile 99.999; A4 runs as fake quant at ORT_ENABLE_BASIC. NNCF INT8 = "
        "`nncf.quantize` defaults on the ONNX model. BN match: mean over BN layers of "
        "(‖m−μ‖+‖s−σ‖)/‖σ‖ of the set's statistics (0 = exact). **W8A4 columns decide**: W8A8 and W4A8 do not "
        "separate good from bad data on these models (noise passes them).",
        "",
        "## Quality",
        "",
    ]
    for depth in depths:
        lines += model_table(rows, depth)
    if folded:
        lines += [
            "## BN-folded exports (torch's default): model-free fallbacks",
            "",
            "The same weights exported with constant folding, so no BatchNorm is left: only sets that need no "
            "statistics can be made for it (`--preset fractal`, `--preset prior` run on the folded file). BN match "
            "is still scored on the BN-kept export.",
            "",
        ]
        for depth in sorted({r["depth"] for r in folded if r["kind"] == "quant"}):
            lines += model_table(folded, depth, f"ResNet-{depth}, BN-folded export")
        lines += [
            "Gap closed: E1, and in brackets the share of the gap between Gaussian noise (on the folded export) "
            "and BN inversion (datagen defaults, mean of its seeds, on the BN-kept export) that the set closes; "
            f"100 % = as good as BN inversion; no share where the two are less than {MIN_GAP:g} points apart.",
            "",
            *gap_table(rows, folded),
        ]
    if preset_rows:
        now = data["preset_machine"]
        lines += [
            "## Presets: every method at equal iterations and at equal CPU time",
            "",
            f"Measured on {now['cpu']}, {now['cores']} cores, torch {now['versions']['torch']}, onnxruntime "
            f"{now['versions']['onnxruntime']}, commit {now['commit']}; by `benchmarks/suites/cifar/presets.py` (its "
            "docstring has the commands). Each preset runs as shipped except n_iter, n_images and seed. Equal CPU "
            "time: the iterations that cost what mct (the default) costs at the equal-iteration count. "
            "`generator+mct`: mct started from the samples of the generator preset's trained generator, both at "
            "that many iterations, timed together. The sets were generated over several sessions; refactors in "
            "between were checked to leave the images byte-identical, and the deepinversion rows are its setting "
            "0 (two resolutions, Adam betas 0.5/0.9; commit 226035a).",
            "",
            *presets_tables(preset_rows),
        ]
    if backend_rows:
        lines += [
            "## Engines: torch and ort-training on the same settings",
            "",
            "`benchmarks/suites/cifar/engines.py`: both engines generate in the ort-training environment "
            f"(onnxruntime-training {next(r for r in backend_rows if r['kind'] == 'engine').get('onnxruntime')}), "
            "quantization and scoring run in the main one, as for every other table. The mct preset at per-batch "
            "granularity, one thread per engine, each in its own process. Cells: E1 / E3 (%).",
            "",
            *backends_table(backend_rows),
        ]
    lines += [
        "## Generation speed and memory (datagen and MCT in the same run, one after the other)",
        "",
        "Wall time of the generator call alone; peak RSS of the whole process (each run in its own process).",
        "",
        *timing_table(rows),
        notes,
    ]
    return "\n".join(lines).rstrip() + "\n"
