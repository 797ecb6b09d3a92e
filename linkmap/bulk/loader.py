"""Streaming bulk import of links: :class:`BulkLoader`.

Promises (identical on SQLite and PostgreSQL):

* Rows are read from an iterator :data:`chunk_size` at a time; the loader never holds more
  than one chunk of rows. Besides the chunk it keeps one entry per distinct key read so far
  (to find two rows claiming the same key) and the first ``max_listed`` problem rows.
* Each row gets a :class:`~linkmap.bulk.rows.Verdict`: ``new`` (no key linked yet),
  ``unchanged`` (every key already belongs to one and the same entity, which may hold
  more keys: an import never removes keys), ``conflict`` (a key claimed by an earlier row
  of the input; a key linked to an entity that does not hold all the row's keys; keys
  spread over several entities) or ``invalid``. A linked key is never moved.
* :meth:`BulkLoader.apply` writes in ONE transaction, chunk by chunk, with the history
  rows :meth:`~linkmap.store.LinkStore.create_entity` writes (a ``create`` row with the
  note, a ``link`` row per key, the given actor), all steps of one ``import`` change
  (undoable) whose links have provenance ``import``.
* Rows keyed by a name (``<system>:name`` columns) get their keys from the ``matcher``
  given to the loader (engineer A's match suggestions, ``match_by_name``), asked once per
  chunk and (kind, system); a name it cannot match confidently makes the row invalid.
  Without a matcher such rows are invalid. It writes nothing at all if a row is
  invalid, or if a row conflicts unless ``skip_conflicts`` (then only the other rows are
  written). Any failure half-way (an exception, a lost connection) rolls everything back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from itertools import islice
from operator import itemgetter
from typing import Any, Final

from sqlalchemy import ARRAY, String, Table, any_, bindparam, insert, select, text
from sqlalchemy.engine import Result
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from linkmap import validate
from linkmap.db import WRITE
from linkmap.errors import ConcurrentChange
from linkmap.models import entity_keys, link_history, utcnow
from linkmap.store import CHUNK, LinkStore, _creation_rows, start_change

from .rows import MAX_LISTED, ImportReport, ImportRow, RowOutcome, RowProblem, Verdict

CHUNK_ROWS: Final = 1000
"""Default number of rows planned (and written) together."""

Progress = Callable[[int], None]
"""Called after each chunk with the number of rows handled so far."""

NameMatcher = Callable[[str, str, Sequence[str]], Awaitable[Mapping[str, str]]]
"""``await matcher(kind, system, names)``: name -> key in ``system`` for the ``names``
(records of entity ``kind``) it matches confidently; names it leaves out are unmatched.
Engineer A's ``match_by_name`` (match suggestions) is the intended one."""

_OWNERS = select(entity_keys.c.key, entity_keys.c.entity_id).where(
    entity_keys.c.kind == bindparam("kind"),
    entity_keys.c.system == bindparam("system"),
    entity_keys.c.key.in_(bindparam("keys", expanding=True)),
)
"""The owners of ``keys`` of ``kind`` in ``system``; served by the unique index."""

_OWNERS_PG = select(entity_keys.c.key, entity_keys.c.entity_id).where(
    entity_keys.c.kind == bindparam("kind"),
    entity_keys.c.system == bindparam("system"),
    entity_keys.c.key == any_(bindparam("keys", type_=ARRAY(String()))),
)
""":data:`_OWNERS` on PostgreSQL: one array parameter, so one prepared statement whose
plan (generic or not) probes the unique index once per key."""


_RACE: Final = (
    "another writer linked some of these keys during the import; nothing was written, run it again"
)


class _Refused(Exception):
    """Raised inside the apply transaction to roll it back; carries the report."""

    def __init__(self, report: ImportReport) -> None:
        self.report = report


