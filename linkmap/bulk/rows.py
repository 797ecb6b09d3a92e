"""The values a bulk link import works on: input rows, per-row verdicts and the report.

Every input format (CSV today; a spreadsheet or an HTTP upload later) produces the same
stream of :class:`ImportRow` and :class:`RowProblem`, each carrying the line (or row
number) the user sees, so that the loader and its report do not depend on the format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from linkmap.validate import KeyMap

MAX_LISTED: Final = 1000
"""How many problem rows an :class:`ImportReport` keeps by default (counts are kept for
all); bounds the report's memory on a file full of conflicts."""


@dataclass(frozen=True, slots=True)
class ImportRow:
    """One entity to import: its ``kind`` (one of :data:`linkmap.models.KINDS`) and ``keys``
    (system -> unique keys, each valid for :func:`linkmap.validate.key`: the format that
    read the row has checked them), from line ``line`` of the input (1-based, as an editor
    shows it). ``names`` (system -> record names) are keys still to be found by name
    (a ``<system>:name`` column): the loader's name matcher turns them into keys. A row
    has at least one key or name."""

    line: int
    kind: str
    keys: KeyMap
    names: KeyMap = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RowProblem:
    """A row of the input that cannot be imported as written (bad kind, over-long key,
    control characters, wrong number of cells...), with the reason for the user."""

    line: int
    message: str


class Verdict(StrEnum):
    """What an import does (or would do) with a row."""

    NEW = "new"
    """No key of the row is linked yet: a new entity is created."""
    UNCHANGED = "unchanged"
    """Every key of the row already belongs to one and the same entity: nothing to do."""
    CONFLICT = "conflict"
    """A key is linked to another entity, claimed by an earlier row of the same input, or
    the row's keys are spread over several entities: never written, never moved."""
    INVALID = "invalid"
    """The row is malformed (a :class:`RowProblem`): an import with one writes nothing."""


@dataclass(frozen=True, slots=True)
class RowOutcome:
    """The verdict on the row at ``line`` and, for a conflict or invalid row, why."""

    line: int
    verdict: Verdict
    reason: str | None = None


@dataclass(slots=True)
class ImportReport:
    """Counts of rows per :class:`Verdict` and the first :data:`MAX_LISTED` problem rows
    (conflicts and invalid rows, in input order). ``written`` is the number of entities
    created: 0 for a dry run or a refused apply."""

    counts: dict[Verdict, int] = field(default_factory=lambda: dict.fromkeys(Verdict, 0))
    problems: list[RowOutcome] = field(default_factory=list)
    max_listed: int = MAX_LISTED
    written: int = 0

    @property
    def rows(self) -> int:
        """How many rows were read (every verdict)."""
        return sum(self.counts.values())

    @property
    def conflicts(self) -> int:
        """How many rows conflict with the link map or with each other."""
        return self.counts[Verdict.CONFLICT]

    @property
    def invalid(self) -> int:
        """How many rows are malformed."""
        return self.counts[Verdict.INVALID]

    def add(self, outcome: RowOutcome) -> None:
        """Count ``outcome`` and keep it if it is a problem and the list has room."""
        self.counts[outcome.verdict] += 1
        problem = outcome.verdict in (Verdict.CONFLICT, Verdict.INVALID)
        if problem and len(self.problems) < self.max_listed:
            self.problems.append(outcome)


def report_lines(report: ImportReport, *, shown: int) -> list[str]:
    """The report as ``keylink links import`` prints it: the counts, then the first
    ``shown`` problem rows by line, then how many more there are."""
    counts = report.counts
    lines = [
        f"{report.rows} rows: {counts[Verdict.NEW]} new, {counts[Verdict.UNCHANGED]} unchanged, "
        f"{counts[Verdict.CONFLICT]} conflicting, {counts[Verdict.INVALID]} invalid"
    ]
    for outcome in report.problems[:shown]:
        lines.append(f"line {outcome.line}: {outcome.verdict.value}: {outcome.reason}")
    hidden = report.conflicts + report.invalid - min(shown, len(report.problems))
    if hidden > 0:
        lines.append(f"... and {hidden} more (see --show)")
    return lines
