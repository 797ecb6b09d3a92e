"""The shipped file-source examples (demo/files) copied into a tmp folder per test, so a
test may change, add or break exports without touching the repository, and helpers to
write CSV exports and specs there."""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from demo.files import FOLDER
from sources.declarative import NotedAnswer
from sources.files import FilesConfig, FileSource


@pytest.fixture
def exports(tmp_path: Path) -> Path:
    """A copy of demo/files (specs, CSV exports, the ERP workbook) in a tmp folder."""
    target = tmp_path / "exports"
    shutil.copytree(FOLDER, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return target


def file_source(spec: Path, kind: str = "erp", name: str = "files") -> FileSource:
    """A file source over ``spec`` (paths relative to the spec's folder)."""
    return FileSource(name, FilesConfig(kind=kind, adapter="files", spec=spec))


def notes_of(answer: Mapping[str, Any]) -> tuple[str, ...]:
    """The notes a file source's answer carries (what the loaders report)."""
    assert isinstance(answer, NotedAnswer), type(answer)
    return answer.notes


def write_csv(
    path: Path,
    rows: Sequence[Sequence[Any]],
    *,
    delimiter: str = ";",
    encoding: str = "utf-8",
    bom: bool = False,
) -> Path:
    """Write ``rows`` (header first) as a CSV export, each cell as given (already text,
    as the exporting system wrote it)."""
    lines = [delimiter.join("" if c is None else str(c) for c in row) for row in rows]
    data = ("\r\n".join(lines) + "\r\n").encode(encoding)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def write_spec(path: Path, spec: dict[str, Any]) -> Path:
    """Write a file spec as YAML."""
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path
