"""Peak memory of `datagen generate` against the number of images, on CIFAR ResNet-20 (3x32x32).

The optimisation holds one group (about 1024 images) at a time and the formats are written in chunks
from one stacked file, so peak RSS should not grow with -n. Each size runs in a fresh process, whose
peak RSS (ru_maxrss, the whole process: Python, torch, the model) is read from wait4. Two modes: BN
inversion with one optimiser iteration per image (the whole pipeline, kept short), and fractal images
(no optimisation: the group files, stacking and format writing alone).

    python -m benchmarks.memory --shared-data ../shared/data             # writes MEMORY.md and memory.json
    python -m benchmarks.memory --shared-data ../shared/data --python OTHER_ENV/bin/python --label before
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.harness import RESULTS, cpu_model

SIZES = (1000, 20000)
MODES = {"bn-inversion": ["--n-iter", "1"], "fractal": ["--preset", "fractal"]}


def measure(python: str, model: Path, mode: str, n_images: int, formats: str, out: Path) -> dict:
    command = [python, "-m", "onnx_datagen.cli.main", "generate", str(model), "--normalization", "imagenet"]
    command += [*MODES[mode], "-n", str(n_images), "--format", formats, "--threads", "2", "-q", "-o", str(out)]
    started = time.perf_counter()
    process = subprocess.Popen(command)
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed")
    written = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return {
        "n_images": n_images,
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),  # Linux reports KiB
        "seconds": round(time.perf_counter() - started, 1),
        "written_mb": round(written / 1e6, 1),
    }


def render(results: dict) -> str:
    lines = [
        "# Peak memory against dataset size",
        "",
        "`datagen generate resnet20.onnx --normalization imagenet -n N --format npy,png --threads 2` with",
        "`--n-iter 1` (bn-inversion) or `--preset fractal` (CIFAR ResNet-20, 3x32x32, BN kept), each size in a fresh",
        "process; peak RSS of that process. Wall times are from a shared machine: they say little.",
        f"Regenerate: `python -m benchmarks.memory --shared-data ../shared/data`. CPU: {results['cpu']}.",
        "",
        "| build | mode | images | peak RSS | wall | written |",
        "|---|---|---|---|---|---|",
    ]
    for label, modes in results["runs"].items():
        for mode, rows in modes.items():
            for row in rows:
                lines.append(
                    f"| {label} | {mode} | {row['n_images']} | {row['peak_rss_mib']:.0f} MiB | {row['seconds']:.0f} s "
                    f"| {row['written_mb']:.0f} MB |"
                )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared-data", type=Path, required=True)
    parser.add_argument("--python", default=sys.executable, help="the interpreter whose datagen is measured")
    parser.add_argument("--label", default="this commit")
    parser.add_argument("--formats", default="npy,png")
    parser.add_argument("--modes", default=",".join(MODES), help=f"comma-separated, of {', '.join(MODES)}")
    args = parser.parse_args()
    from benchmarks.cifar_resnet import export, load

    results_path = RESULTS / "memory.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {"runs": {}}
    results["cpu"] = cpu_model()
    with tempfile.TemporaryDirectory() as work:
        model = export(load(args.shared_data / "resnet20-12fca82f.th", 20), Path(work) / "resnet20.onnx")
        runs = results["runs"].setdefault(args.label, {})
        for mode in args.modes.split(","):
            runs[mode] = []
            for n in SIZES:
                runs[mode].append(measure(args.python, model, mode, n, args.formats, Path(work) / f"{mode}{n}"))
                print(mode, runs[mode][-1], flush=True)
    results_path.write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "MEMORY.md").write_text(render(results))


if __name__ == "__main__":
    main()
