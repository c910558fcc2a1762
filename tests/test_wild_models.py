"""Two real files other people made (tests/wild_models/NOTICE says where from): each is inspected and generated for
with the defaults, and inspect's prediction is what generate does. benchmarks/suites/wild_models/run.py runs the whole
suite."""

import hashlib
import json

import pytest

from onnx_datagen.run.inspect import inspect
from tests.cli.test_cli import run
from tests.conftest import REPO

pytestmark = pytest.mark.environment  # .ci/run reruns these in an unusual caller environment

WILD = REPO / "tests" / "wild_models"
CASES = {
    # Paddle export, opset 11, every weight in a Constant node, 35 BN layers, input [-1, 3, ?, ?]: BN inversion.
    "ppocr_cls_v2.onnx": ("e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c", "ready", "bn-inversion",
                          ["--mean", "0.5", "--std", "0.5", "--size", "48", "192"]),
    # torch 2.4 export, BN folded, dynamic H/W, no class scores: --method auto falls back to prior at 224x224.
    "retinaface.onnx": ("b7a7acab55e104dce6f32cdfff929bd83946da5cd869b9e2e9bdffafd1b7e4a5", "bn-folded", "prior",
                        ["--mean", "104,117,127", "--std", "1", "--pixel-scale", "255"]),
}  # fmt: skip


@pytest.mark.parametrize("name", list(CASES))
def test_wild_file_is_inspected_and_generated_for_as_inspect_predicts(name, tmp_path, capsys):
    sha256, verdict, method, options = CASES[name]
    path = WILD / name
    assert hashlib.sha256(path.read_bytes()).hexdigest() == sha256
    size = tuple(int(v) for v in options[options.index("--size") + 1 :][:2]) if "--size" in options else None
    report = inspect(path, size=size)
    assert (report.verdict, report.method, report.problem) == (verdict, method, None)
    args = ["generate", path, *options, "-n", "4", "--batch-size", "4", "--n-iter", "2", "--format", "npy", "-q"]
    code, _, err = run([*args, "-o", tmp_path / "o"], capsys)
    assert code == 0, err
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["method"] == method
    if method == "bn-inversion":
        assert manifest["model"]["bn_layers"] == 35 and manifest["shape"] == [4, 3, 48, 192]
    else:
        assert manifest["method_choice"] == "auto: bn-folded model, no BN statistics to invert"
        assert manifest["shape"] == [4, 3, 224, 224] and "making 224x224 images" in err


def test_a_wrong_input_normalisation_is_named_from_the_first_bn_layers(tmp_path, capsys):
    """The Paddle text classifier was trained on pixels scaled to -1..1 (its package's (x / 255 - 0.5) / 0.5): its
    first BN layers say so. Raw 0-255 pixels are flagged, in inspect and generate alike; the right options are not."""
    path, size = WILD / "ppocr_cls_v2.onnx", ["--size", "48", "192"]
    code, out, _ = run(["inspect", path, *size], capsys)
    assert code == 0 and "input fit --normalization keras" in out and "warning" not in out
    code, out, _ = run(["inspect", path, *size, "--mean", "0", "--std", "1", "--pixel-scale", "255", "--json"], capsys)
    report = json.loads(out)
    assert report["input_fit"].startswith("--normalization keras") and "far better" in report["input_warning"]
    for options, warned in ((["--normalization", "keras"], False), (["--mean", "0", "--std", "1", "--pixel-scale",
                                                                     "255"], True)):  # fmt: skip
        args = ["generate", path, *size, *options, "-n", "2", "--batch-size", "2", "--n-iter", "1", "--format", "npy"]
        code, _, err = run([*args, "-q", "-o", tmp_path / str(warned)], capsys)
        assert code == 0, err
        check = json.loads((tmp_path / str(warned) / "manifest.json").read_text())["input_check"]
        assert check["best"].startswith("--normalization keras") and (check["warning"] is not None) == warned
        assert ("input normalisation: the model's first BatchNorm layers fit" in err) == warned
