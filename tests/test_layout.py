"""The package's layout: no module imports one that imports it back, and each floor of the pipeline imports
only the floors below it (docs/ARCHITECTURE.md draws them)."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parent.parent
# directory -> package it installs as (pyproject.toml maps rules/ and lowering/ into the package)
SOURCES = {ROOT / "tteqsat": "tteqsat", ROOT / "rules": "tteqsat.rules", ROOT / "lowering": "tteqsat.lowering"}

# Floors, bottom up. A module may import its own floor's modules and any floor below, never one above.
FLOORS = (
    ("tteqsat.errors", "tteqsat.arch"),
    ("tteqsat.frontend",),
    ("tteqsat.egraph", "tteqsat.rules"),
    ("tteqsat.rulecheck",),
    ("tteqsat.cost",),
    ("tteqsat.extraction",),
    ("tteqsat.scheduling",),
    ("tteqsat.mlir_text",),
    ("tteqsat.lowering", "tteqsat.sim"),
    ("tteqsat.pipeline",),
    ("tteqsat.tools",),
    ("tteqsat.cli", "tteqsat.__main__"),
    ("tteqsat",),  # the package's __init__: the public API
)


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for src, package in SOURCES.items():
        for path in sorted(src.rglob("*.py")):
            parts = list(path.relative_to(src).with_suffix("").parts)
            if parts[0] in ("rules", "lowering") and src.name == "tteqsat":
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join([package, *parts])] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Modules of the package that `name` imports at run time (anywhere, functions included; not under
    `if TYPE_CHECKING:`, which never runs)."""
    tree = ast.parse(path.read_text())
    is_package = path.name == "__init__.py"
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = name.split(".") if is_package else name.split(".")[:-1]
                pkg = pkg[: len(pkg) - (node.level - 1)]
                base = ".".join(pkg + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(full if full in known else base)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {m for m in found if m in known and m != name}


def _graph() -> nx.DiGraph:
    modules = _modules()
    graph = nx.DiGraph()
    for name, path in modules.items():
        graph.add_node(name)
        for dep in _imports(name, path, set(modules)):
            graph.add_edge(name, dep)
    return graph


def _floor(module: str) -> int:
    best, level = -1, -1
    for n, prefixes in enumerate(FLOORS):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best:
                best, level = len(p), n
    return level


def test_no_module_imports_one_that_imports_it_back() -> None:
    graph = _graph()
    # a package's __init__ re-exporting its own modules is not a circle: those modules never import it back
    cycles = [sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1]
    assert not cycles, f"import circles: {cycles}"


def test_every_module_sits_on_a_floor() -> None:
    missing = [m for m in _graph() if _floor(m) < 0]
    assert not missing, f"modules on no floor of FLOORS: {missing}"


def test_floors_import_only_floors_below() -> None:
    graph = _graph()
    upward = [f"{a} -> {b}" for a, b in graph.edges if _floor(b) > _floor(a)]
    assert not upward, "imports of a higher floor:\n" + "\n".join(sorted(upward))


def test_the_check_sees_a_circle() -> None:
    """The check is not vacuous: a circle planted in a copy of the graph is found."""
    graph = _graph()
    graph.add_edge("tteqsat.frontend.ir", "tteqsat.frontend.dsl")
    assert any(len(c) > 1 for c in nx.strongly_connected_components(graph))
    assert _floor("tteqsat.scheduling.model") > _floor("tteqsat.cost.model")
