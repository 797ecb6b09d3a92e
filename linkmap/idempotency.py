"""Idempotency records of forwarded writes (Stripe-style): :class:`IdempotencyStore`.

A record is identified by ``(scope, key)`` (scope: e.g. the principal, so two clients
cannot collide) and remembers the ``fingerprint`` of the request that claimed the key,
its ``state`` and, once known, its ``outcome``:

* ``in_progress``: an attempt holds the key (after :meth:`IdempotencyStore.claim`,
  :meth:`IdempotencyStore.take_over` or :meth:`IdempotencyStore.take_over_abandoned`). It
  carries its ``owner`` (an opaque id of the attempt) and a *lease*: until
  ``lease_until`` (``lease`` after the claim, take-over or :meth:`renew`) the record
  belongs to that attempt; after it, the attempt counts as abandoned (its process was
  killed mid-write) and another may take the record over;
* ``done``: the outcome is final and is returned to every replay (:meth:`complete`);
* ``unknown``: the attempt ended without knowing whether the write happened
  (:meth:`mark_unknown`); ``context`` keeps what is needed to find out later.

Promises (identical on SQLite and PostgreSQL, across connections, engines and processes):

* A record lives at least ``ttl`` (default and minimum 24 h) after it was claimed and
  after each later change of state; after that it is *expired* and treated as absent by
  every method (a new claim replaces it; :meth:`purge_expired` deletes it).
* Of several concurrent claims of one live ``(scope, key)``, exactly one returns True; the
  database's primary key decides (``INSERT .. ON CONFLICT``), not a read-then-write.
* :meth:`take_over` and :meth:`take_over_abandoned` are compare-and-sets: exactly one
  concurrent caller wins. A record whose lease has not run out is never taken over, and a
  record without a lease (claimed before leases existed) never counts as abandoned.
* An ``owner`` given to :meth:`renew`, :meth:`mark_unknown` or :meth:`release` fences the
  call: if another attempt has taken the record over meanwhile, it raises
  :class:`IdempotencyLeaseLost` and writes nothing. :meth:`complete` is not fenced: the
  outcome of the one write is the same fact whoever learns it first, and the first
  stored outcome stands.
* A ``done`` record is never changed (its outcome may already have been replayed) or
  released; trying raises :class:`~linkmap.errors.IdempotencyStateError`.
* ``outcome`` and ``context`` are JSON objects and read back equal to what the method
  returned when they were stored (see :func:`linkmap.validate.json_object`: ``Decimal``
  is stored as its exact string, tuples as lists; non-JSON values raise ``InvalidInput``).
* Every method is one short transaction; expected failures raise the typed errors of
  :mod:`linkmap.errors` and write nothing.
* Time comes from the injected ``clock`` (aware UTC); only :meth:`wait_for_outcome`'s
  ``timeout``/``poll`` are real (event-loop) seconds.

The store does not own the engine (it is usually the :class:`~linkmap.store.LinkStore`'s);
the caller disposes it. The schema comes from :func:`linkmap.migrate.upgrade`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from linkmap import validate
from linkmap.db import WRITE
from linkmap.errors import (
    ConcurrentChange,
    IdempotencyRecordMissing,
    IdempotencyStateError,
    InvalidInput,
)
from linkmap.models import OWNER_MAX, IdempotencyState, idempotency_records, utcnow

DEFAULT_LEASE: Final = timedelta(seconds=60)
"""How long an in-progress record belongs to its attempt by default: longer than the
whole-request deadline (30 s), past which a live attempt has ended or marked its record
``unknown``, plus a margin."""

DEFAULT_TTL: Final = timedelta(hours=24)
"""How long records live by default: 24 h, as Stripe keeps keys."""

MIN_TTL: Final = timedelta(hours=24)
"""The shortest ``ttl`` accepted: a replay within a day must always find its record."""

_ATTEMPTS: Final = 5
_T = idempotency_records
_COLUMNS: Final = (
    _T.c.scope,
    _T.c.key,
    _T.c.fingerprint,
    _T.c.state,
    _T.c.outcome,
    _T.c.context,
    _T.c.created_at,
    _T.c.updated_at,
    _T.c.expires_at,
    _T.c.owner,
    _T.c.lease_until,
)


@dataclass(frozen=True)
class IdempotencyRecord:
    """A snapshot of one idempotency record; all timestamps aware UTC. ``outcome`` is set
    once ``state`` is ``done``; ``context`` is what the claimer (or :meth:`renew`,
    :meth:`mark_unknown`) stored to resolve an unknown outcome. ``owner`` is the attempt
    that last held the record and ``lease_until`` the end of its lease (both None for a
    record claimed without a lease). Treat the dicts as read-only."""

    scope: str
    key: str
    fingerprint: str
    state: IdempotencyState
    outcome: dict[str, Any] | None
    context: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    owner: str | None = None
    lease_until: datetime | None = None

    def abandoned(self, now: datetime) -> bool:
        """Whether this is an ``in_progress`` record whose lease ran out by ``now``."""
        return (
            self.state == "in_progress" and self.lease_until is not None and self.lease_until <= now
        )

    @classmethod
    def _of(cls, row: Any) -> IdempotencyRecord:
        """The record in ``row`` (a result row of :data:`_COLUMNS`)."""
        m = row._mapping
        return cls(
            scope=m["scope"],
            key=m["key"],
            fingerprint=m["fingerprint"],
            state=m["state"],
            outcome=m["outcome"],
            context=m["context"],
            created_at=m["created_at"],
            updated_at=m["updated_at"],
            expires_at=m["expires_at"],
            owner=m["owner"],
            lease_until=m["lease_until"],
        )


class IdempotencyLeaseLost(IdempotencyStateError):
    """The attempt ``owner`` no longer holds the record of ``(scope, key)``: another attempt
    took it over after its lease ran out (or it is no longer in progress). Nothing was
    written; the record belongs to whoever holds it now."""

    def __init__(self, scope: str, key: str, state: str, operation: str, owner: str) -> None:
        super().__init__(scope, key, state, operation)
        self.owner = owner
        self.args = (
            f"cannot {operation} idempotency record {key!r} in scope {scope!r}: "
            f"attempt {owner!r} no longer holds it",
        )


def new_owner() -> str:
    """A fresh id for one attempt (the ``owner`` of the records it claims)."""
    return uuid.uuid4().hex


def _json_or_none(what: str, value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return None if value is None else validate.json_object(what, value)


class IdempotencyStore:
    """Idempotency records in the link map database; safe for concurrent use by many tasks
    and by several stores/processes on one database. Promises: see the module docstring."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        ttl: timedelta = DEFAULT_TTL,
        lease: timedelta = DEFAULT_LEASE,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """Use ``engine`` (not owned) with records living ``ttl`` (>= :data:`MIN_TTL`),
        in-progress records leased for ``lease`` (positive, shorter than ``ttl``; keep it
        longer than any attempt can take: the whole-request deadline) and time from
        ``clock``, which must return aware datetimes."""
        if ttl < MIN_TTL:
            raise InvalidInput(f"idempotency records must live at least {MIN_TTL}, not {ttl}")
        if not timedelta(0) < lease < ttl:
            raise InvalidInput(f"the lease must be positive and shorter than {ttl}, not {lease}")
        self._engine = engine
        self._write_engine = engine.execution_options(**{WRITE: True})
        self._ttl = ttl
        self._lease = lease
        self._clock = clock

    @property
    def ttl(self) -> timedelta:
        """How long a record lives after its last change of state."""
        return self._ttl

    @property
    def lease(self) -> timedelta:
        """How long an in-progress record belongs to its attempt after each claim,
        take-over or renewal."""
        return self._lease

    def now(self) -> datetime:
        """The store's clock (aware UTC): what leases and expiry are measured against."""
        return self._now()

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("the idempotency clock returned a naive datetime")
        return now

    # ------------------------------------------------------------------ claim

    async def claim(
        self,
        scope: str,
        key: str,
        fingerprint: str,
        *,
        context: Mapping[str, Any] | None = None,
        owner: str | None = None,
    ) -> tuple[bool, IdempotencyRecord]:
        """Claim ``key`` in ``scope`` for the request with ``fingerprint``.

        If no live record exists (none, or only an expired one, which is replaced), insert
        one in state ``in_progress`` holding ``context``, owned by ``owner`` (a new id if
        None) with a lease of :attr:`lease`, and return ``(True, it)``. If a live
        record exists return ``(False, existing)`` and change nothing; comparing
        fingerprints (same key, different request) is the caller's business. Exactly one of
        any number of concurrent claims of one ``(scope, key)`` returns True.
        """
        validate.scope(scope)
        validate.idempotency_key(key)
        validate.fingerprint(fingerprint)
        stored_context = _json_or_none("context", context)
        holder = _owner(owner)
        for _ in range(_ATTEMPTS):
            now = self._now()
            values = {
                "scope": scope,
                "key": key,
                "fingerprint": fingerprint,
                "state": "in_progress",
                "outcome": None,
                "context": stored_context,
                "created_at": now,
                "updated_at": now,
                "expires_at": now + self._ttl,
                "owner": holder,
                "lease_until": now + self._lease,
            }
            async with self._write_engine.begin() as conn:
                insert = _dialect_insert(conn)
                stmt = insert.values(**values)
                upsert = stmt.on_conflict_do_update(
                    index_elements=[_T.c.scope, _T.c.key],
                    set_={
                        name: stmt.excluded[name] for name in values if name not in ("scope", "key")
                    },
                    where=_T.c.expires_at <= now,  # only an expired record is replaced
                ).returning(*_COLUMNS)
                row = (await conn.execute(upsert)).first()
                if row is not None:
                    return True, IdempotencyRecord._of(row)
                # A live record won. PostgreSQL has locked it (ON CONFLICT .. DO UPDATE
                # locks the conflicting row even when WHERE is false); SQLite holds the
                # write lock: so it is still there to read.
                existing = await self._select(conn, scope, key)
                if existing is not None:
                    return False, existing
        raise ConcurrentChange("idempotency claim kept colliding with concurrent changes")

    # ------------------------------------------------------------ transitions

    async def complete(self, scope: str, key: str, outcome: Mapping[str, Any]) -> IdempotencyRecord:
        """Store the final ``outcome`` (``in_progress`` or ``unknown`` -> ``done``) and
        return the record; it then lives ``ttl`` from now (never shorter than before).
        Raises :class:`IdempotencyRecordMissing` if there is no live record and
        :class:`IdempotencyStateError` if it is already ``done``."""
        stored = validate.json_object("outcome", outcome)
        return await self._transition(
            scope,
            key,
            "complete",
            allowed=("in_progress", "unknown"),
            changes={"state": "done", "outcome": stored},
        )

    async def mark_unknown(
        self,
        scope: str,
        key: str,
        context: Mapping[str, Any] | None = None,
        *,
        owner: str | None = None,
    ) -> IdempotencyRecord:
        """Record that the attempt ended without knowing whether the write happened
        (``in_progress`` or ``unknown`` -> ``unknown``) and return the record; ``context``,
        if given, replaces the stored context (None keeps it). The record then lives
        ``ttl`` from now. Raises :class:`IdempotencyRecordMissing` if there is no live
        record, :class:`IdempotencyStateError` if it is ``done`` and
        :class:`IdempotencyLeaseLost` if ``owner`` is given and another attempt holds it."""
        changes: dict[str, Any] = {"state": "unknown"}
        if context is not None:
            changes["context"] = validate.json_object("context", context)
        return await self._transition(
            scope,
            key,
            "mark unknown",
            allowed=("in_progress", "unknown"),
            changes=changes,
            owner=owner,
        )

    async def renew(
        self, scope: str, key: str, owner: str, context: Mapping[str, Any] | None = None
    ) -> IdempotencyRecord:
        """Confirm that attempt ``owner`` still holds the ``in_progress`` record and extend
        its lease to :attr:`lease` from now; ``context``, if given, replaces the stored
        context (e.g. what a later attempt needs to learn whether the write happened, stored
        just before the write is sent). Raises :class:`IdempotencyRecordMissing` if there is
        no live record and :class:`IdempotencyLeaseLost` if another attempt holds it or it
        is no longer in progress (the caller must not send its write)."""
        changes: dict[str, Any] = {}
        if context is not None:
            changes["context"] = validate.json_object("context", context)
        return await self._transition(
            scope, key, "renew", allowed=("in_progress",), changes=changes, owner=owner, lease=True
        )

    async def take_over(self, scope: str, key: str, *, owner: str | None = None) -> bool:
        """Compare-and-set ``unknown`` -> ``in_progress``: return True if this call moved
        the live record out of ``unknown`` (the caller, ``owner``, now holds the attempt
        with a fresh lease and must :meth:`complete`, :meth:`mark_unknown` or
        :meth:`release` it), False if it is in another state, missing or expired. Exactly
        one of concurrent callers wins."""
        return await self._take(scope, key, owner, _T.c.state == "unknown")

    async def take_over_abandoned(self, scope: str, key: str, *, owner: str | None = None) -> bool:
        """Compare-and-set of an abandoned attempt: an ``in_progress`` record whose lease
        ran out passes to ``owner`` with a fresh lease. Return True if this call took it
        (the caller must find out whether the abandoned attempt's write happened, then
        :meth:`complete`, :meth:`mark_unknown` or :meth:`release` it), False otherwise (in
        another state, lease still running, no lease, missing or expired). Exactly one of
        concurrent callers wins."""
        now = self._now()
        return await self._take(
            scope,
            key,
            owner,
            (_T.c.state == "in_progress") & (_T.c.lease_until <= now),
            now=now,
        )

    async def release(self, scope: str, key: str, *, owner: str | None = None) -> None:
        """Delete the record because the attempt certainly did not happen, so that the key
        may be claimed again. Allowed from ``in_progress`` and ``unknown``; a missing or
        expired record is a no-op; a ``done`` record raises
        :class:`IdempotencyStateError` (its outcome stands); if ``owner`` is given and
        another attempt holds the record, :class:`IdempotencyLeaseLost`."""
        validate.scope(scope)
        validate.idempotency_key(key)
        now = self._now()
        async with self._write_engine.begin() as conn:
            current = await self._select(conn, scope, key, lock=True)
            if current is None:
                return
            if current.state == "done" and current.expires_at > now:
                raise IdempotencyStateError(scope, key, current.state, "release")
            if owner is not None and current.expires_at > now and current.owner != owner:
                raise IdempotencyLeaseLost(scope, key, current.state, "release", owner)
            await conn.execute(delete(_T).where(_T.c.scope == scope, _T.c.key == key))

    # ------------------------------------------------------------------ reads

    async def get(self, scope: str, key: str) -> IdempotencyRecord | None:
        """Return the live record of ``(scope, key)``, or None (absent or expired)."""
        validate.scope(scope)
        validate.idempotency_key(key)
        now = self._now()
        async with self._engine.connect() as conn:
            record = await self._select(conn, scope, key)
        return record if record is not None and record.expires_at > now else None

    async def wait_for_outcome(
        self, scope: str, key: str, *, timeout: float, poll: float = 0.05
    ) -> IdempotencyRecord | None:
        """Poll every ``poll`` seconds until the record leaves ``in_progress`` or its lease
        runs out, and return it (``done``, ``unknown``, or ``in_progress`` and
        :meth:`~IdempotencyRecord.abandoned`: it may be taken over). After ``timeout``
        seconds return the record still ``in_progress``. Return None as soon as there is no
        live record (released or expired: the key may be claimed again). Reads at least
        once, even if ``timeout <= 0``."""
        if poll <= 0:
            raise InvalidInput(f"poll must be positive, got {poll}")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            record = await self.get(scope, key)
            if record is None or record.state != "in_progress" or record.abandoned(self._now()):
                return record
            remaining = deadline - loop.time()
            if remaining <= 0:
                return record
            await asyncio.sleep(min(poll, remaining))

    # ------------------------------------------------------------ maintenance

    async def purge_expired(self) -> int:
        """Delete every expired record (in any state) and return how many were deleted."""
        now = self._now()
        async with self._write_engine.begin() as conn:
            result = await conn.execute(delete(_T).where(_T.c.expires_at <= now))
            return int(result.rowcount)

    # -------------------------------------------------------------- internals

    def _expiry(self, now: datetime) -> datetime:
        return now + self._ttl

    async def _take(
        self,
        scope: str,
        key: str,
        owner: str | None,
        condition: Any,
        *,
        now: datetime | None = None,
    ) -> bool:
        """Compare-and-set a live record matching ``condition`` to ``in_progress`` held by
        ``owner`` (a new id if None) with a fresh lease; True if this call changed it."""
        validate.scope(scope)
        validate.idempotency_key(key)
        holder = _owner(owner)
        now = self._now() if now is None else now
        stmt = (
            update(_T)
            .where(_T.c.scope == scope, _T.c.key == key, _T.c.expires_at > now, condition)
            .values(
                state="in_progress",
                owner=holder,
                lease_until=now + self._lease,
                updated_at=now,
                expires_at=case(
                    (_T.c.expires_at > self._expiry(now), _T.c.expires_at),
                    else_=self._expiry(now),
                ),
            )
        )
        async with self._write_engine.begin() as conn:
            result = await conn.execute(stmt)
            return result.rowcount == 1

    async def _transition(
        self,
        scope: str,
        key: str,
        operation: str,
        *,
        allowed: Collection[str],
        changes: dict[str, Any],
        owner: str | None = None,
        lease: bool = False,
    ) -> IdempotencyRecord:
        """Apply ``changes`` to the live record if its state is in ``allowed`` (and, with
        ``owner``, if that attempt holds it); bump ``updated_at``, extend ``expires_at`` to
        at least ``now + ttl`` and, with ``lease``, the lease to ``now + lease``."""
        validate.scope(scope)
        validate.idempotency_key(key)
        now = self._now()
        async with self._write_engine.begin() as conn:
            current = await self._select(conn, scope, key, lock=True)
            if current is None or current.expires_at <= now:
                raise IdempotencyRecordMissing(scope, key)
            if owner is not None and current.state != "done" and current.owner != owner:
                raise IdempotencyLeaseLost(scope, key, current.state, operation, owner)
            if current.state not in allowed:
                if owner is not None and current.state != "done":
                    raise IdempotencyLeaseLost(scope, key, current.state, operation, owner)
                raise IdempotencyStateError(scope, key, current.state, operation)
            values = {
                **changes,
                "updated_at": now,
                "expires_at": max(current.expires_at, self._expiry(now)),
            }
            if lease:
                values["lease_until"] = now + self._lease
            row = (
                await conn.execute(
                    update(_T)
                    .where(_T.c.scope == scope, _T.c.key == key)
                    .values(**values)
                    .returning(*_COLUMNS)
                )
            ).one()
        return IdempotencyRecord._of(row)

    @staticmethod
    async def _select(
        conn: AsyncConnection, scope: str, key: str, *, lock: bool = False
    ) -> IdempotencyRecord | None:
        """The record of ``(scope, key)``, expired or not; ``lock``: lock it for the rest of
        the transaction (PostgreSQL ``FOR UPDATE``; SQLite already holds the write lock)."""
        stmt = select(*_COLUMNS).where(_T.c.scope == scope, _T.c.key == key)
        if lock:
            stmt = stmt.with_for_update()
        row = (await conn.execute(stmt)).first()
        return None if row is None else IdempotencyRecord._of(row)


def _owner(owner: str | None) -> str:
    """``owner`` checked (1..64 characters), or a new attempt id if None."""
    if owner is None:
        return new_owner()
    return validate.text("owner", owner, OWNER_MAX)


def _dialect_insert(conn: AsyncConnection) -> postgresql.Insert | sqlite.Insert:
    """``INSERT`` construct with ``ON CONFLICT`` support for the connection's dialect."""
    name = conn.dialect.name
    if name == "postgresql":
        return postgresql.insert(_T)
    if name == "sqlite":
        return sqlite.insert(_T)
    raise NotImplementedError(f"idempotency records need SQLite or PostgreSQL, not {name}")
