"""One exported table read live: the current file found, parsed once per version, indexed.

``LiveTable.snapshot()`` looks at the file (or the newest file of a watched folder) on
every read: its path, size, modification and change times and inode make its version.
While the version stands, the snapshot built for it answers every read from its indexes
(operation -> key -> records); when it changes, the file is parsed again (streamed, in a
worker thread, once however many reads ask at the same time) and the new snapshot
replaces the old one. A snapshot is never served for another version of the file.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sources.files.problems import Problems, RowProblem
from sources.files.rows import FileUnreadable, RawRow, read_rows
from sources.files.spec import FileOperation, FileTable
from sources.files.values import CellError, CellReaders
from sources.rest.spec import OperationShape
from sources.translate import TranslationError, build_record

log = logging.getLogger(__name__)

_LOCK_FILE_PREFIXES = ("~$", ".~lock", ".")
"""Office lock files and hidden files, never an export."""


@dataclass(frozen=True, slots=True)
class FileVersion:
    """Which file, as it is now: a change of any of these is a new version."""

    path: Path
    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int


@dataclass(frozen=True, slots=True)
class ReadPlan:
    """What one operation reads of a table: its field map, the column its keys are looked
    up in, and the shape of its answer."""

    name: str
    operation: FileOperation
    key_column: str
    shape: OperationShape


@dataclass
class OperationIndex:
    """One operation's records of one file version, by key (a list per key, or one), the
    rows it could not read, and the raw codes its translation tables do not know."""

    by_key: dict[str, Any]
    problems: Problems
    unknown_codes: set[str] = field(default_factory=set)


@dataclass
class Snapshot:
    """One version of a table, parsed: the problems of its rows and each operation's index."""

    version: FileVersion
    problems: Problems
    indexes: dict[str, OperationIndex]
    rows: int

    def notes(self, operation: str) -> tuple[str, ...]:
        """What an answer of ``operation`` says about rows left out of this version."""
        index = self.indexes[operation]
        merged = Problems(
            self.problems.kept + index.problems.kept,
            self.problems.total + index.problems.total,
        )
        return merged.notes()


def current_version(table: FileTable, base: Path) -> FileVersion:
    """The version of ``table``'s current file: its ``file``, or the newest file of its
    watched folder matching its pattern (last modified, ties broken by name; or last by
    name). ``FileUnreadable`` when
    there is none."""
    if table.file is not None:
        path = table.file if table.file.is_absolute() else base / table.file
        try:
            stat = path.stat()
        except OSError:
            raise FileUnreadable(f"the export {path.name} is missing") from None
        return FileVersion(path, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)
    assert table.folder is not None and table.pattern is not None
    folder = table.folder if table.folder.is_absolute() else base / table.folder
    newest: tuple[int, str, FileVersion] | None = None
    try:
        candidates = list(folder.glob(table.pattern))
    except OSError:
        raise FileUnreadable(f"the export folder {folder.name} cannot be read") from None
    for path in candidates:
        if path.name.startswith(_LOCK_FILE_PREFIXES):
            continue
        try:
            stat = path.stat()
        except OSError:  # removed while we looked
            continue
        if not path.is_file():
            continue
        version = FileVersion(path, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)
        order = stat.st_mtime_ns if table.newest_by == "modified" else 0
        if newest is None or (order, path.name) > newest[:2]:
            newest = (order, path.name, version)
    if newest is None:
        raise FileUnreadable(f"no export matching {table.pattern!r} in the folder {folder.name}")
    return newest[2]


