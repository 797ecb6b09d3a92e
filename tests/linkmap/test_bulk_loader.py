"""BulkLoader: a streamed bulk import with a dry-run report, written in one transaction or
not at all; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import pytest
from sqlalchemy import select

from linkmap import ConcurrentChange, LinkStore
from linkmap.bulk import BulkLoader, ImportReport, ImportRow, RowProblem, Verdict
from linkmap.bulk.loader import _Writer
from linkmap.models import entities, entity_keys, link_history


def row(line: int, kind: str, **keys: str | Sequence[str]) -> ImportRow:
    return ImportRow(
        line, kind, {s: (k,) if isinstance(k, str) else tuple(k) for s, k in keys.items()}
    )


def customers(n: int, *, first_line: int = 2) -> Iterator[ImportRow]:
    for i in range(n):
        yield row(first_line + i, "customer", erp=f"{10000 + i}", crm=f"A-{i}", timesheet=f"T{i}")


async def contents(store: LinkStore) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the link tables, in id order: the whole link map."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    async with store.engine.connect() as conn:
        for table in (entities, entity_keys, link_history):
            rows = await conn.execute(select(table).order_by(table.c.id))
            found[table.name] = [tuple(r) for r in rows]
    return found


def listed(report: ImportReport) -> list[tuple[int, Verdict, str | None]]:
    return [(p.line, p.verdict, p.reason) for p in report.problems]


def counts(report: ImportReport) -> tuple[int, int, int, int]:
    c = report.counts
    return c[Verdict.NEW], c[Verdict.UNCHANGED], c[Verdict.CONFLICT], c[Verdict.INVALID]


async def test_dry_run_reports_every_kind_of_conflict_with_its_line(store: LinkStore) -> None:
    await store.create_entity("customer", {"erp": ["1"], "crm": ["A", "A2"]}, actor="a")
    lacking = await store.create_entity("customer", {"erp": ["7"]}, actor="a")
    one = await store.create_entity("customer", {"erp": ["8"]}, actor="a")
    two = await store.create_entity("customer", {"crm": ["B"]}, actor="a")
    before = await contents(store)
    rows = [
        row(2, "customer", erp="1", crm="A"),  # unchanged: the entity holds both keys
        row(3, "customer", crm="A2"),  # unchanged: a subset of what the entity holds
        row(4, "customer", erp="7", timesheet="NEW"),  # linked key plus a key it lacks
        row(5, "customer", erp="8", crm="B"),  # keys of two different entities
        row(6, "customer", erp="2", crm="C"),  # new
        row(8, "customer", erp="3", crm="C"),  # C is also on line 6
        row(9, "supplier", erp="1"),  # another kind: new
        RowProblem(10, "unknown kind 'custmer'"),
        row(11, "customer", erp="2", crm="C"),  # the same row twice
    ]
    report = await BulkLoader(store).plan(rows)

    assert counts(report) == (2, 2, 4, 1)
    assert listed(report) == [
        (
            4,
            Verdict.CONFLICT,
            f"erp key '7' is already linked to customer {lacking.id}, which does not hold "
            "timesheet key 'NEW' (an import never adds keys to an existing entity)",
        ),
        (
            5,
            Verdict.CONFLICT,
            "keys belong to different customer entities: "
            f"erp key '8' to customer {one.id}; crm key 'B' to customer {two.id}",
        ),
        (8, Verdict.CONFLICT, "crm key 'C' is also on line 6"),
        (10, Verdict.INVALID, "unknown kind 'custmer'"),
        (11, Verdict.CONFLICT, "erp key '2' is also on line 6"),
    ]
    assert report.written == 0
    assert await contents(store) == before


async def test_apply_writes_entities_with_history_and_a_rerun_reports_all_unchanged(
    store: LinkStore,
) -> None:
    rows = [*customers(25), row(27, "project", erp=["P-1", "P-2"], timesheet="TP")]
    report = await BulkLoader(store, chunk_size=7).apply(rows, actor="onboarding", note="sheet")
    assert counts(report) == (26, 0, 0, 0) and report.written == 26

    e = await store.resolve("customer", "crm", "A-13")
    assert e is not None
    assert dict(e.keys) == {"erp": ("10013",), "crm": ("A-13",), "timesheet": ("T13",)}
    history = await store.history(e.id)
    assert [(h.action, h.system, h.key) for h in history] == [
        ("create", None, None),
        ("link", "erp", "10013"),
        ("link", "crm", "A-13"),
        ("link", "timesheet", "T13"),
    ]
    assert {h.actor for h in history} == {"onboarding"} and history[0].note == "sheet"
    project = await store.resolve("project", "erp", "P-2")
    assert project is not None and project.keys_in("erp") == ("P-1", "P-2")

    after = await contents(store)
    again = await BulkLoader(store, chunk_size=7).apply(rows, actor="onboarding")
    assert counts(again) == (0, 26, 0, 0) and again.written == 0
    assert counts(await BulkLoader(store).plan(rows)) == (0, 26, 0, 0)
    assert await contents(store) == after


async def test_a_conflict_makes_apply_write_nothing(store: LinkStore) -> None:
    await store.create_entity("customer", {"erp": ["10005"]}, actor="a")
    before = await contents(store)
    report = await BulkLoader(store, chunk_size=4).apply(customers(12), actor="x")
    assert counts(report) == (11, 0, 1, 0)
    assert report.written == 0
    assert listed(report)[0][0] == 7  # the row of erp 10005 (customers start on line 2)
    assert await contents(store) == before


async def test_skip_conflicts_writes_the_other_rows(store: LinkStore) -> None:
    owner = await store.create_entity("customer", {"erp": ["10005"]}, actor="a")
    rows = [*customers(12), row(20, "customer", crm="A-1", erp="other")]
    report = await BulkLoader(store, chunk_size=4).apply(rows, actor="x", skip_conflicts=True)
    assert counts(report) == (11, 0, 2, 0) and report.written == 11
    assert [line for line, *_ in listed(report)] == [7, 20]
    assert await store.get(owner.id) == owner  # never moved
    assert await store.resolve("customer", "crm", "A-5") is None  # the skipped row
    assert await store.resolve("customer", "erp", "other") is None
    assert await store.resolve("customer", "crm", "A-11") is not None


async def test_an_invalid_row_makes_apply_write_nothing_even_when_skipping_conflicts(
    store: LinkStore,
) -> None:
    before = await contents(store)
    rows = [*customers(10), RowProblem(40, "erp: key holds a control character")]
    report = await BulkLoader(store, chunk_size=3).apply(rows, actor="x", skip_conflicts=True)
    assert counts(report) == (10, 0, 0, 1) and report.written == 0
    assert await contents(store) == before


class Boom(RuntimeError):
    pass


async def test_a_failure_half_way_leaves_the_link_map_as_it_was(
    store: LinkStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store.bulk_import(
        [("customer", {"erp": ["E-1"], "crm": ["C-1"]}), ("project", {"erp": ["P"]})], actor="a"
    )
    before = await contents(store)
    written: list[int] = []
    real = BulkLoader._write_chunk

    async def failing(
        self: BulkLoader, conn: Any, rows: Sequence[ImportRow], writer: _Writer
    ) -> None:
        if len(written) == 3:
            raise Boom("connection lost")
        await real(self, conn, rows, writer)
        written.append(len(rows))

    monkeypatch.setattr(BulkLoader, "_write_chunk", failing)
    with pytest.raises(Boom):
        await BulkLoader(store, chunk_size=10).apply(customers(100), actor="x")
    assert written == [10, 10, 10]  # three chunks were written before the failure
    assert await contents(store) == before

    monkeypatch.setattr(BulkLoader, "_write_chunk", real)
    report = await BulkLoader(store, chunk_size=10).apply(customers(100), actor="x")
    assert report.written == 100  # and the ids of the rolled-back rows do not get in the way


async def test_a_key_linked_by_another_writer_mid_import_rolls_everything_back(
    store: LinkStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race between a chunk's checks and its inserts: the unique index decides."""
    before = await contents(store)
    real = BulkLoader._write_chunk
    chunks = 0

    async def racing(
        self: BulkLoader, conn: Any, rows: Sequence[ImportRow], writer: _Writer
    ) -> None:
        nonlocal chunks
        chunks += 1
        if chunks == 2:  # the same key arrives between the checks and the insert
            rows = [*rows[:-1], row(99, "customer", erp="10000")]
        await real(self, conn, rows, writer)

    monkeypatch.setattr(BulkLoader, "_write_chunk", racing)
    with pytest.raises(ConcurrentChange):
        await BulkLoader(store, chunk_size=5).apply(customers(20), actor="x")
    assert await contents(store) == before


