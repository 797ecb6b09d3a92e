"""The import rules of DESIGN.md, read from the code with ``ast`` (nothing is imported).

Dependencies point one way: ``gateway -> resolvers -> (linkmap, sources)``, and no module
of these four packages reaches itself again through its imports.

Every ``import`` statement in a module counts: at the top, inside a function (an import
made late to dodge a circle is still a circle) and under ``if TYPE_CHECKING:``. A
type-only import is counted too: it ties the two modules' meanings together just as much,
and a rule that lets type hints point upward soon has code following them. A module that
truly needs a type from above takes it by protocol or moves the type down instead.

``bench/`` is not part of the package, but it imports only what a user of the package
could: never ``tests/``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("gateway", "resolvers", "sources", "linkmap")

FORBIDDEN: dict[str, tuple[str, ...]] = {
    "sources": ("gateway", "resolvers", "linkmap", "strawberry", "fastapi", "starlette"),
    "linkmap": ("gateway", "resolvers", "sources", "strawberry", "fastapi", "starlette"),
    "resolvers": ("gateway",),
}
"""Top-level names a package's modules may never import (third-party ones included)."""


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def _modules() -> dict[str, Path]:
    """Every module of the four packages, by dotted name."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[_module_name(path)] = path
    return found


def _imported_names(path: Path) -> Iterator[tuple[int, str]]:
    """(line, dotted name) of everything ``path`` imports, wherever the statement is.

    ``from a.b import c`` names ``a.b.c``: the module ``a.b.c`` if there is one, else the
    name ``c`` of module ``a.b`` (see ``_first_party``). The parent packages that Python
    initialises on the way are not counted. Relative imports are made absolute.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path.parent)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                yield node.lineno, base if alias.name == "*" else f"{base}.{alias.name}"


def _first_party(name: str) -> str | None:
    """The package module ``name`` denotes: itself, or the nearest enclosing module."""
    modules = _modules()
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


@cache
def _graph() -> dict[str, dict[str, int]]:
    """module -> {imported package module: line of the first such import}."""
    graph: dict[str, dict[str, int]] = {}
    for name, path in _modules().items():
        edges: dict[str, int] = {}
        for line, imported in _imported_names(path):
            target = _first_party(imported)
            if target is not None and target != name:
                edges.setdefault(target, line)
        graph[name] = edges
    return graph


def _strongly_connected(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Tarjan's algorithm: the components with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in graph[node]:
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_checker_sees_a_circle() -> None:
    graph: dict[str, dict[str, int]] = {"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {}}
    assert _strongly_connected(graph) == [["a", "b", "c"]]


def test_no_module_reaches_itself_through_its_imports() -> None:
    graph = _graph()
    circles = []
    for component in _strongly_connected(graph):
        members = set(component)
        ties = [
            f"  {a} -> {b} (line {line})"
            for a in component
            for b, line in sorted(graph[a].items())
            if b in members
        ]
        circles.append("circle: " + ", ".join(component) + "\n" + "\n".join(ties))
    assert not circles, "import circles:\n" + "\n".join(circles)


def test_dependencies_point_one_way() -> None:
    broken = []
    for name, path in _modules().items():
        forbidden = FORBIDDEN.get(name.partition(".")[0], ())
        for line, imported in _imported_names(path):
            top = imported.partition(".")[0]
            if top in forbidden:
                broken.append(f"{path.relative_to(ROOT)}:{line} imports {imported}")
    assert not broken, "imports against gateway -> resolvers -> (linkmap, sources):\n" + (
        "\n".join(sorted(set(broken)))
    )


def test_bench_imports_nothing_from_tests() -> None:
    broken = []
    for path in sorted((ROOT / "bench").rglob("*.py")):
        for line, imported in _imported_names(path):
            if imported.partition(".")[0] == "tests":
                broken.append(f"{path.relative_to(ROOT)}:{line} imports {imported}")
    assert not broken, "bench/ is no test and takes nothing from tests/:\n" + "\n".join(
        sorted(set(broken))
    )