def _key_text(value: Any) -> str | None:
    """A key column's value as the text keys are asked by."""
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _undecodable(cells: list[str]) -> bool:
    """Whether a CSV row holds a byte its encoding could not read (decoded with
    ``surrogateescape``, such a byte is a lone surrogate, which UTF-8 cannot encode)."""
    text = "".join(cells)
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class _Parse:
    """Parsing one file version into a snapshot (runs in a worker thread)."""

    def __init__(self, table: FileTable, version: FileVersion, plans: list[ReadPlan]) -> None:
        self.table = table
        self.version = version
        self.plans = plans
        self.file = version.path.name
        self.excel = table.file_format == "xlsx"
        self.problems = Problems([])

    def run(self) -> Snapshot:
        rows = read_rows(self.version.path, self.table)
        header = next(rows, None)
        if header is None:
            raise FileUnreadable(f"{self.file} is empty (no header row)")
        positions = self._positions(header)
        readers = CellReaders(self.table)
        columns = [
            (name, positions[name], readers.reader(kind))
            for name, kind in self.table.columns.items()
        ]
        width = len(header.cells)
        indexes = {plan.name: OperationIndex({}, Problems([])) for plan in self.plans}
        count = 0
        for raw in rows:
            values = self._values(raw, columns, width)
            if values is None:
                continue
            count += 1
            for plan in self.plans:
                self._index(plan, indexes[plan.name], raw.line, values)
        return Snapshot(self.version, self.problems, indexes, count)

    def _positions(self, header: RawRow) -> dict[str, int]:
        names = [str(c).strip() if c is not None else "" for c in header.cells]
        positions: dict[str, int] = {}
        for name in self.table.columns:
            found = [at for at, n in enumerate(names) if n == name]
            if len(found) > 1:
                raise FileUnreadable(
                    f"{self.file}: column {name!r} appears {len(found)} times in the header "
                    f"(line {header.line})"
                )
            if found:
                positions[name] = found[0]
        missing = [n for n in self.table.columns if n not in positions]
        if missing:
            raise FileUnreadable(
                f"{self.file}: the header (line {header.line}) has no column "
                f"{', '.join(repr(m) for m in missing)}"
            )
        return positions

    def _label(self, position: int, name: str) -> str:
        where = column_letter(position) if self.excel else str(position + 1)
        return f"{where} ({name})"

    def _values(
        self, raw: RawRow, columns: list[tuple[str, int, Callable[[Any], Any]]], width: int
    ) -> dict[str, Any] | None:
        cells = raw.cells
        if len(cells) != width:
            if not self.excel:
                self.problems.add(
                    RowProblem(
                        self.file,
                        raw.line,
                        str(min(len(cells), width) + 1),
                        f"{len(cells)} fields where the header has {width}",
                    )
                )
                return None
            cells = cells + [""] * (width - len(cells))
        if not self.excel and _undecodable(cells):
            at = next(i for i, cell in enumerate(cells) if _undecodable([cell]))
            name = next((n for n, a, _ in columns if a == at), "")
            self.problems.add(
                RowProblem(
                    self.file,
                    raw.line,
                    self._label(at, name) if name else str(at + 1),
                    f"not valid {self.table.encoding} text",
                )
            )
            return None
        values: dict[str, Any] = {}
        for name, at, read in columns:
            try:
                values[name] = read(cells[at])
            except CellError as exc:
                label = self._label(at, name)
                self.problems.add(RowProblem(self.file, raw.line, label, exc.reason, exc.value))
                return None
        if values[self.table.key] is None:
            at = columns[[c[0] for c in columns].index(self.table.key)][1]
            self.problems.add(
                RowProblem(
                    self.file, raw.line, self._label(at, self.table.key), "the key is missing"
                )
            )
            return None
        return values

    def _index(
        self, plan: ReadPlan, index: OperationIndex, line: int, values: dict[str, Any]
    ) -> None:
        key = _key_text(values[plan.key_column])
        if key is None:  # not under any key of this read (an invoice of no project)
            return
        try:
            record: Any = build_record(plan.shape.record, values, plan.operation.fields)
        except TranslationError as exc:
            field = str(exc).split(":", 1)[0]  # "Invoice.total: required amount missing"
            index.problems.add(
                RowProblem(self.file, line, None, f"{plan.name}: {field} cannot be read", str(exc))
            )
            return
        status = getattr(record, "status", None)
        raw_status = getattr(record, "status_raw", None)
        if getattr(status, "value", None) == "UNKNOWN":
            index.unknown_codes.add(str(raw_status))
        if plan.shape.many:
            index.by_key.setdefault(key, []).append(record)
        elif key in index.by_key:
            index.problems.add(
                RowProblem(
                    self.file,
                    line,
                    None,
                    f"{plan.name}: its {plan.key_column} is already on an earlier row",
                    key,
                )
            )
        else:
            index.by_key[key] = record


def column_letter(index: int) -> str:
    """The spreadsheet letter of the 0-based column ``index`` (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


class LiveTable:
    """One table of a file source, read live (see the module docstring).

    ``parses`` counts the file versions parsed so far (tests and benches read it).
    """

    def __init__(
        self,
        system: str,
        name: str,
        table: FileTable,
        base: Path,
        plans: list[ReadPlan],
        on_snapshot: Callable[[LiveTable, Snapshot], None] | None = None,
    ) -> None:
        self.system = system
        self.name = name
        self.table = table
        self.base = base
        self.plans = plans
        self.parses = 0
        self._on_snapshot = on_snapshot
        self._snapshot: Snapshot | None = None
        self._pending: tuple[FileVersion, asyncio.Future[Snapshot]] | None = None

    def version(self) -> FileVersion:
        """The current file's version (``FileUnreadable`` when there is no file)."""
        return current_version(self.table, self.base)

    async def snapshot(self) -> Snapshot:
        """The snapshot of the file as it is now, parsing it if it changed."""
        version = self.version()
        held = self._snapshot
        if held is not None and held.version == version:
            return held
        pending = self._pending
        if pending is None or pending[0] != version:
            future = asyncio.ensure_future(asyncio.to_thread(self._parse, version))
            future.add_done_callback(self._keep)
            pending = self._pending = (version, future)
        # shielded: a read given up (timeout) does not waste the parse others wait for
        return await asyncio.shield(pending[1])

    def _parse(self, version: FileVersion) -> Snapshot:
        self.parses += 1
        return _Parse(self.table, version, self.plans).run()

    def _keep(self, future: asyncio.Future[Snapshot]) -> None:
        if self._pending is not None and self._pending[1] is future:
            self._pending = None
        if future.cancelled() or future.exception() is not None:
            return
        snapshot = future.result()
        held = self._snapshot
        if held is None or held.version != snapshot.version:
            self._snapshot = snapshot
            if self._on_snapshot is not None:
                self._on_snapshot(self, snapshot)


def plans_by_table(
    operations: Mapping[str, FileOperation],
    key_of: Callable[[str], str],
    shapes: Mapping[str, OperationShape],
) -> dict[str, list[ReadPlan]]:
    """The read plans of ``operations``, grouped by the table each reads."""
    grouped: dict[str, list[ReadPlan]] = {}
    for name, operation in operations.items():
        plan = ReadPlan(name, operation, key_of(name), shapes[name])
        grouped.setdefault(operation.table, []).append(plan)
    return grouped
