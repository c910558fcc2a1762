"""The package's layers, read from the code: no import circle, no import from a lower layer to a higher one, and
function-local imports only where they defer a heavy package (numerics, runtimes, optional engines).

Every `import` counts, at module level and inside functions; only `if TYPE_CHECKING:` blocks, which never run, do
not.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import REPO

# Installed names -> folders (pyproject's package-dir).
ROOTS = {
    "onnx_datagen": REPO / "onnx_datagen",
    "onnx_datagen.cli": REPO / "cli",
    "onnx_datagen.exporters": REPO / "exporters",
}
# Bottom to top: a module may import its own layer and the ones before it. The base is the package's root modules.
LAYERS = [
    "base",
    "config",
    "exporters",
    "data",
    "graph",
    "objective",
    "images",
    "engines",
    "methods",
    "run",
    "quant",
    "cli",
]
# Loaded only when needed: `datagen --help` must not pay for them (tests/test_packaging.py).
HEAVY = {"numpy", "onnx", "onnxruntime", "onnxscript", "torch", "onnx2torch", "cv2", "yaml", "ray", "openvino", "nncf"}


@dataclass(frozen=True)
class Import:
    source: str
    target: str  # one of our modules, or a third-party top-level package
    local: bool  # inside a function
    line: int


def _modules() -> dict[str, Path]:
    modules = {}
    for package, root in ROOTS.items():
        for path in root.rglob("*.py"):
            parts = [p for p in path.relative_to(root).with_suffix("").parts if p != "__init__"]
            modules[".".join([package, *parts])] = path
    return modules


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(modules: dict[str, Path]) -> list[Import]:
    found = []
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]

        def visit(node: ast.AST, local: bool, name: str = name, package: str = package) -> None:
            for child in ast.iter_child_nodes(node):
                if _is_type_checking(child):
                    continue
                inner = local or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
                targets = []
                if isinstance(child, ast.Import):
                    targets = [alias.name for alias in child.names]
                elif isinstance(child, ast.ImportFrom):
                    base = child.module or ""
                    if child.level:
                        base = ".".join([*package.split(".")[: len(package.split(".")) - child.level + 1], base]).strip(
                            "."
                        )
                    targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in child.names]
                for target in targets:
                    if target not in modules:
                        target = target.split(".")[0]
                    if target != name:
                        found.append(Import(name, target, inner, child.lineno))
                visit(child, inner)

        visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return found


def layer(module: str) -> int:
    for prefix in ("onnx_datagen.cli", "onnx_datagen.exporters"):
        if module == prefix or module.startswith(prefix + "."):
            return LAYERS.index(prefix.rpartition(".")[2])
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 2 and parts[1] in LAYERS else LAYERS.index("base")


MODULES = _modules()
IMPORTS = _imports(MODULES)
OURS = [i for i in IMPORTS if i.target in MODULES]


def _heavy_at_import(module: str, seen: set[str] | None = None) -> set[str]:
    """The heavy packages that importing `module` loads, through module-level imports."""
    seen = set() if seen is None else seen
    if module in seen:
        return set()
    seen.add(module)
    heavy = set()
    for i in IMPORTS:
        if i.source == module and not i.local:
            heavy |= {i.target} & HEAVY if i.target not in MODULES else _heavy_at_import(i.target, seen)
    parent = module.rpartition(".")[0]  # importing a.b.c runs a/__init__ and a/b/__init__ first
    return heavy | (_heavy_at_import(parent, seen) if parent in MODULES else set())


def circles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for i in OURS:
        graph[i.source].add(i.target)
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def test_the_layers_cover_every_folder():
    folders = {p.parent.name for p in (REPO / "onnx_datagen").glob("*/__init__.py")}
    assert folders <= set(LAYERS), folders - set(LAYERS)


def test_no_import_circle():
    assert circles() == []


def test_no_import_from_a_lower_layer_to_a_higher_one():
    upward = [f"{i.source}:{i.line} -> {i.target}" for i in OURS if layer(i.target) > layer(i.source)]
    assert upward == []


def test_function_local_imports_defer_a_heavy_package():
    needless = [
        f"{i.source}:{i.line} -> {i.target}"
        for i in OURS
        if i.local and not _heavy_at_import(i.target) - _heavy_at_import(i.source)
    ]
    assert needless == []


def test_the_checks_see_a_circle_and_an_upward_import():
    """The graph is read right: the CLI imports the run layer, and the run layer imports the engines."""
    assert any(i.source.startswith("onnx_datagen.cli.") and layer(i.target) == LAYERS.index("run") for i in OURS)
    assert any(layer(i.source) == LAYERS.index("run") and layer(i.target) == LAYERS.index("engines") for i in OURS)
    assert "torch" in _heavy_at_import("onnx_datagen.engines.torch.engine")
    assert "numpy" not in _heavy_at_import("onnx_datagen.cli.main")
