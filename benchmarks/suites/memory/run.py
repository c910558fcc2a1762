"""Peak memory of `datagen generate` against the number of images, on CIFAR ResNet-20 (3x32x32).

The optimisation holds one group (about 1024 images) at a time and the formats are written in chunks
from one stacked file, so peak RSS should not grow with -n. Each size runs in a fresh process, whose
peak RSS (the whole process: Python, torch, the model) the harness's child runner reads. Two modes: BN
inversion with one optimiser iteration per image (the whole pipeline, kept short), and fractal images
(no optimisation: the group files, stacking and format writing alone).

    python -m benchmarks.suites.memory.run --shared-data ../shared/data             # writes MEMORY.md and memory.json
    python -m benchmarks.suites.memory.run --shared-data ../shared/data --python OTHER_ENV/bin/python --label before
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from benchmarks.harness import paths
from benchmarks.harness.child import run_child
from benchmarks.harness.options import add_options, numbers
from benchmarks.harness.results import load_result, publish, save_result
from benchmarks.suites.memory import render
from benchmarks.suites.memory.render import NAME

MODES = {"bn-inversion": ["--n-iter", "1"], "fractal": ["--preset", "fractal"]}


def measure(python: str, model: Path, mode: str, n_images: int, formats: str, out: Path) -> dict:
    command = [python, "-m", "onnx_datagen.cli.main", "generate", str(model), "--normalization", "imagenet"]
    command += [*MODES[mode], "-n", str(n_images), "--format", formats, "--threads", "2", "-q", "-o", str(out)]
    done = run_child(command, capture=False)
    written = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return {
        "n_images": n_images,
        "peak_rss_mib": round(done.peak_rss_gb * 1024, 1),
        "seconds": round(done.wall_s, 1),
        "written_mb": round(written / 1e6, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_options(parser, shared_data=None)
    parser.add_argument("--python", default=sys.executable, help="the interpreter whose datagen is measured")
    parser.add_argument("--label", default="this commit")
    parser.add_argument("--formats", default="npy,png")
    parser.add_argument("--modes", default=",".join(MODES), help=f"comma-separated, of {', '.join(MODES)}")
    parser.add_argument("--sizes", type=numbers, default=[1000, 20000], help="dataset sizes, comma-separated")
    args = parser.parse_args()
    from benchmarks.models.cifar_resnet import export, load

    results = load_result(NAME)["data"] if (paths.RESULTS / f"{NAME}.json").exists() else {"runs": {}}
    with tempfile.TemporaryDirectory() as work:
        model = export(load(args.shared_data / "resnet20-12fca82f.th", 20), Path(work) / "resnet20.onnx")
        runs = results["runs"].setdefault(args.label, {})
        for mode in args.modes.split(","):
            runs[mode] = []
            for n in args.sizes:
                runs[mode].append(measure(args.python, model, mode, n, args.formats, Path(work) / f"{mode}{n}"))
                print(mode, runs[mode][-1], flush=True)
    publish(render, save_result(NAME, results))


if __name__ == "__main__":
    main()
