"""Malformed rows of an exported file, each named by file, line and column.

A row whose value does not read as its column's type, whose field count differs from the
header's, or that lacks its key is a ``RowProblem``: the row is left out, every other row
is served, and the answer's notes (``extensions.sources.<system>.notes``) say which rows
were left out and why. Notes name the file by its name only, never its folder.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_KEPT_PROBLEMS = 1000
"""Problems kept per file version (the count of the rest is kept too)."""
MAX_NOTED_PROBLEMS = 10
"""Problems spelled out in an answer's notes; the rest are counted."""


@dataclass(frozen=True, slots=True)
class RowProblem:
    """One malformed row: the file's name, the line (CSV) or sheet row (Excel) it starts
    on, the column (1-based position, its letter in Excel, and its header name when it has
    one) and what is wrong. ``column`` is ``None`` for a problem of the whole row."""

    file: str
    line: int
    column: str | None
    problem: str
    value: str | None = None
    """The offending value, shortened: for the server's log only, never an answer (a row
    may belong to a customer the reader is not allowed to see)."""

    def __str__(self) -> str:
        where = f"{self.file}, line {self.line}" + (
            f", column {self.column}" if self.column else ""
        )
        return f"{where}: {self.problem}; the row is left out"

    def logged(self) -> str:
        """The problem as the server's log shows it: with the offending value."""
        return str(self) + (f" (value {self.value})" if self.value is not None else "")


@dataclass
class Problems:
    """The problems met reading one file version: the first ``MAX_KEPT_PROBLEMS`` and how
    many there were in all."""

    kept: list[RowProblem]
    total: int = 0

    def add(self, problem: RowProblem) -> None:
        """Count ``problem``, keeping it while fewer than the limit are kept."""
        self.total += 1
        if len(self.kept) < MAX_KEPT_PROBLEMS:
            self.kept.append(problem)

    def notes(self) -> tuple[str, ...]:
        """What an answer's notes say: the first few problems, then how many more."""
        shown = tuple(str(p) for p in self.kept[:MAX_NOTED_PROBLEMS])
        rest = self.total - len(shown)
        if rest > 0:
            first = self.kept[0].file if self.kept else "the file"
            shown += (f"{first}: {rest} more malformed row(s) left out",)
        return shown
