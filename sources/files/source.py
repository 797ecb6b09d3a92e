"""The file source: an ERP, CRM or timesheet system read through the files it exports.

Each read looks at its table's current file (``sources.files.table``): unchanged since the
last read, the answer comes from the index built for that version; changed (or a newer
export in the watched folder), the file is parsed again first. Rows that cannot be read
are left out and named, with file, line and column, in the answer's notes
(``NotedAnswer.notes``, reported as ``extensions.sources.<system>.notes``) and in one log
line per file version. An operation the spec does not give raises ``Unsupported``
(NOT_SUPPORTED); a missing or unreadable export raises ``SourceUnavailable``. State codes
are translated by the spec's tables and the system's ``translations:`` in config
(``sources.files.states``). The source only reads: it declares no writes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sources.config import SystemConfigBase
from sources.declarative import NotedAnswer, RecordReads
from sources.errors import SourceUnavailable, Unsupported
from sources.files.config import FilesConfig
from sources.files.problems import MAX_NOTED_PROBLEMS
from sources.files.rows import FileUnreadable
from sources.files.spec import FileSpec
from sources.files.table import LiveTable, Snapshot, plans_by_table
from sources.kept import SpecFigures
from sources.registry import Reach, register_adapter
from sources.rest.spec import CATALOGUE
from sources.states import translated_operations

log = logging.getLogger(__name__)

MAX_LOGGED_UNKNOWN = 1000
"""Distinct unmapped codes logged per source; beyond that, none more (logs stay bounded)."""


class FileSource(RecordReads, SpecFigures):
    """A system read through its exported files as its file spec describes.

    Serves whichever kinds its config names. Keys the files do not hold are absent from
    an answer (single records) or map to an empty list (children). ``parses`` counts the
    file versions parsed so far, across its tables.
    """

    write_operations: frozenset[str] = frozenset()
    """The file source writes nothing (``sources.base.DeclaresWrites``)."""

    def __init__(self, name: str, config: FilesConfig) -> None:
        self.name = name
        self.kinds = config.kinds
        self.config = config
        spec = FileSpec.from_file(config.spec)
        operations = translated_operations(spec.operations, config.translations)
        self.spec = spec.model_copy(update={"operations": operations})
        base = config.base_folder()
        plans = plans_by_table(self.spec.operations, self.spec.key_of, CATALOGUE)
        self.tables: dict[str, LiveTable] = {
            table: LiveTable(name, table, self.spec.tables[table], base, found, self._noticed)
            for table, found in plans.items()
        }
        self._unknown_logged: set[tuple[str, str]] = set()

    async def aclose(self) -> None:
        """Nothing to release: files are opened only while parsed."""

    @property
    def parses(self) -> int:
        """How many file versions were parsed, across every table."""
        return sum(table.parses for table in self.tables.values())

    # -- the generic read ------------------------------------------------------------------

    async def read(self, operation: str, keys: Sequence[str]) -> NotedAnswer[Any]:
        """Records of ``operation`` for ``keys`` from the current export: one record per
        key, or a list per key, with the notes of the rows left out."""
        spec = self.spec.operations.get(operation)
        if spec is None:
            raise Unsupported(self.name, f"operation {operation} not in the file spec")
        try:
            snapshot = await self.tables[spec.table].snapshot()
        except FileUnreadable as exc:
            raise SourceUnavailable(self.name, f"{operation}: {exc}") from None
        index = snapshot.indexes[operation].by_key
        wanted = dict.fromkeys(keys)
        found: dict[str, Any]
        if CATALOGUE[operation].many:
            found = {key: list(index.get(key, ())) for key in wanted}
        else:
            found = {key: index[key] for key in wanted if key in index}
        return NotedAnswer(found, snapshot.notes(operation))

    def _noticed(self, table: LiveTable, snapshot: Snapshot) -> None:
        """Log, once per file version, the rows left out; and once per source and code,
        a state the spec does not translate (answered as UNKNOWN with its raw value)."""
        problems = [snapshot.problems, *(i.problems for i in snapshot.indexes.values())]
        total = sum(p.total for p in problems)
        if total:
            first = [p.logged() for found in problems for p in found.kept][:MAX_NOTED_PROBLEMS]
            log.warning(
                "%s: table %s, file %s: %d malformed row(s) left out, %d read; first: %s",
                self.name,
                table.name,
                snapshot.version.path,
                total,
                snapshot.rows,
                " | ".join(first),
            )
        for operation, index in snapshot.indexes.items():
            for code in sorted(index.unknown_codes):
                marker = (table.name, code)  # once, however many reads share the table
                if marker in self._unknown_logged or len(self._unknown_logged) >= (
                    MAX_LOGGED_UNKNOWN
                ):
                    continue
                self._unknown_logged.add(marker)
                log.warning(
                    "%s: %s has state %r, which the file spec does not translate; "
                    "answered as UNKNOWN",
                    self.name,
                    operation,
                    code,
                )


def _build(name: str, config: SystemConfigBase, _reach: Reach) -> FileSource:
    """The registry's factory: a file source for ``config`` (it reads its files from
    disk, so it takes nothing from ``Reach``)."""
    assert isinstance(config, FilesConfig)
    return FileSource(name, config)


register_adapter(
    "files",
    config=FilesConfig,
    implementation=FileSource,
    factory=_build,
    kinds=frozenset({"erp", "crm", "timesheet"}),
)
