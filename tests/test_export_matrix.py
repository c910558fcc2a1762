"""Every export people make, on the graph patterns real models carry (tests/export_zoo.py; table in
docs/export-matrix.md): the verdict is right, BN inversion runs where BN is kept and the fractal preset where
it is folded, and the converted torch module computes what ONNX Runtime computes on the file as exported.
"""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import torch

from onnx_datagen.config.choices import Precision
from onnx_datagen.engines.torch.engine import TorchModel
from onnx_datagen.graph.prepare import prepare_model
from onnx_datagen.run.inspect import inspect
from tests.cli.test_cli import run
from tests.conftest import ort_run
from tests.export_zoo import EXPORTS, MODELS, SIZE, build, export

CELLS = [(model, how) for model in MODELS for how in EXPORTS]
# The converted module against ORT on the original file: both fp32 over a few dozen ops, so differences are
# kernel rounding, a few float32 ulps of values of order 1 (measured: at most 3e-6 on these cells).
ATOL = 1e-5


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Export each cell once, on first use."""
    root, cache = tmp_path_factory.mktemp("matrix"), {}

    def get(model: str, how) -> str:
        if (model, how) not in cache:
            cache[model, how] = str(export(build(model), how, root / f"{model}-{how.name}.onnx"))
        return cache[model, how]

    return get


@pytest.mark.parametrize(("model", "how"), CELLS, ids=[f"{m}-{h.name}" for m, h in CELLS])
def test_export_cell(exported, model, how, tmp_path, capsys):
    path = exported(model, how)
    report = inspect(path)
    assert report.verdict == ("ready" if how.bn_kept else "bn-folded"), report.problem
    assert report.method == ("bn-inversion" if how.bn_kept else "prior")  # what generate below runs
    capsys.readouterr()  # inspect's own notes
    # The converted module (the torch engine's view of the file) against ONNX Runtime on the file as exported.
    prepared = prepare_model(path, use_bn=how.bn_kept)
    x = np.random.default_rng(0).standard_normal((3, 3, SIZE, SIZE)).astype(np.float32)
    expected = ort_run(onnx.load(path), {prepared.image.name: x})
    with torch.no_grad():
        outputs = TorchModel(prepared, "cpu", Precision.FP32)(torch.from_numpy(x)).outputs
    assert len(outputs) == len(expected)
    for got, want in zip(outputs, expected):
        np.testing.assert_allclose(got.numpy(), want, atol=ATOL, rtol=0)
    args = ["generate", path, "--n-iter", "2", "--batch-size", "4", "-n", "4", "--format", "npy", "-q"]
    code, _, err = run([*args, "-o", tmp_path / "o"], capsys)
    assert code == 0, err
    assert json.loads((tmp_path / "o" / "manifest.json").read_text())["method"] == report.method
    # Nothing from a library; the notes of models without class scores (their output term is off) and of folded
    # models (--method auto's choice).
    notes = ("is off for this model", "no model in the loop)")
    assert all(line.startswith("note: ") and line.endswith(notes) for line in err.splitlines()), err
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["shape"] == [4, 3, SIZE, SIZE]
    if how.bn_kept:
        assert manifest["model"]["bn_layers"] == len(report.bn_layers) > 0
