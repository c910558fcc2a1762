"""The benchmarks package stays runnable: every module imports, every entry point answers --help, and the modules'
imports of each other form no circle (benchmarks/harness.py is what they share)."""

import ast
import contextlib
import io
import runpy
import sys

import pytest

from tests.conftest import REPO

BENCHMARKS = REPO / "benchmarks"
MODULES = sorted(p.stem for p in BENCHMARKS.glob("*.py") if p.stem != "__init__")


def sibling_imports(module: str) -> set[str]:
    tree = ast.parse((BENCHMARKS / f"{module}.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "benchmarks":
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("benchmarks."):
            found.add(node.module.split(".")[1])
    return found & set(MODULES)


def test_no_module_edits_sys_path_or_imports_a_private_name_of_the_package():
    for module in MODULES:
        text = (BENCHMARKS / f"{module}.py").read_text()
        assert "sys.path" not in text, module
        tree = ast.parse(text)
        private = [a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and (n.module or "").startswith(
            "onnx_datagen") for a in n.names if a.name.startswith("_")]  # fmt: skip
        assert not private, f"{module} imports {private}"


def test_benchmark_modules_import_each_other_without_a_circle():
    graph = {m: sibling_imports(m) for m in MODULES}
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        assert module not in path, " -> ".join([*path[path.index(module) :], module])
        if module in done:
            return
        for target in sorted(graph[module]):
            visit(target, [*path, module])
        done.add(module)

    for module in MODULES:
        visit(module, [])


@pytest.mark.parametrize("module", MODULES)
def test_benchmark_module_imports_and_answers_help(module, monkeypatch):
    monkeypatch.setattr(sys, "argv", [f"benchmarks.{module}", "--help"])
    monkeypatch.chdir(REPO)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as done:
        runpy.run_module(f"benchmarks.{module}", run_name="__main__")
        raise SystemExit(0)  # a module without an entry point (a library of the others) imports and stops here
    assert done.value.code in (0, None), out.getvalue()
