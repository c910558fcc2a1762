"""Import cost and install layout: `datagen --help` loads no numerics; no bare `cli`/`exporters` packages."""

import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

from tests.conftest import REPO

HEAVY = ["torch", "onnx", "onnxruntime", "onnx2torch", "numpy", "cv2", "yaml", "ray"]
COMMANDS = ["generate", "inspect", "export", "merge", "batch"]


@pytest.mark.parametrize("command", [["--help"]] + [[name, "--help"] for name in COMMANDS])
def test_help_imports_no_heavy_module(command, tmp_path):
    code = (
        f"import sys; from onnx_datagen.cli.main import main; rc = main({command!r}); "
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]; print(heavy); sys.exit(rc or bool(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_installed_names_live_in_our_namespace(tmp_path):
    code = (
        "import importlib.util as u; import onnx_datagen.cli, onnx_datagen.exporters; "
        "print(u.find_spec('cli'), u.find_spec('exporters'))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "None None"


def test_console_script_runs():
    bin_dir = Path(sys.executable).parent
    result = subprocess.run([str(bin_dir / "datagen"), "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and "datagen" in result.stdout


def test_every_package_is_listed_in_pyproject():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    mapping = config["package-dir"]
    found = set()
    for name, folder in mapping.items():
        for init in (REPO / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(REPO / folder).parts
            found.add(".".join((name, *rel)))
    assert found == listed
