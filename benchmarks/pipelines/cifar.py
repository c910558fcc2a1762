"""The CIFAR calibration pipeline the CIFAR suites share (calibration, presets, backends, tails): calibration sets made
by generate_worker in their own processes, quantized with ORT and scored on E1/E2/E3, results kept in results.jsonl."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.harness.child import ChildRun, run_child

# id -> (onnx_datagen QuantSettings kwargs, or "nncf")
QUANTIZERS = {
    "W8A4 Pct": {"activation_type": "uint4", "method": "percentile", "percentile": 99.999},
    "W8A4 MinMax": {"activation_type": "uint4", "method": "minmax"},
    "W8A8 MinMax": {"method": "minmax"},
    "W8A8 Pct": {"method": "percentile", "percentile": 99.999},
    "W4A8 MinMax": {"weight_type": "int4", "method": "minmax"},
    "NNCF INT8": "nncf",
}


REAL_CALIB = slice(9488, 10000)


def log(*parts) -> None:
    print(time.strftime("%H:%M:%S"), *parts, flush=True)


class Results:
    """results.jsonl: one JSON object per line, keyed by its `key`; the file is the cache."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows = {}
        if path.exists():
            for line in path.read_text().splitlines():
                if line.strip():
                    row = json.loads(line)
                    self.rows[row["key"]] = row

    def get(self, key: str) -> dict | None:
        return self.rows.get(key)

    def add(self, row: dict) -> None:
        self.rows[row["key"]] = row
        with self.path.open("a") as f:
            f.write(json.dumps(row) + "\n")


def run_worker(args, generator: str, onnx_path: Path, seed: int, out: Path, report: Path, *options: str,
               python: str = sys.executable) -> None:  # fmt: skip
    """One generated set by benchmarks/workers/generate.py, in its own process (so wall time and peak memory are its
    own): images to `out`, timing to `report`, with the process's peak RSS from the harness's child runner. `options`
    are the generator's further worker options."""
    log(f"generating {out.stem} ...")
    command = [
        python, "-m", "benchmarks.workers.generate", generator,
        "--depth", str(args.depth), "--onnx", str(onnx_path), "--shared-data", str(args.shared_data),
        "--seed", str(seed), "--n-images", str(args.n_images), "--threads", str(args.threads),
        "--out", str(out), "--report", str(report), *options,
    ]  # fmt: skip
    with_peak_rss(report, run_child(command))


def with_peak_rss(report: Path, done: ChildRun) -> dict:
    """Add the child's peak RSS (MiB) to the JSON report it wrote; return the report."""
    row = {**json.loads(report.read_text()), "peak_rss_mib": done.peak_rss_gb * 1024}
    report.write_text(json.dumps(row, indent=2) + "\n")
    return row


def generated_set(args, work: Path, onnx_path: Path, generator: str, seed: int, results: Results) -> np.ndarray:
    variant = f"-{args.granularity}" if args.granularity and generator == "datagen" else ""
    if args.datagen_label and generator == "datagen":
        variant += f"-{args.datagen_label}"
    stem = f"R{args.depth}_{generator}{variant}_s{seed}_n{args.n_images}_it{args.n_iter}"
    out, report = work / f"{stem}.npy", work / f"{stem}.json"
    if not out.exists():
        extra = ["--granularity", args.granularity] if args.granularity and generator == "datagen" else []
        if args.datagen_config and generator == "datagen":
            extra += ["--config-json", args.datagen_config]
        run_worker(args, generator, onnx_path, seed, out, report,
                   "--n-iter", str(args.n_iter), "--batch-size", str(args.batch_size), *extra)  # fmt: skip
        timing = json.loads(report.read_text())
        results.add({"key": f"time|R{args.depth}|{generator}{variant}|{seed}", "kind": "timing", **timing})
        speed = timing["images_x_iterations_per_second"]
        log(f"  {generator}: {timing['generate_seconds']:.0f} s, {speed:.1f} images x iterations / s")
    return np.load(out)


def quantize_set(name: str, spec, images: np.ndarray, onnx_path: Path, work: Path) -> Path:
    out = work / "quantized" / f"{onnx_path.stem}_{name}_{spec_id(spec)}.onnx".replace(" ", "_")
    out.parent.mkdir(exist_ok=True)
    if spec == "nncf":
        import nncf
        import onnx

        model = onnx.load(str(onnx_path))
        dataset = nncf.Dataset(list(images[:, None]), lambda x: {"input": x})
        onnx.save(nncf.quantize(model, dataset), str(out))  # defaults: INT8, subset_size 300
        return out
    from onnx_datagen.quant.quantize import QuantSettings, quantize

    quantize(onnx_path, out, images, QuantSettings(**spec))
    return out


