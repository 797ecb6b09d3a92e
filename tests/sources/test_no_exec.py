"""No code of the project runs generated source: no ``exec`` or ``eval`` call anywhere."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("gateway", "resolvers", "sources", "linkmap", "demo")
FORBIDDEN = frozenset({"exec", "eval"})


def _forbidden_calls(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, spelling) of each call of exec or eval: by name (``exec(...)``) or through
    the builtins module (``builtins.eval(...)``, ``__builtins__.exec(...)``)."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in FORBIDDEN:
            found.append((node.lineno, func.id))
        elif (
            isinstance(func, ast.Attribute)
            and func.attr in FORBIDDEN
            and isinstance(func.value, ast.Name)
            and func.value.id in ("builtins", "__builtins__")
        ):
            found.append((node.lineno, f"{func.value.id}.{func.attr}"))
    return found


def _sources() -> list[Path]:
    return sorted(
        path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "__pycache__" not in path.parts
    )


def test_the_packages_hold_python_sources() -> None:
    for package in PACKAGES:
        assert any((ROOT / package).rglob("*.py")), f"no sources found under {package}/"


@pytest.mark.parametrize("path", _sources(), ids=lambda path: str(path.relative_to(ROOT)))
def test_no_exec_or_eval(path: Path) -> None:
    calls = _forbidden_calls(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    assert not calls, f"{path.relative_to(ROOT)}: " + ", ".join(
        f"line {line}: {name}()" for line, name in calls
    )


@pytest.mark.parametrize(
    "source",
    ["exec('x = 1')", "eval('1')", "builtins.exec(code, env)", "__builtins__.eval('2')"],
)
def test_the_scan_finds_every_spelling(source: str) -> None:
    assert _forbidden_calls(ast.parse(source))


@pytest.mark.parametrize("source", ["model.eval()", "cursor.exec('x')", "evaluate(x)"])
def test_the_scan_leaves_methods_of_that_name_be(source: str) -> None:
    assert not _forbidden_calls(ast.parse(source))
