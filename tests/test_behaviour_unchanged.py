"""Every preset's images on the digits model, both engines, each granularity, are byte for byte those of the
baseline commit, run on this machine in this test: a change meant to move code must not move an image.

A change meant to alter images moves BASELINE to its own parent and says so in its commit message.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile

import pytest

from tests.conftest import REPO

# The last commit that changed images on purpose: moments in one pass (rounding) and the vectorised fractal starts
# (before them, 7469dce: the last commit before issue 19's layout refactor).
BASELINE = "259757f5cf3f7a2af15145501b4070a5b8eda60b"
DRIVER = REPO / "tests" / "behaviour_driver.py"
MADE_AT_LEAST = {"torch": 24, "ort-training": 9}  # cells with images at BASELINE; the others are refusals


@pytest.fixture(scope="module")
def baseline_tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("baseline")
    archived = subprocess.run(["git", "-C", str(REPO), "archive", BASELINE], capture_output=True)
    assert archived.returncode == 0, f"this test needs the git history up to {BASELINE}: {archived.stderr!r}"
    with tarfile.open(fileobj=io.BytesIO(archived.stdout)) as tar:
        tar.extractall(root, filter="data")
    for package in ("cli", "exporters"):  # installed inside onnx_datagen (pyproject's package-dir)
        (root / "onnx_datagen" / package).symlink_to(root / package, target_is_directory=True)
    return root


def images_record(tree, engine: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run([sys.executable, str(DRIVER), engine], env=env, cwd=tree, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.mark.parametrize("engine", ["torch", pytest.param("ort-training", marks=pytest.mark.ort_training)])
def test_every_preset_makes_the_bytes_the_baseline_made(baseline_tree, engine):
    before = images_record(baseline_tree, engine)
    after = images_record(REPO, engine)
    made = [key for key, value in after.items() if not value.startswith("refused")]
    assert len(made) >= MADE_AT_LEAST[engine], after  # a driver that refuses everything proves nothing
    assert after == before
