"""The package's layers, read from its source: no import cycle, no PyTorch in the torch-free core, and
slotfill.nn reached from the core only where an engine is chosen."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "slotfill"
HEAVY = ("torch", "gensim", "sklearn")  # what the torch-free modules never import
ENGINE_CHOICE = "slotfill.predictor"  # the one core module that may import slotfill.nn (the torch engine, when chosen)
APPLICATION = "slotfill.cli"  # above both layers: it reaches slotfill.nn inside commands only


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(name: str) -> list[tuple[str, bool]]:
    """(imported module, whether at module level) for every import statement of a module, in functions too."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    top_level = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top_level) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:  # `from . import storage` imports the module slotfill.storage
                target = f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                found.append((target, id(node) in top_level))
    return found


def internal_graph() -> dict[str, set[str]]:
    return {name: {target for target, _ in imports(name) if target in MODULES and target != name} for name in MODULES}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def torch_free(name: str) -> bool:
    return not name.startswith("slotfill.nn") and name != APPLICATION


def test_the_walker_sees_imports_inside_functions_and_relative_ones():
    found = imports("slotfill.predictor")
    assert ("slotfill.nn.engine", False) in found  # inside choose_engine
    assert ("slotfill.storage", True) in found  # `from . import storage`
    assert ("slotfill.errors", True) in found
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle():
    assert cycles(internal_graph()) == []


@pytest.mark.parametrize("name", [n for n in MODULES if torch_free(n)])
def test_torch_free_module_imports_no_heavy_library(name):
    heavy = [target for target, _ in imports(name) if target.split(".")[0] in HEAVY]
    assert heavy == [], f"{name} imports {heavy}"


@pytest.mark.parametrize("name", [n for n in MODULES if torch_free(n)])
def test_core_reaches_into_nn_only_where_the_engine_is_chosen(name):
    reached = [target for target, _ in imports(name) if target.startswith("slotfill.nn")]
    if name == ENGINE_CHOICE:
        assert reached == ["slotfill.nn.engine"]
        assert all(not top for target, top in imports(name) if target.startswith("slotfill.nn"))
    else:
        assert reached == [], f"{name} imports {reached}"


def test_the_cli_imports_pytorch_code_inside_commands_only():
    top = [target for target, at_top in imports(APPLICATION) if at_top]
    assert not [t for t in top if t.startswith("slotfill.nn") or t.split(".")[0] in HEAVY]
    assert any(t.startswith("slotfill.nn") for t, _ in imports(APPLICATION))  # train, export, info, embed
