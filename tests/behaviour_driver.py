"""Runs every preset on the digits model through the CLI of the checkout it is started in, and prints the
SHA-256 of each cell's images.npy (or the kind of error the cell is refused with) as JSON.

    python tests/behaviour_driver.py ENGINE       # ENGINE: torch or ort-training

tests/test_behaviour_unchanged.py runs it in the current checkout and in a baseline commit's, on the same
machine, and compares: a refactor must leave every byte of every preset's images as it was.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from pathlib import Path

from onnx_datagen.cli.main import cli

from onnx_datagen.errors import UserError

MODEL = Path(__file__).resolve().parents[1] / "models" / "digits_cnn.onnx"
GRANULARITIES = ("preset", "per-batch", "all-images")  # "preset": the preset's own (per-image for zeroq, dsg)
PRESETS = ("deepinversion", "dgh", "dsg", "fractal", "generator", "genie", "mct", "prior", "zeroq")
# Small enough for CI, large enough to cross a batch boundary and run the schedules and the init.
SIZE = ["-n", "4", "--batch-size", "2", "--n-iter", "3", "--threads", "1", "--seed", "3"]
DIGITS = ["--mean", "0.3", "--std", "0.32"]


def cell(engine: str, preset: str, granularity: str, out: Path) -> str:
    args = ["generate", str(MODEL), "--preset", preset, *SIZE, *DIGITS, "--format", "npy", "-q", "-o", str(out)]
    if preset != "fractal":  # fractal images see neither engine nor statistics
        args += ["--backend", engine]
    if preset != "fractal" and granularity != "preset":
        args += ["--granularity", granularity]
    try:
        cli.main(args, standalone_mode=False)
    except UserError as err:  # which cells are refused is behaviour; the wording of the reason may improve
        return f"refused: {type(err).__name__}"
    return hashlib.sha256((out / "images.npy").read_bytes()).hexdigest()


def main(engine: str) -> dict[str, str]:
    record = {}
    with tempfile.TemporaryDirectory() as tmp:
        for preset in PRESETS:
            for granularity in GRANULARITIES:
                key = f"{engine}/{preset}/{granularity}"
                record[key] = cell(engine, preset, granularity, Path(tmp) / key.replace("/", "-"))
    return record


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1]), indent=1, sort_keys=True))
