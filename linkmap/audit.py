"""The append-only audit of forwarded writes: :class:`AuditLog` and :class:`AuditEvent`.

One event per attempted write, including rejections, conflicts and replays: who, when,
which system/order/line (and the order's customer in that system, when known), which
fields, the line before and after, the idempotency key, whether it was a replay, the
outcome and the ERP's latency.

Promises (identical on SQLite and PostgreSQL):

* Append-only, enforced by the database, not only by this API: triggers created by the
  migrations refuse every ``UPDATE`` and ``DELETE`` of ``audit_events`` (and ``TRUNCATE``
  on PostgreSQL) with an integrity error mentioning ``audit_events is append-only``.
  (Whoever may drop triggers or tables can still destroy the audit; that is a matter of
  database privileges.)
* Ids are never reused and grow in insertion order, so "newest first" is "highest id
  first" and keyset pagination with ``before_id`` neither skips nor repeats events while
  others are appended.
* :meth:`AuditLog.record` is one transaction; the returned event is exactly what reads
  return later (JSON normalised as by :func:`linkmap.validate.json_object`: ``Decimal``
  as its exact string). Malformed arguments raise
  :class:`~linkmap.errors.InvalidInput` and write nothing.
* The log stores what it is given: callers must not pass secrets (tokens, passwords).

The log does not own the engine; the caller disposes it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from linkmap import validate
from linkmap.db import WRITE
from linkmap.errors import InvalidInput
from linkmap.models import (
    ACTOR_MAX,
    KEY_MAX,
    OPERATION_MAX,
    OUTCOME_MAX,
    SYSTEM_MAX,
    audit_events,
    utcnow,
)

MAX_PAGE: Final = 1000
"""Largest ``limit`` accepted by :meth:`AuditLog.events`."""

FIELD_MAX: Final = 64
"""Longest field name accepted in ``fields``."""

_A = audit_events
_COLUMNS: Final = (
    _A.c.id,
    _A.c.at,
    _A.c.actor,
    _A.c.operation,
    _A.c.system,
    _A.c.order_key,
    _A.c.line_key,
    _A.c.fields,
    _A.c.before,
    _A.c.after,
    _A.c.idempotency_key,
    _A.c.replay,
    _A.c.outcome,
    _A.c.erp_latency_ms,
    _A.c.detail,
    _A.c.customer_key,
)


@dataclass(frozen=True)
class AuditEvent:
    """One recorded attempt; ``at`` is aware UTC. ``before``/``after`` are the line as JSON
    objects (None when there was none); treat them as read-only. ``customer_key`` is the
    order's customer in ``system`` when the writer knew it (it decides which scoped
    principals may read the event)."""

    id: int
    at: datetime
    actor: str
    operation: str
    system: str
    order_key: str | None
    line_key: str | None
    fields: tuple[str, ...]
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    idempotency_key: str | None
    replay: bool
    outcome: str
    erp_latency_ms: int | None
    detail: str | None
    customer_key: str | None = None

    @classmethod
    def _of(cls, row: Any) -> AuditEvent:
        """The event in ``row`` (a result row of :data:`_COLUMNS`)."""
        m = row._mapping
        return cls(
            id=int(m["id"]),
            at=m["at"],
            actor=m["actor"],
            operation=m["operation"],
            system=m["system"],
            order_key=m["order_key"],
            line_key=m["line_key"],
            fields=tuple(m["fields"]),
            before=m["before"],
            after=m["after"],
            idempotency_key=m["idempotency_key"],
            replay=bool(m["replay"]),
            outcome=m["outcome"],
            erp_latency_ms=m["erp_latency_ms"],
            detail=m["detail"],
            customer_key=m["customer_key"],
        )


def _fields(values: Sequence[str]) -> list[str]:
    if isinstance(values, str | bytes):
        raise InvalidInput("fields must be a sequence of field names, not a string")
    return [validate.text("field name", v, FIELD_MAX) for v in values]


class AuditLog:
    """The audit trail in the link map database; safe for concurrent use by many tasks.
    Promises: see the module docstring."""

    def __init__(self, engine: AsyncEngine, *, clock: Callable[[], datetime] = utcnow) -> None:
        """Use ``engine`` (not owned); ``clock`` (aware datetimes) stamps events."""
        self._engine = engine
        self._write_engine = engine.execution_options(**{WRITE: True})
        self._clock = clock

    async def record(
        self,
        *,
        actor: str,
        operation: str,
        system: str,
        outcome: str,
        order_key: str | None = None,
        line_key: str | None = None,
        fields: Sequence[str] = (),
        before: Mapping[str, Any] | None = None,
        after: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        replay: bool = False,
        erp_latency_ms: int | None = None,
        detail: str | None = None,
        customer_key: str | None = None,
    ) -> AuditEvent:
        """Append one event stamped with the clock's time and return it as stored.

        Limits (else :class:`InvalidInput`, nothing written): ``actor`` 1..255 characters,
        ``operation`` 1..32, ``system`` 1..64, ``outcome`` 1..64, ``order_key``,
        ``line_key``, ``idempotency_key`` and ``customer_key`` None or 1..255, field
        names 1..64 (order
        kept), ``before``/``after`` JSON objects or None, ``erp_latency_ms`` None or
        ``>= 0``; ``detail`` is free text of any length.
        """
        if erp_latency_ms is not None and (
            isinstance(erp_latency_ms, bool)
            or not isinstance(erp_latency_ms, int)
            or erp_latency_ms < 0
        ):
            raise InvalidInput(f"erp_latency_ms must be None or an int >= 0: {erp_latency_ms!r}")
        if detail is not None and not isinstance(detail, str):
            raise InvalidInput(f"detail must be None or a string, got {type(detail).__name__}")
        values: dict[str, Any] = {
            "at": self._clock(),
            "actor": validate.text("actor", actor, ACTOR_MAX),
            "operation": validate.text("operation", operation, OPERATION_MAX),
            "system": validate.text("system", system, SYSTEM_MAX),
            "order_key": validate.optional_text("order_key", order_key, KEY_MAX),
            "line_key": validate.optional_text("line_key", line_key, KEY_MAX),
            "fields": _fields(fields),
            "before": None if before is None else validate.json_object("before", before),
            "after": None if after is None else validate.json_object("after", after),
            "idempotency_key": validate.optional_text("idempotency_key", idempotency_key, KEY_MAX),
            "replay": bool(replay),
            "outcome": validate.text("outcome", outcome, OUTCOME_MAX),
            "erp_latency_ms": erp_latency_ms,
            "detail": detail,
            "customer_key": validate.optional_text("customer_key", customer_key, KEY_MAX),
        }
        async with self._write_engine.begin() as conn:
            row = (await conn.execute(insert(_A).values(**values).returning(*_COLUMNS))).one()
        return AuditEvent._of(row)

    async def events(
        self,
        *,
        order_key: str | None = None,
        line_key: str | None = None,
        system: str | None = None,
        customer_keys: Collection[str] | None = None,
        limit: int = 100,
        before_id: int | None = None,
    ) -> list[AuditEvent]:
        """Return up to ``limit`` events matching every given filter, newest (highest id)
        first, with id below ``before_id`` if given (keyset pagination: pass the last id of
        a page to get the next; an empty list means the end). ``customer_keys``: only
        events whose ``customer_key`` is one of them (none for an empty collection; events
        without a customer never match). One SQL statement; ``1 <= limit <= MAX_PAGE``."""
        validate.limit(limit, MAX_PAGE)
        if customer_keys is not None:
            if isinstance(customer_keys, str | bytes):
                raise InvalidInput("customer_keys must be a collection of keys, not a string")
            if not customer_keys:
                return []
        stmt = select(*_COLUMNS)
        if order_key is not None:
            stmt = stmt.where(_A.c.order_key == order_key)
        if line_key is not None:
            stmt = stmt.where(_A.c.line_key == line_key)
        if system is not None:
            stmt = stmt.where(_A.c.system == system)
        if customer_keys is not None:
            stmt = stmt.where(_A.c.customer_key.in_(sorted(set(customer_keys))))
        if before_id is not None:
            stmt = stmt.where(_A.c.id < before_id)
        stmt = stmt.order_by(_A.c.id.desc()).limit(limit)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return [AuditEvent._of(row) for row in rows]

    async def customers_of(self, *, system: str, order_key: str) -> list[str]:
        """The distinct customer keys recorded with the events of ``order_key`` in
        ``system``, sorted (events without a customer contribute none)."""
        stmt = (
            select(_A.c.customer_key)
            .where(
                _A.c.system == system,
                _A.c.order_key == order_key,
                _A.c.customer_key.is_not(None),
            )
            .distinct()
        )
        async with self._engine.connect() as conn:
            keys = (await conn.execute(stmt)).scalars().all()
        return sorted(str(k) for k in keys)

    async def count(self) -> int:
        """Return the number of recorded events."""
        async with self._engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(_A))).scalar_one())