class Counted:
    """Rows handed out one by one, checking that the loader never reads ahead of what it
    has finished by more than one chunk."""

    def __init__(self, rows: Iterable[ImportRow], chunk: int) -> None:
        self.rows = rows
        self.chunk = chunk
        self.consumed = 0
        self.finished = 0
        self.worst = 0

    def __iter__(self) -> Iterator[ImportRow]:
        for item in self.rows:
            self.consumed += 1
            self.worst = max(self.worst, self.consumed - self.finished)
            yield item


async def test_memory_stays_bounded_by_one_chunk(
    store: LinkStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    chunk = 50
    planned = Counted(customers(1000), chunk)

    def progress(done: int) -> None:
        planned.finished = done

    report = await BulkLoader(store, chunk_size=chunk, progress=progress).plan(planned)
    assert report.rows == 1000 and planned.consumed == 1000
    assert planned.worst == chunk  # never more than one chunk in hand

    applied = Counted(customers(1000), chunk)
    real = BulkLoader._write_chunk

    async def counting(self: BulkLoader, conn: Any, rows: Sequence[ImportRow], w: _Writer) -> None:
        assert applied.consumed - applied.finished <= chunk
        await real(self, conn, rows, w)
        applied.finished += len(rows)

    monkeypatch.setattr(BulkLoader, "_write_chunk", counting)
    report = await BulkLoader(store, chunk_size=chunk).apply(applied, actor="x")
    assert report.written == 1000 and applied.worst == chunk


async def test_the_report_keeps_only_the_first_problems_but_counts_all(store: LinkStore) -> None:
    rows = [RowProblem(line, "bad") for line in range(2, 5002)]
    report = await BulkLoader(store, max_listed=100).plan(rows)
    assert report.invalid == 5000 and len(report.problems) == 100
    assert report.problems[-1].line == 101
