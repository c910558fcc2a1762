"""Broken ONNX files through `inspect` and a tiny `generate`, as a user would run them: never a traceback, never a hang,
never a dataset marked complete that is wrong, a one-line error when refused, and `inspect` predicting `generate`.

Cases are seeded mutations (tests/fuzz/mutations.py) of the embedded digits model and the small test models; case k
replays from k alone. CI runs DEFAULT_CASES; `DATAGEN_FUZZ_CASES=5000 pytest -m fuzz` runs more, and
`DATAGEN_FUZZ_CORPUS=DIR` adds every .onnx file in DIR (a corpus of broken files kept elsewhere).
"""

from __future__ import annotations

import json
import os
import signal
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx_datagen.cli.main import main

from tests.conftest import DIGITS_MODEL, bn_model
from tests.fuzz.mutations import mutate

pytestmark = pytest.mark.fuzz
DEFAULT_CASES = 240
CASE_SECONDS = 120  # a tiny generate takes about a second: anything near this is a hang
BASES = {
    "digits": lambda: onnx.load(str(DIGITS_MODEL)),
    "bn": lambda: bn_model(),
    "bn_folded": lambda: bn_model(folded=True),
    "bn_constants_opset11": lambda: bn_model(stats_as_constants=True, opset=11),
}
NORMALIZATION = ["--mean", "0.5", "--std", "0.25"]  # one value: any channel count takes it
GENERATE = ["-n", "2", "--batch-size", "2", "--n-iter", "1", "--format", "npy", "-q", *NORMALIZATION]


class Hang(Exception):
    pass


@contextmanager
def deadline(seconds: int):
    def expire(signum, frame):
        raise Hang(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def cases() -> list[str]:
    count = int(os.environ.get("DATAGEN_FUZZ_CASES", DEFAULT_CASES))
    found = [f"seed:{k}" for k in range(count)]
    corpus = os.environ.get("DATAGEN_FUZZ_CORPUS")
    if corpus:
        found += [f"file:{p}" for p in sorted(Path(corpus).rglob("*.onnx"))]
    return found


def broken_file(case: str, folder: Path) -> tuple[str, Path]:
    """(what was done, the file) for a case id."""
    if case.startswith("file:"):
        return "corpus file", Path(case[5:])
    seed = int(case.split(":")[1])
    base = sorted(BASES)[seed % len(BASES)]
    applied, result = mutate(BASES[base](), seed)
    path = folder / "broken.onnx"
    path.write_bytes(result if isinstance(result, bytes) else result.SerializeToString())
    return f"{base} + {', '.join(applied) or 'nothing'}", path


def run(args, capsys) -> tuple[int, str, str]:
    with deadline(CASE_SECONDS):
        code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def refused_in_one_line(code: int, err: str) -> bool:
    """Exit 1 (or 2, a usage error) and the last line one datagen error; notes may come before it."""
    lines = [line for line in err.splitlines() if line.strip()]
    return (
        code in (1, 2)
        and bool(lines)
        and lines[-1].startswith(("datagen: error:", "Error:"))
        and not any("Traceback" in line for line in lines)
    )


@pytest.mark.parametrize("case", cases())
def test_broken_file_is_handled_or_refused_in_one_line(case, tmp_path, capsys):
    what, path = broken_file(case, tmp_path)
    code, out, err = run(["inspect", path, "--json", *NORMALIZATION], capsys)
    assert code == 0 or refused_in_one_line(code, err), f"{what}: inspect exit {code}: {err[-2000:]}"
    predicted = json.loads(out)["method"] if code == 0 else None

    target = tmp_path / "calib"
    code, _, err = run(["generate", path, *GENERATE, "-o", target], capsys)
    assert code == 0 or refused_in_one_line(code, err), f"{what}: generate exit {code}: {err[-2000:]}"
    manifest_path = target / "manifest.json"
    if code == 0:
        manifest = json.loads(manifest_path.read_text())
        images = np.load(target / manifest["files"]["npy"][0])
        assert manifest["status"] == "complete" and images.shape[0] == 2, what
        assert np.isfinite(images).all(), f"{what}: a complete dataset with non-finite images"
    else:
        complete = manifest_path.is_file() and json.loads(manifest_path.read_text()).get("status") == "complete"
        assert not complete, f"{what}: refused, yet a manifest says complete"
    if predicted is not None:  # inspect's `method` means: generate takes this file
        assert code == 0, f"{what}: inspect predicted --method {predicted}, generate refused: {err.strip()}"
