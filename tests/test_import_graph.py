"""The package's shape, read from its source: no import circle (lazy, function-level and
``if TYPE_CHECKING:`` imports count too: two modules that need each other's names are one module or
want an interface), no private name imported across modules, no module over the size limit.

A package importing its own sub-modules is not a circle (``cli/__init__`` registering its commands)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import meddiag_desktop

PACKAGE = Path(meddiag_desktop.__file__).resolve().parent
MAX_LINES = 450


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_files() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _import_nodes(tree: ast.AST):
    """Every import statement, wherever it stands."""
    return (node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom)))


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> list[tuple[str, str]]:
    """(imported module, imported name or '') pairs of one module, resolved inside the package."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    found = []
    for node in _import_nodes(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, "") for alias in node.names]
            continue
        base = node.module or ""
        if node.level:
            anchor = name.split(".") if is_package else name.split(".")[:-1]
            anchor = anchor[: len(anchor) - (node.level - 1)]
            base = ".".join(anchor + ([base] if base else []))
        for alias in node.names:
            target = f"{base}.{alias.name}"
            found.append((target, "") if target in modules else (base, alias.name))
    return found


def import_graph() -> tuple[dict[str, set[str]], list[str]]:
    """Edges between the package's modules, and every private name imported across modules."""
    modules = source_files()
    edges: dict[str, set[str]] = {m: set() for m in modules}
    private = []
    for name, path in modules.items():
        for target, imported in imports_of(name, path, modules):
            if target not in modules or target == name:
                continue
            if imported.startswith("_") and not imported.startswith("__"):
                private.append(f"{name} imports {imported} from {target}")
            if not target.startswith(name + "."):  # a package may import its own sub-modules
                edges[name].add(target)
    return edges, private


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
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

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_cycle_finder_finds_a_planted_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_relative_imports_resolve_to_modules():
    modules = source_files()
    resolved = {t for t, _ in imports_of("meddiag_desktop.core.scan_decode", modules["meddiag_desktop.core.scan_decode"],
                                        modules)}
    assert "meddiag_desktop.core.io" in resolved


def test_no_import_circle_in_the_package():
    edges, _ = import_graph()
    assert sum(map(len, edges.values())) > 50, "the graph walk found too few imports to be trusted"
    found = cycles(edges)
    assert not found, "import circles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_no_private_name_is_imported_across_modules():
    _, private = import_graph()
    assert not private, "\n".join(private)


@pytest.mark.parametrize("name,path", sorted(source_files().items()))
def test_module_is_small(name, path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines (limit {MAX_LINES}): split it along a seam"
