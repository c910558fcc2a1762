"""The ImageNet pipeline the ImageNet suites and probes share: the photos split into calibration and held-out sets, the
quantizers, noise baselines, generators run in their own processes, and the scored rows (Bench)."""

from __future__ import annotations

import argparse
import json
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.harness.child import run_child
from benchmarks.harness.options import REQUIRED, add_options
from benchmarks.models.imagenet import IMAGENET, MODELS
from benchmarks.models.mobilenet_v2 import weights_file

LABELLED = "imagenet_val_sample_200_224.npz"


QUANTIZERS = {  # name -> onnx_datagen QuantSettings kwargs, or "nncf"
    "ORT W8A8 MinMax": {"method": "minmax"},
    "ORT W8A8 Pct": {"method": "percentile", "percentile": 99.999},
    "NNCF INT8": "nncf",
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def run_generator(kind: str, arguments: list[str]) -> dict:
    """Run a generator of benchmarks.workers.imagenet in a fresh process: its JSON report with its wall time, CPU time
    and peak RSS; a run the kernel killed (out of memory) is a row that says so."""
    done = run_child([sys.executable, "-m", "benchmarks.workers.imagenet", kind, *arguments], check=False)
    if done.returncode < 0:
        report = {"refused": f"killed by signal {-done.returncode}"}
    elif done.returncode:
        raise SystemExit(f"generator failed: {arguments}")
    else:
        report = json.loads(done.stdout.strip().splitlines()[-1])
    return {**report, "wall_s": done.wall_s, "cpu_s": done.cpu_s, "peak_rss_gb": done.peak_rss_gb}


# ------------------------------------------------------------------------------------------------- scoring
class Bench:
    def __init__(self, args) -> None:
        import onnx

        from onnx_datagen.runtime import inference_session, run_batched

        self.args, self.work = args, Path(args.work)
        self.work.mkdir(parents=True, exist_ok=True)
        self.network = MODELS[getattr(args, "model", "mobilenet_v2")]
        self.model = self.network.onnx(self.work)
        self.weights = weights_file(self.work) if self.network.mct else None
        norm = self.network.normalization
        calib, heldout = split_images(self.work, Path(args.shared_data), args.n_real, 1000 - args.n_real)
        self.real_pool = normalise(np.load(calib)["images"], norm)
        self.heldout = normalise(np.load(heldout)["images"], norm)
        labelled = np.load(Path(args.shared_data) / LABELLED)
        self.labelled, self.labels = normalise(labelled["images"], norm), labelled["labels"]
        model = onnx.load(str(self.model))
        self.input_name = model.graph.input[0].name  # "input" in the legacy exports, "x" in the dynamo ones
        session = inference_session(model, args.threads)
        self.reference_heldout = run_batched(session, self.heldout)
        self.reference_labelled = run_batched(session, self.labelled)
        self.results_file = self.work / "results.jsonl"
        self.results = {}
        if self.results_file.exists():
            for line in self.results_file.read_text().splitlines():
                row = json.loads(line)
                self.results[row["key"]] = row

    def add(self, row: dict) -> dict:
        self.results[row["key"]] = row
        with self.results_file.open("a") as f:
            f.write(json.dumps(row) + "\n")
        return row

    def float_row(self) -> dict:
        top1 = float((self.reference_labelled.argmax(1) == self.labels).mean() * 100)
        return {"top1": top1, "n_heldout": len(self.heldout), "n_labelled": len(self.labels)}

    def quantize(self, images: np.ndarray, spec, out: Path) -> None:
        if spec == "nncf":
            import nncf
            import onnx

            dataset = nncf.Dataset(list(images[:, None]), lambda x: {self.input_name: x})
            onnx.save(nncf.quantize(onnx.load(str(self.model)), dataset, subset_size=len(images)), str(out))
            return
        from onnx_datagen.quant.quantize import QuantSettings, quantize

        # ORT keeps every calibration batch's activations until it computes ranges: above 256 images, in chunks
        chunks = {"chunk_batches": 4} if len(images) > 256 else {}
        quantize(self.model, out, images, QuantSettings(**spec, **chunks))

    def score(self, name: str, images: np.ndarray, quantizers=tuple(QUANTIZERS)) -> dict:
        """Every quantizer's top-1 (labelled), agreement and SQNR (held-out) for one calibration set (cached)."""
        import onnx

        from onnx_datagen.quant.evaluate import compare
        from onnx_datagen.runtime import inference_session, run_batched

        scores = {}
        for qname in quantizers:
            spec = (QUANTIZERS | W8A4_QUANTIZERS)[qname]
            key = f"score|{name}|{qname}|{len(images)}"
            if key not in self.results:
                with tempfile.TemporaryDirectory(dir=self.work) as tmp:  # one per process: runs may share --work
                    out = Path(tmp) / "quantized.onnx"
                    self.quantize(images, spec, out)
                    session = inference_session(onnx.load(str(out)), self.args.threads)
                held = compare(self.reference_heldout, run_batched(session, self.heldout), None)
                top1 = compare(self.reference_labelled, run_batched(session, self.labelled), self.labels)
                self.add({"key": key, "top1": top1.quantized_top1, "agreement": held.top1_agreement,
                          "sqnr_db": held.sqnr_db})  # fmt: skip
            row = self.results[key]
            scores[qname] = {k: row[k] for k in ("top1", "agreement", "sqnr_db")}
            log(f"  {name:32s} {qname:16s} top-1 {row['top1']:5.1f}  agreement {row['agreement']:5.1f}  "
                f"SQNR {row['sqnr_db']:5.2f} dB")  # fmt: skip
        return scores

    # ------------------------------------------------------------------------------------------ sets
    def generated(self, name: str, n: int, make) -> tuple[np.ndarray, dict]:
        """A generated set of n images, made once by `make(out_path)` (a child-process report) and cached."""
        out = self.work / "sets" / f"{name.replace(' ', '_')}_{n}.npy"
        key = f"set|{name}|{n}"
        if key not in self.results or ("refused" not in self.results[key] and not out.exists()):
            out.parent.mkdir(exist_ok=True)
            log(f"generate {name}")
            report = make(out)
            if "refused" in report:
                log(f"  refused: {report['refused']}")
                self.add({"key": key, **report})
                return None, report
            self.add({"key": key, "n_images": len(np.load(out, mmap_mode="r")), **report})
            log(f"  {report['wall_s']:.0f} s wall, {report['n_iter']} iterations, peak RSS "
                f"{report['peak_rss_gb']:.2f} GB")  # fmt: skip
        report = self.results[key]
        return (None, report) if "refused" in report else (np.load(out), report)

    def datagen(self, name: str, spec: dict, n: int) -> tuple[np.ndarray, dict]:
        arguments = [str(self.model), str(n), json.dumps({"normalization": self.network.normalization, **spec})]
        threads = str(self.args.threads)
        return self.generated(name, n, lambda out: run_generator("datagen", [*arguments, str(out), threads]))

    def mct(self, name: str, n: int, n_iter: int) -> tuple[np.ndarray, dict]:
        if self.weights is None:
            raise SystemExit(f"Sony MCT runs on torchvision's MobileNetV2 only, not {self.args.model}")
        arguments = [str(self.weights), str(n), str(n_iter)]
        return self.generated(
            name, n, lambda out: run_generator("mct", [*arguments, str(out), str(self.args.threads), "0"])
        )


def noise_sets(n: int, shape: tuple[int, ...], norm: dict = IMAGENET) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    mean, std = (np.array(norm[k], dtype=np.float32)[:, None, None] for k in ("mean", "std"))
    uniform = (rng.uniform(0, 1, (n, *shape)).astype(np.float32) - mean) / std
    return {"gaussian": rng.standard_normal((n, *shape), dtype=np.float32), "uniform": uniform}


TAR = "imagenet_natural_1000_256.tar"


SPLIT_SEED = 0


# ---------------------------------------------------------------------------------------------- images
def normalise(pixels: np.ndarray, norm: dict = IMAGENET) -> np.ndarray:
    """N x H x W x 3 uint8 RGB photos -> N x 3 x H x W model input under `norm` (mean/std on 0-1 pixels)."""
    mean = np.array(norm["mean"], dtype=np.float32)
    std = np.array(norm["std"], dtype=np.float32)
    return ((pixels.astype(np.float32) / 255.0 - mean) / std).transpose(0, 3, 1, 2).copy()


def split_images(work: Path, shared: Path, n_calib: int, n_heldout: int) -> tuple[Path, Path]:
    calib, heldout = work / "real_calib.npz", work / "heldout.npz"
    if calib.is_file() and heldout.is_file():
        return calib, heldout
    from PIL import Image

    with tarfile.open(shared / TAR) as archive:
        members = sorted((m for m in archive.getmembers() if m.isfile()), key=lambda m: m.name)
        order = np.random.default_rng(SPLIT_SEED).permutation(len(members))
        chosen = [members[i] for i in order[: n_calib + n_heldout]]
        off = (256 - SIZE) // 2
        pixels = []
        for member in chosen:
            image = np.asarray(Image.open(archive.extractfile(member)).convert("RGB"))
            assert image.shape == (256, 256, 3), (member.name, image.shape)
            pixels.append(image[off : off + SIZE, off : off + SIZE])
    pixels = np.stack(pixels)
    names = np.array([Path(m.name).name for m in chosen])
    np.savez(calib, images=pixels[:n_calib], names=names[:n_calib])
    np.savez(heldout, images=pixels[n_calib:], names=names[n_calib:])
    return calib, heldout


# Scored only when --quantizers names them (exploration): 4-bit activations, per-tensor, as on the CIFAR ResNets
W8A4_QUANTIZERS = {
    "ORT W8A4 MinMax": {"activation_type": "uint4", "method": "minmax"},
    "ORT W8A4 Pct": {"activation_type": "uint4", "method": "percentile", "percentile": 99.999},
}


SIZE = 224


# ------------------------------------------------------------------- the suite's cache, read by the probes
def cached_sets_arguments(description: str, positionals: tuple[str, ...] = ()) -> argparse.Namespace:
    """--work (the ImageNet suite's), --shared-data, --n-images (the set size), --n-real (its split), after
    the script's own positional arguments."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name in positionals:
        parser.add_argument(name)
    add_options(parser, work=REQUIRED, shared_data=None, n_images=64)
    parser.add_argument("--n-real", type=int, default=256, help="the ImageNet suite's --n-real (its split)")
    return parser.parse_args()


def cached_sets(args: argparse.Namespace) -> dict[str, np.ndarray]:
    """The first --n-images real photos ("real"), the next as many, and every set the ImageNet suite cached at
    that size (its name with spaces for underscores)."""
    work, n = Path(args.work), args.n_images
    calib, _ = split_images(work, Path(args.shared_data), args.n_real, 1000 - args.n_real)
    pool = normalise(np.load(calib)["images"])
    sets = {"real": pool[:n], f"real, photos {n}-{2 * n - 1}": pool[n : 2 * n]}
    for path in sorted((work / "sets").glob(f"*_{n}.npy")):
        sets[path.stem[: -len(f"_{n}")].replace("_", " ")] = np.load(path)
    return sets


def cached_scores(args: argparse.Namespace) -> dict[tuple[str, str], float]:
    """(set name, quantizer) -> agreement with the float model, from the ImageNet suite's results.jsonl."""
    scores = {}
    for line in (Path(args.work) / "results.jsonl").read_text().splitlines():
        row = json.loads(line)
        if row["key"].startswith("score|") and row["key"].endswith(f"|{args.n_images}"):
            _, name, quantizer, _ = row["key"].split("|")
            scores[(name.replace("_", " "), quantizer)] = row["agreement"]
    return scores