def _chunks(rows: Iterable[ImportRow | RowProblem], size: int) -> Iterator[list[Any]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


class _Claims:
    """The first line of the input that claimed each ``(kind, system, key)``."""

    def __init__(self) -> None:
        self._lines: dict[tuple[str, str], dict[str, int]] = {}

    def claim(self, row: ImportRow) -> str | None:
        """Record the row's keys; return why it conflicts with an earlier row, if it does."""
        clash: str | None = None
        for system, keys in row.keys.items():
            lines = self._lines.setdefault((row.kind, system), {})
            for key in keys:
                first = lines.setdefault(key, row.line)
                if first != row.line and clash is None:
                    clash = f"{system} key {key!r} is also on line {first}"
        return clash


class BulkLoader:
    """Plans and applies bulk imports of ``(kind, keys)`` rows into ``store``'s link map
    (see the module docstring for the promises)."""

    def __init__(
        self,
        store: LinkStore,
        *,
        chunk_size: int = CHUNK_ROWS,
        max_listed: int = MAX_LISTED,
        progress: Progress | None = None,
        matcher: NameMatcher | None = None,
    ) -> None:
        if chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")
        self._engine = store.engine
        self._write_engine = store.engine.execution_options(**{WRITE: True})
        self._chunk_size = chunk_size
        self._max_listed = max_listed
        self._progress = progress
        self._matcher = matcher

    async def plan(self, rows: Iterable[ImportRow | RowProblem]) -> ImportReport:
        """Return the report of importing ``rows`` without writing anything (a dry run)."""
        async with self._engine.connect() as conn:
            report, _ = await self._run(conn, rows, None)
            await conn.rollback()
        return report

    async def apply(
        self,
        rows: Iterable[ImportRow | RowProblem],
        *,
        actor: str,
        note: str | None = None,
        skip_conflicts: bool = False,
    ) -> ImportReport:
        """Import ``rows`` in one transaction and return the report; ``report.written``
        entities were created (0 if the import was refused: an invalid row, or a conflict
        without ``skip_conflicts``). Raises :class:`ConcurrentChange` (nothing written) if
        another writer linked one of the keys while the import ran; any other failure
        propagates after rolling everything back."""
        validate.actor(actor)
        writer = _Writer(actor, note, utcnow(), skip_conflicts)
        try:
            async with self._write_engine.begin() as conn:
                report, refused = await self._run(conn, rows, writer)
                if refused:
                    raise _Refused(report)
        except _Refused as refusal:
            refusal.report.written = 0
            return refusal.report
        except IntegrityError as exc:
            raise ConcurrentChange(_RACE) from exc
        return report

    async def _run(
        self,
        conn: AsyncConnection,
        rows: Iterable[ImportRow | RowProblem],
        writer: _Writer | None,
    ) -> tuple[ImportReport, bool]:
        """Classify (and with a ``writer``, write) ``rows`` chunk by chunk; return the
        report and whether the writes must be rolled back."""
        statistics = _Statistics(conn)
        await statistics.prepare()
        report = ImportReport(max_listed=self._max_listed)
        claims = _Claims()
        refused = False
        for read in _chunks(rows, self._chunk_size):
            chunk = await _match_names(read, self._matcher)
            fresh: list[ImportRow] = []
            for outcome, row in await _classify(conn, chunk, claims):
                report.add(outcome)
                if outcome.verdict is Verdict.NEW and row is not None:
                    fresh.append(row)
            if writer is not None and not refused:
                refused = report.invalid > 0 or (report.conflicts > 0 and not writer.skip)
                if not refused and fresh:
                    await self._write_chunk(conn, fresh, writer)
                    report.written += len(fresh)
                    await statistics.grown(report.written)
            if self._progress is not None:
                self._progress(report.rows)
        return report, refused

    async def _write_chunk(
        self, conn: AsyncConnection, rows: Sequence[ImportRow], writer: _Writer
    ) -> None:
        """Create one entity per row, with its keys and history rows (batched)."""
        if writer.change_id is None:
            writer.change_id = await start_change(
                conn, "import", writer.actor, writer.note, writer.at
            )
        ids = await LinkStore._insert_entities(conn, [row.kind for row in rows], writer.at)
        key_rows: list[dict[str, Any]] = []
        history: list[dict[str, Any]] = []
        for entity_id, row in zip(ids, rows, strict=True):
            more_keys, more_history = _creation_rows(
                entity_id,
                row.kind,
                row.keys,
                writer.actor,
                writer.at,
                writer.note,
                change_id=writer.change_id,
                provenance="import",
            )
            key_rows += more_keys
            history += more_history
        await _insert_rows(conn, entity_keys, key_rows)
        await _insert_rows(conn, link_history, history)


async def _insert_rows(conn: AsyncConnection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts of the same columns) into ``table`` in the current transaction:
    with COPY on PostgreSQL (asyncpg; measured 8x faster than a batched INSERT at 80,000
    rows), with one batched INSERT elsewhere."""
    if not rows:
        return
    if conn.dialect.name == "sqlite":
        await _insert_sqlite(conn, table, rows)
        return
    if conn.dialect.driver != "asyncpg":
        await conn.execute(insert(table), rows)
        return
    columns = list(rows[0])
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    records = [tuple(row[column] for column in columns) for row in rows]
    try:
        await driver.copy_records_to_table(table.name, records=records, columns=columns)
    except Exception as exc:
        if str(getattr(exc, "sqlstate", "")).startswith("23"):  # integrity constraint
            raise ConcurrentChange(_RACE) from exc
        raise


async def _insert_sqlite(conn: AsyncConnection, table: Table, rows: list[dict[str, Any]]) -> None:
    """One ``executemany`` of the driver: each distinct value goes through its column's
    bind processing once (the rows of an import share one timestamp), instead of the
    per-row parameter processing of a compiled INSERT (measured: a third of the import's
    CPU on SQLite)."""
    columns = list(rows[0])
    values = [list(row) for row in map(itemgetter(*columns), rows)]
    for index, column in enumerate(columns):
        process = table.c[column].type.bind_processor(conn.dialect)
        if process is None:
            continue
        memo: dict[int, tuple[Any, Any]] = {}  # id -> (value, bound); keeps value alive
        for row in values:
            value = row[index]
            if value is not None:
                if id(value) not in memo:
                    memo[id(value)] = (value, process(value))
                row[index] = memo[id(value)][1]
    marks = ", ".join("?" for _ in columns)
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"
    await conn.exec_driver_sql(sql, [tuple(row) for row in values])


def _owners_sql(count: int) -> str:
    """The SQLite text of :data:`_OWNERS` for ``count`` keys (bound by the driver as-is)."""
    marks = ", ".join("?" for _ in range(count))
    t = entity_keys.name
    return f"SELECT key, entity_id FROM {t} WHERE kind = ? AND system = ? AND key IN ({marks})"


class _Statistics:
    """Keeps PostgreSQL's plans right while an import fills the link map.

    Measured without this: the owner lookups repeat one prepared statement, and after five
    runs PostgreSQL switches to a generic plan that walks every key of the kind and system
    (2 ms -> 150 ms per lookup at 15,000 keys); and on a table never analysed (a new link
    map, or one the import itself is filling in its open transaction) both the lookups and
    the foreign-key checks of the inserted keys walk the table, so a 60,000-row import took
    33 s instead of 10. So: plan every lookup with its values, analyse the link tables at
    the start, and again each time the import has doubled the rows it wrote (ANALYZE in the
    import's transaction counts its own rows; a few runs per import). No-op elsewhere.
    """

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self._active = conn.dialect.name == "postgresql"
        self._next = _FIRST_ANALYZE

    async def prepare(self) -> None:
        """Set up the transaction before the first lookup."""
        if self._active:
            await self._analyze()

    async def grown(self, written: int) -> None:
        """Note that ``written`` entities have been written so far."""
        if self._active and written >= self._next:
            self._next = 2 * written
            await self._analyze()

    async def _analyze(self) -> None:
        # a role that does not own the tables gets a warning, not an error
        await self._conn.execute(text("ANALYZE entities, entity_keys"))


_FIRST_ANALYZE: Final = 2000


class _Writer:
    """What an apply writes with: who, why, when, and whether conflicts are skipped."""

    def __init__(self, actor: str, note: str | None, at: datetime, skip: bool) -> None:
        self.actor = actor
        self.note = note
        self.at = at
        self.skip = skip
        self.change_id: int | None = None


async def _match_names(
    chunk: list[ImportRow | RowProblem], matcher: NameMatcher | None
) -> list[ImportRow | RowProblem]:
    """``chunk`` with each row's names turned into keys by ``matcher`` (one call per kind
    and system), or the row turned into a problem naming what did not match."""
    wanted: dict[tuple[str, str], dict[str, None]] = {}
    for row in chunk:
        if isinstance(row, ImportRow):
            for system, names in row.names.items():
                wanted.setdefault((row.kind, system), {}).update(dict.fromkeys(names))
    if not wanted:
        return chunk
    found: dict[tuple[str, str], Mapping[str, str]] = {}
    if matcher is not None:
        for (kind, system), asked in wanted.items():
            found[(kind, system)] = await matcher(kind, system, list(asked))
    result: list[ImportRow | RowProblem] = []
    for row in chunk:
        if not isinstance(row, ImportRow) or not row.names:
            result.append(row)
            continue
        if matcher is None:
            result.append(
                RowProblem(row.line, "a name column needs the match suggestions to find keys")
            )
            continue
        keys = dict(row.keys)
        missing: list[str] = []
        for system, names in row.names.items():
            matched = found[(row.kind, system)]
            for name in names:
                key = matched.get(name)
                if key is None or not validate.is_key(key):
                    missing.append(f"{system} name {name!r}")
                else:
                    keys[system] = tuple(dict.fromkeys((*keys.get(system, ()), key)))
        if missing:
            result.append(RowProblem(row.line, f"no confident match for {', '.join(missing)}"))
        else:
            result.append(ImportRow(row.line, row.kind, keys))
    return result


async def _owners(
    conn: AsyncConnection, rows: Sequence[ImportRow]
) -> dict[tuple[str, str, str], int]:
    """``(kind, system, key) -> entity id`` for the keys of ``rows`` already linked."""
    wanted: dict[tuple[str, str], dict[str, None]] = {}
    for row in rows:
        for system, keys in row.keys.items():
            wanted.setdefault((row.kind, system), {}).update(dict.fromkeys(keys))
    found: dict[tuple[str, str, str], int] = {}
    dialect = conn.dialect.name
    for (kind, system), unique in wanted.items():
        listed = list(unique)
        for start in range(0, len(listed), CHUNK):
            batch = listed[start : start + CHUNK]
            result: Result[Any]
            if dialect == "sqlite":  # skips re-rendering the expanding IN for each call
                sql = _owners_sql(len(batch))
                result = await conn.exec_driver_sql(sql, (kind, system, *batch))
            else:
                statement = _OWNERS_PG if dialect == "postgresql" else _OWNERS
                params = {"kind": kind, "system": system, "keys": batch}
                result = await conn.execute(statement, params)
            pairs: list[Any] = list(result)
            for owned in pairs:
                found[(kind, system, owned[0])] = owned[1]
    return found


async def _classify(
    conn: AsyncConnection, chunk: Sequence[ImportRow | RowProblem], claims: _Claims
) -> list[tuple[RowOutcome, ImportRow | None]]:
    """The verdict on each row of ``chunk``, in order, with the row."""
    rows = [row for row in chunk if isinstance(row, ImportRow)]
    owners = await _owners(conn, rows)
    result: list[tuple[RowOutcome, ImportRow | None]] = []
    for item in chunk:
        if isinstance(item, RowProblem):
            result.append((RowOutcome(item.line, Verdict.INVALID, item.message), None))
            continue
        clash = claims.claim(item)
        held = {owners.get((item.kind, s, k)) for s, ks in item.keys.items() for k in ks}
        if clash is None and len(held) > 1:
            clash = _against_link_map(item, owners)
        if clash is not None:
            result.append((RowOutcome(item.line, Verdict.CONFLICT, clash), item))
            continue
        verdict = Verdict.NEW if held == {None} else Verdict.UNCHANGED
        result.append((RowOutcome(item.line, verdict), item))
    return result


def _against_link_map(row: ImportRow, owners: dict[tuple[str, str, str], int]) -> str | None:
    """Why ``row`` conflicts with the link map, or None if it is new or unchanged."""
    held: dict[int, list[str]] = {}
    free: list[str] = []
    for system, keys in row.keys.items():
        for key in keys:
            owner = owners.get((row.kind, system, key))
            label = f"{system} key {key!r}"
            if owner is None:
                free.append(label)
            else:
                held.setdefault(owner, []).append(label)
    if len(held) > 1:
        spread = "; ".join(f"{', '.join(labels)} to {row.kind} {e}" for e, labels in held.items())
        return f"keys belong to different {row.kind} entities: {spread}"
    if held and free:
        ((entity_id, labels),) = held.items()
        return (
            f"{labels[0]} is already linked to {row.kind} {entity_id}, which does not hold "
            f"{', '.join(free)} (an import never adds keys to an existing entity)"
        )
    return None
