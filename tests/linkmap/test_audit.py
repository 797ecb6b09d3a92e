"""AuditLog on SQLite and PostgreSQL: recording, filters, keyset pagination, and the
database itself refusing to change or remove audit rows. Each test gets a fresh database
(audit rows cannot be deleted between tests, by design)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from linkmap.audit import AuditEvent, AuditLog
from linkmap.db import create_engine
from linkmap.errors import InvalidInput
from tests.linkmap.conftest import FakeClock


@pytest.fixture
async def engine(fresh_linkmap_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(fresh_linkmap_url)
    yield eng
    await eng.dispose()


@pytest.fixture
def audit(engine: AsyncEngine, clock: FakeClock) -> AuditLog:
    return AuditLog(engine, clock=clock)


async def _event(audit: AuditLog, **overrides: Any) -> AuditEvent:
    args: dict[str, Any] = {
        "actor": "alice",
        "operation": "update_line",
        "system": "erp",
        "outcome": "APPLIED",
        "order_key": "SO-1",
        "line_key": "L-1",
    }
    args.update(overrides)
    return await audit.record(**args)


async def test_record_and_read_back(audit: AuditLog, clock: FakeClock) -> None:
    event = await audit.record(
        actor="alice@example.com",
        operation="update_line",
        system="erp",
        outcome="APPLIED",
        order_key="SO-1",
        line_key="L-7",
        fields=["quantity", "discount_percent"],
        before={"quantity": "2", "price": Decimal("10.00"), "note": "Grüße 🚀"},
        after={"quantity": "3", "price": "10.00", "tags": ["a", {"b": None}]},
        idempotency_key="idem-1",
        replay=False,
        erp_latency_ms=42,
    )
    assert event.at == clock.now
    assert event.fields == ("quantity", "discount_percent")
    assert event.before == {"quantity": "2", "price": "10.00", "note": "Grüße 🚀"}
    assert event.after == {"quantity": "3", "price": "10.00", "tags": ["a", {"b": None}]}
    assert (event.idempotency_key, event.replay, event.erp_latency_ms, event.detail) == (
        "idem-1",
        False,
        42,
        None,
    )
    assert await audit.events() == [event]
    assert await audit.count() == 1


async def test_minimal_event_and_replay_flag(audit: AuditLog) -> None:
    event = await audit.record(
        actor="bob",
        operation="add_line",
        system="erp",
        outcome="IDEMPOTENCY_MISMATCH",
        replay=True,
        detail="this idempotency key was used for a different request",
    )
    assert (event.order_key, event.line_key, event.fields, event.before, event.after) == (
        None,
        None,
        (),
        None,
        None,
    )
    assert event.replay is True
    assert (await audit.events())[0] == event


async def test_filters(audit: AuditLog) -> None:
    a = await _event(audit, order_key="SO-1", line_key="L-1", system="erp")
    b = await _event(audit, order_key="SO-1", line_key="L-2", system="erp")
    c = await _event(audit, order_key="SO-2", line_key="L-1", system="erp2")
    d = await _event(audit, order_key=None, line_key=None, system="erp")
    assert await audit.events() == [d, c, b, a]
    assert await audit.events(order_key="SO-1") == [b, a]
    assert await audit.events(line_key="L-1") == [c, a]
    assert await audit.events(system="erp") == [d, b, a]
    assert await audit.events(order_key="SO-1", line_key="L-2") == [b]
    assert await audit.events(order_key="SO-2", system="erp") == []
    assert await audit.events(order_key="nope") == []


async def test_keyset_pagination_newest_first(audit: AuditLog) -> None:
    made = [await _event(audit, order_key="SO-9" if i % 2 else "SO-8") for i in range(25)]
    pages: list[list[AuditEvent]] = []
    before: int | None = None
    while page := await audit.events(limit=10, before_id=before):
        pages.append(page)
        before = page[-1].id
    assert [len(p) for p in pages] == [10, 10, 5]
    assert [e.id for p in pages for e in p] == [e.id for e in reversed(made)]

    odd = [e for e in made if e.order_key == "SO-9"]
    first = await audit.events(order_key="SO-9", limit=5)
    rest = await audit.events(order_key="SO-9", limit=100, before_id=first[-1].id)
    assert first + rest == list(reversed(odd))
    with pytest.raises(InvalidInput):
        await audit.events(limit=0)
    with pytest.raises(InvalidInput):
        await audit.events(limit=1001)


async def test_concurrent_records_get_distinct_ids(audit: AuditLog, engine: AsyncEngine) -> None:
    other = create_engine(engine.url)
    try:
        logs = [audit, AuditLog(other)] * 10
        events = await asyncio.gather(
            *(_event(log, actor=f"user{i}") for i, log in enumerate(logs))
        )
    finally:
        await other.dispose()
    assert len({e.id for e in events}) == 20
    assert await audit.count() == 20


INVALID: list[dict[str, Any]] = [
    {"actor": ""},
    {"actor": "x" * 256},
    {"operation": "o" * 33},
    {"system": "s" * 65},
    {"outcome": ""},
    {"outcome": "X" * 65},
    {"order_key": "k" * 256},
    {"line_key": ""},
    {"idempotency_key": "i" * 256},
    {"fields": "quantity"},
    {"fields": ["ok", ""]},
    {"erp_latency_ms": -1},
    {"before": {"x": float("nan")}},
    {"after": ["not", "an", "object"]},
]


async def test_invalid_events_are_refused(audit: AuditLog) -> None:
    for overrides in INVALID:
        with pytest.raises(InvalidInput):
            await _event(audit, **overrides)
    assert await audit.count() == 0


async def test_maximum_lengths_are_accepted(audit: AuditLog) -> None:
    event = await _event(
        audit,
        actor="a" * 255,
        operation="o" * 32,
        system="s" * 64,
        outcome="X" * 64,
        order_key="k" * 255,
        line_key="l" * 255,
        idempotency_key="i" * 255,
        detail="d" * 10_000,
    )
    assert (await audit.events())[0] == event


async def _row(engine: AsyncEngine, event_id: int) -> tuple[Any, ...]:
    async with engine.connect() as conn:
        result = await conn.execute(
            text("SELECT actor, outcome, detail FROM audit_events WHERE id = :id"), {"id": event_id}
        )
        return tuple(result.one())


TAMPERING = [
    "UPDATE audit_events SET outcome = 'FORGED' WHERE id = :id",
    "UPDATE audit_events SET detail = 'x'",
    "DELETE FROM audit_events WHERE id = :id",
    "DELETE FROM audit_events",
]


async def test_the_database_refuses_updates_and_deletes(
    audit: AuditLog, engine: AsyncEngine
) -> None:
    event = await _event(audit)
    before = await _row(engine, event.id)
    for statement in TAMPERING:
        with pytest.raises(IntegrityError, match="append-only"):
            async with engine.begin() as conn:
                await conn.execute(text(statement), {"id": event.id})
        assert await _row(engine, event.id) == before, statement
    assert await audit.count() == 1
    assert await audit.events() == [event]


@pytest.mark.parametrize(
    "server", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_postgres_refuses_truncate(audit: AuditLog, engine: AsyncEngine) -> None:
    assert engine.dialect.name == "postgresql"
    event = await _event(audit)
    with pytest.raises(DBAPIError, match="append-only"):
        async with engine.begin() as conn:
            await conn.execute(text("TRUNCATE audit_events"))
    assert await audit.events() == [event]


async def test_events_keep_the_orders_customer_and_filter_by_it(audit: AuditLog) -> None:
    a = await _event(audit, order_key="SO-1", customer_key="10001")
    b = await _event(audit, order_key="SO-1", customer_key=None)  # refused before reading
    c = await _event(audit, order_key="SO-1", customer_key="10002")
    d = await _event(audit, order_key="SO-2", customer_key="10001")
    assert (a.customer_key, b.customer_key) == ("10001", None)
    assert (await audit.events(order_key="SO-1"))[-1] == a  # read back as recorded
    assert await audit.customers_of(system="erp", order_key="SO-1") == ["10001", "10002"]
    assert await audit.customers_of(system="erp2", order_key="SO-1") == []
    assert await audit.events(order_key="SO-1", customer_keys=["10001"]) == [a]
    assert await audit.events(customer_keys={"10001", "10002"}) == [d, c, a]
    assert await audit.events(order_key="SO-1", customer_keys=[]) == []  # none admitted
    with pytest.raises(InvalidInput):
        await audit.events(customer_keys="10001")
    with pytest.raises(InvalidInput):
        await _event(audit, customer_key="x" * 256)
