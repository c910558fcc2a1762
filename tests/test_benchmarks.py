"""The benchmarks package stays runnable and layered: every module imports, every entry point answers --help, the
imports form no circle, no suite or probe imports another question, and every results file re-renders byte for byte
from the committed JSON (benchmarks/harness/results.py's schema), so no table lives only in a local cache."""

import ast
import contextlib
import importlib
import io
import runpy
import sys

import pytest

from tests.conftest import REPO

BENCHMARKS = REPO / "benchmarks"
MODULES = sorted(
    ".".join(p.relative_to(REPO).with_suffix("").parts)
    for p in BENCHMARKS.rglob("*.py")
    if p.name != "__init__.py" and "results" not in p.relative_to(BENCHMARKS).parts
)
SHARED = ("harness", "models", "pipelines", "workers")  # layers every question may use
QUESTIONS = ("suites", "probes")  # benchmarks.suites.NAME / benchmarks.probes.NAME: one folder per question


def source(module: str) -> str:
    return (REPO / (module.replace(".", "/") + ".py")).read_text()


def benchmark_imports(module: str) -> set[str]:
    """The benchmarks modules `module` imports (a package import counts as its render/run module when named)."""
    found = set()
    for node in ast.walk(ast.parse(source(module))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("benchmarks"):
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if candidate in MODULES else node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("benchmarks.")}
    return {m for m in found if m in MODULES}


def question(module: str) -> str | None:
    """'suites.imagenet' for benchmarks.suites.imagenet.run; None for the shared layers and the top level."""
    parts = module.split(".")
    return ".".join(parts[1:3]) if len(parts) > 3 and parts[1] in QUESTIONS else None


def test_the_package_has_the_layout_it_documents():
    top = {p.name for p in BENCHMARKS.iterdir() if not p.name.startswith((".", "__"))}
    assert top == {*SHARED, *QUESTIONS, "results", "render.py", "requirements.txt"}, top
    assert not [p for p in (BENCHMARKS / "results").rglob("*") if p.suffix not in (".md", ".json")], "code in results"
    for kind in QUESTIONS:
        for folder in (BENCHMARKS / kind).iterdir():
            if folder.is_dir() and folder.name != "__pycache__":
                assert (folder / "run.py").is_file(), f"{folder} has no run.py"


def test_no_module_edits_sys_path_runs_code_from_strings_or_imports_a_private_name():
    for module in MODULES:
        text = source(module)
        assert "sys.path" not in text, module
        assert '"-c"' not in text and "'-c'" not in text, f"{module} runs Python from a string"
        private = [
            f"{n.module}.{a.name}"
            for n in ast.walk(ast.parse(text))
            if isinstance(n, ast.ImportFrom) and (n.module or "").startswith(("onnx_datagen", "benchmarks"))
            for a in n.names
            if a.name.startswith("_")
        ]
        assert not private, f"{module} imports {private}"


def test_benchmark_modules_import_each_other_without_a_circle():
    graph = {m: benchmark_imports(m) for m in MODULES}
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


def test_questions_use_only_the_shared_layers_and_their_own_folder():
    for module in MODULES:
        own = question(module)
        for target in benchmark_imports(module):
            layer = target.split(".")[1]
            if module == "benchmarks.render":  # the one module that gathers every question's render
                assert target.endswith(".render") or layer in SHARED, target
            elif own is not None:
                assert layer in SHARED or question(target) == own, f"{module} imports {target}"
            else:  # a shared layer: nothing above it, and the harness nothing but itself
                assert layer in SHARED, f"{module} (shared) imports {target}"
                assert module.split(".")[1] != "harness" or layer == "harness", f"{module} imports {target}"


def test_every_results_file_re_renders_from_the_committed_json(monkeypatch):
    from benchmarks.harness import paths
    from benchmarks.render import rendered

    monkeypatch.setattr(paths, "RESULTS", paths.COMMITTED)  # whatever BENCH_RESULTS the caller set
    texts = rendered()
    assert set(texts) == {p.name for p in paths.COMMITTED.glob("*.md")} - {"results_notes.md"}
    for name, text in texts.items():
        assert (paths.COMMITTED / name).read_text() == text, f"{name} differs from its JSON"


@pytest.mark.parametrize("module", MODULES)
def test_benchmark_module_imports_and_answers_help(module, monkeypatch):
    importlib.import_module(module)
    if 'if __name__ == "__main__":' not in source(module):
        return  # a library of the others: importing it is the check
    monkeypatch.setattr(sys, "argv", [module, "--help"])
    monkeypatch.chdir(REPO)
    monkeypatch.delitem(sys.modules, module)  # run as __main__ in a fresh namespace, as `python -m` does
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            runpy.run_module(module, run_name="__main__")
        except SystemExit as done:  # argparse's --help exits 0
            assert done.code in (0, None), out.getvalue()
    assert "usage:" in out.getvalue() or "python -m" in out.getvalue(), out.getvalue()