def spec_id(spec) -> str:
    return "nncf" if spec == "nncf" else "_".join(str(v) for v in spec.values())


class Bench:
    """One model's benchmark state: its exports, the evaluation sets and float predictions, the result cache."""

    def __init__(self, args) -> None:
        import onnx

        from benchmarks.models import cifar_resnet
        from onnx_datagen.config.normalization import Normalization
        from onnx_datagen.data.image_sets import load_labelled
        from onnx_datagen.quant.evaluate import compare
        from onnx_datagen.runtime import inference_session, run_batched

        self.args = args
        self.work = work = Path(args.work)
        work.mkdir(parents=True, exist_ok=True)
        self.results = Results(work / "results.jsonl")
        self.kept_path = work / f"resnet{args.depth}.onnx"  # BN kept: BN presets run on it, BN match scored on it
        fold_bn = getattr(args, "fold_bn", False)
        self.onnx_path = work / f"resnet{args.depth}_folded.onnx" if fold_bn else self.kept_path
        model = cifar_resnet.load(Path(args.shared_data) / cifar_resnet.DEPTHS[args.depth], args.depth)
        for path in {self.kept_path, self.onnx_path}:
            if not path.exists():
                cifar_resnet.export(model, path, fold_bn=path != self.kept_path)  # asserts |onnx - torch| < 1e-4

        norm = Normalization.preset("imagenet")
        data = Path(args.shared_data)
        e1 = load_labelled(data / "cifar10_test_lossless_first1017.npz")
        e2 = load_labelled(data / "cifar10_test.npz").subset(*E2_RANGE)
        if args.e2_limit:
            e2 = e2.subset(0, args.e2_limit)
        self.eval_sets = {"E1": (e1.model_input(norm), e1.labels), "E2": (e2.model_input(norm), e2.labels)}
        float_session = inference_session(onnx.load(str(self.onnx_path)), args.threads)
        self.reference = {k: run_batched(float_session, x) for k, (x, _) in self.eval_sets.items()}
        self.results.add(
            {
                "key": f"float|R{args.depth}",
                "kind": "float",
                "depth": args.depth,
                "E1": compare(self.reference["E1"], None, e1.labels).float_top1,
                "E2": compare(self.reference["E2"], None, e2.labels).float_top1,
                "n_E2": len(e2),
            }
        )

    def evaluate(self, name: str, images: np.ndarray, n_iter: int, quantizers: dict = QUANTIZERS) -> None:
        """BN match and every quantizer's E1/E2/E3 for one calibration set (cached by name and n_iter)."""
        import onnx

        from onnx_datagen.engines.torch.engine import bn_match
        from onnx_datagen.quant.evaluate import compare
        from onnx_datagen.runtime import inference_session, run_batched

        depth, results = self.args.depth, self.results
        bn_key = f"bn|R{depth}|{name}|{n_iter}"
        if results.get(bn_key) is None:
            results.add({"key": bn_key, "kind": "bn_match", "depth": depth, "set": name,
                         "bn_match": bn_match(str(self.kept_path), images)})  # fmt: skip
        for qname, spec in quantizers.items():
            key = f"q|R{depth}|{name}|{qname}|{n_iter}"
            if results.get(key) is not None:
                continue
            started = time.perf_counter()
            qpath = quantize_set(name, spec, images, self.onnx_path, self.work)
            session = inference_session(onnx.load(str(qpath)), self.args.threads)
            row = {"key": key, "kind": "quant", "depth": depth, "set": name, "quantizer": qname,
                   "n_calib": len(images), "n_iter": n_iter}  # fmt: skip
            for metric, (x, labels) in self.eval_sets.items():
                report = compare(self.reference[metric], run_batched(session, x), labels)
                row[metric] = report.quantized_top1
                if metric == "E2":
                    row["E3"] = report.top1_agreement
                    row["sqnr_db"] = report.sqnr_db
            results.add(row)
            qpath.unlink()
            log(f"R{depth} {name:10s} {qname:12s} E1 {row['E1']:.2f} E2 {row['E2']:.2f} E3 {row['E3']:.2f} "
                f"({time.perf_counter() - started:.0f} s)")  # fmt: skip


E2_RANGE = (1017, 9488)


TAIL_QUANTIZERS = ("W8A4 Pct", "W8A4 MinMax", "W8A8 MinMax", "NNCF INT8")  # what the tail penalty is scored by
PRESET_QUANTIZERS = {k: QUANTIZERS[k] for k in ("W8A4 Pct", "W8A4 MinMax", "W8A8 MinMax", "W4A8 MinMax")}
