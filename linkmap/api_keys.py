"""API keys of machine clients (the CRM backend, scripts): :class:`ApiKeyStore`.

A key is the string ``kl_<id>_<secret>``: ``id`` is a short public identifier (12 lower-case
hex characters, the primary key of ``api_keys``; safe to log and show), ``secret`` is
``secrets.token_urlsafe(32)`` (32 random bytes, 256 bits). The whole string is returned
exactly once, by :meth:`ApiKeyStore.create`; nothing can show it again.

Why a plain SHA-256 and no slow hash or pepper: the secret is 256 random bits, not a
human-chosen password, so a dictionary or brute-force attack on a leaked hash is hopeless
whatever the hash speed (the reason GitHub tokens and Stripe keys are stored the same way).
A slow KDF would only cost CPU on every request, and a pepper would add a second secret to
manage and rotate without making a 2^256 search any harder. The stored value is
``sha256:<hex>``; the prefix leaves room to change the scheme later.

Promises (identical on SQLite and PostgreSQL):

* Only ``sha256:<hex of SHA-256(secret)>`` is stored; the secret and the full key never are,
  and no method returns a hash or a secret except :meth:`ApiKeyStore.create`'s second
  value. Nothing here logs a key or a secret (key ids are public and may be logged).
* :meth:`ApiKeyStore.verify` returns the key's record only if the presented string is
  well formed, its id exists, its secret hashes to the stored value (compared with
  :func:`hmac.compare_digest`, and a comparison is made even for an unknown id), it is not
  revoked and not expired (``now < expires_at``). Every other case returns None; it never
  raises for a malformed or hostile input string.
* Roles are a non-empty subset of :data:`ROLES`; anything else raises
  :class:`~linkmap.errors.InvalidInput` and writes nothing.
* Revocation is permanent and immediate for every process sharing the database (there is
  no cache); revoking a revoked key changes nothing and returns it as it is. Rows are
  never deleted through this API, so ``list`` shows revoked keys too.
* ``last_used_at`` is refreshed by :meth:`verify` at most once per
  :data:`LAST_USED_INTERVAL` per key (a conditional UPDATE); the refresh is best-effort and
  a database error during it does not fail the verification.
* Time comes from the injected ``clock`` (aware UTC) unless ``now`` is passed.

The store does not own the engine; the caller disposes it. The table comes from
revision 0004 of :mod:`linkmap.migrations` (:func:`linkmap.migrate.upgrade`).
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import insert, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from linkmap import validate
from linkmap.db import WRITE
from linkmap.errors import ConcurrentChange, InvalidInput, LinkMapError
from linkmap.models import API_KEY_ID_MAX, API_KEY_NAME_MAX, api_keys, utcnow
from linkmap.scope import Scope, parse_scope

log = logging.getLogger(__name__)

ROLES: Final[frozenset[str]] = frozenset(
    {"viewer", "sales", "analyst", "admin", "operator", "metrics"}
)
"""The roles a key may carry (the gateway's roles, S5)."""

KEY_PREFIX: Final = "kl_"
"""Every key string starts with this."""

ID_BYTES: Final = 6
"""Random bytes of a key id (12 hex characters)."""

SECRET_BYTES: Final = 32
"""Random bytes of a key secret (``secrets.token_urlsafe``: 43 characters)."""

LAST_USED_INTERVAL: Final = timedelta(minutes=1)
"""``last_used_at`` is refreshed at most this often per key."""

MAX_KEY_LENGTH: Final = 300
"""Longer presented strings are refused before any parsing."""

_HASH_SCHEME: Final = "sha256:"
_KEY_RE: Final = re.compile(r"kl_([0-9a-z]{1,32})_([A-Za-z0-9_-]{43,256})")
# Compared against when the id is unknown, so that both paths do the same work.
_DUMMY_HASH: Final = _HASH_SCHEME + "0" * 64
_ATTEMPTS: Final = 5

_K = api_keys
_COLUMNS: Final = (
    _K.c.id,
    _K.c.name,
    _K.c.roles,
    _K.c.created_at,
    _K.c.created_by,
    _K.c.expires_at,
    _K.c.revoked_at,
    _K.c.revoked_by,
    _K.c.last_used_at,
    _K.c.scope,
)


class ApiKeyNotFound(LinkMapError):
    """No API key with ``key_id`` exists. Nothing was written."""

    def __init__(self, key_id: str) -> None:
        self.key_id = key_id
        super().__init__(f"API key {key_id!r} not found")


@dataclass(frozen=True)
class ApiKeyRecord:
    """What is known about one API key, without its secret or hash; timestamps aware UTC."""

    id: str
    name: str
    roles: frozenset[str]
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None
    last_used_at: datetime | None
    scope: Scope | None = None
    """Row scope (``linkmap.scope``): None sees every entity the roles allow."""

    def is_active(self, now: datetime) -> bool:
        """True if the key is neither revoked nor expired at ``now``."""
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)

    def status(self, now: datetime) -> str:
        """``revoked``, ``expired`` or ``active`` at ``now`` (revoked wins)."""
        if self.revoked_at is not None:
            return "revoked"
        return "active" if self.is_active(now) else "expired"

    @classmethod
    def _of(cls, row: Any) -> ApiKeyRecord:
        """The record in ``row`` (a result row holding :data:`_COLUMNS`)."""
        m = row._mapping
        return cls(
            id=m["id"],
            name=m["name"],
            roles=frozenset(m["roles"]),
            created_at=m["created_at"],
            created_by=m["created_by"],
            expires_at=m["expires_at"],
            revoked_at=m["revoked_at"],
            revoked_by=m["revoked_by"],
            last_used_at=m["last_used_at"],
            scope=None if m["scope"] is None else parse_scope(m["scope"]),
        )


def hash_secret(secret: str) -> str:
    """The stored form of ``secret``: ``sha256:`` and the hex SHA-256 of its UTF-8 bytes."""
    return _HASH_SCHEME + hashlib.sha256(secret.encode("utf-8")).hexdigest()


def parse_key(presented: str) -> tuple[str, str] | None:
    """``(id, secret)`` of a well-formed key string ``kl_<id>_<secret>``, else None."""
    if not isinstance(presented, str) or len(presented) > MAX_KEY_LENGTH:
        return None
    match = _KEY_RE.fullmatch(presented)
    if match is None:
        return None
    return match.group(1), match.group(2)


def check_roles(roles: Iterable[str]) -> frozenset[str]:
    """``roles`` as a set if it is a non-empty subset of :data:`ROLES`, else InvalidInput."""
    if isinstance(roles, str | bytes):
        raise InvalidInput("roles must be a collection of role names, not a string")
    chosen = frozenset(roles)
    if not chosen:
        raise InvalidInput("an API key needs at least one role")
    unknown = chosen - ROLES
    if unknown:
        raise InvalidInput(
            f"unknown roles {sorted(map(str, unknown))}; known roles: {', '.join(sorted(ROLES))}"
        )
    return chosen


class ApiKeyStore:
    """API keys in the link map database; safe for concurrent use by many tasks and by
    several stores/processes on one database. Promises: see the module docstring."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        clock: Callable[[], datetime] = utcnow,
        track_last_used: bool = True,
    ) -> None:
        """Use ``engine`` (not owned) with time from ``clock`` (aware datetimes);
        ``track_last_used=False`` makes :meth:`verify` read-only."""
        self._engine = engine
        self._write_engine = engine.execution_options(**{WRITE: True})
        self._clock = clock
        self._track_last_used = track_last_used

    def _now(self, now: datetime | None = None) -> datetime:
        value = self._clock() if now is None else now
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("API key times must be aware datetimes")
        return value

    async def create(
        self,
        name: str,
        roles: Iterable[str],
        *,
        actor: str,
        expires_at: datetime | None = None,
        scope: Iterable[str] | None = None,
    ) -> tuple[ApiKeyRecord, str]:
        """Create a key named ``name`` (1..255 characters) with ``roles`` (a non-empty
        subset of :data:`ROLES`), by ``actor``, valid until ``expires_at`` (aware, in the
        future; None: until revoked). Return its record and the full key string
        ``kl_<id>_<secret>``, which is shown nowhere else: the caller must hand it over
        once and not log it. ``scope`` limits the entities it sees (``linkmap.scope``; None:
        unscoped). Raises InvalidInput for bad arguments (nothing written)."""
        validate.text("name", name, API_KEY_NAME_MAX)
        row_scope = None if scope is None else parse_scope(scope)
        chosen = check_roles(roles)
        validate.actor(actor)
        now = self._now()
        if expires_at is not None:
            if expires_at.tzinfo is None or expires_at.utcoffset() is None:
                raise InvalidInput("expires_at must be an aware datetime")
            if expires_at <= now:
                raise InvalidInput("expires_at must be in the future")
        for _ in range(_ATTEMPTS):
            key_id = secrets.token_hex(ID_BYTES)
            secret = secrets.token_urlsafe(SECRET_BYTES)
            values = {
                "id": key_id,
                "name": name,
                "roles": sorted(chosen),
                "secret_hash": hash_secret(secret),
                "created_at": now,
                "created_by": actor,
                "expires_at": expires_at,
                "revoked_at": None,
                "revoked_by": None,
                "last_used_at": None,
                "scope": None if row_scope is None else row_scope.as_strings(),
            }
            try:
                async with self._write_engine.begin() as conn:
                    stmt = insert(_K).values(**values).returning(*_COLUMNS)
                    row = (await conn.execute(stmt)).one()
            except IntegrityError:  # an id collision (2^-48 per pair): draw again
                continue
            return ApiKeyRecord._of(row), f"{KEY_PREFIX}{key_id}_{secret}"
        raise ConcurrentChange("could not draw an unused API key id")

    async def verify(self, presented: str, *, now: datetime | None = None) -> ApiKeyRecord | None:
        """The record of the active key ``presented`` is, or None when it is malformed,
        unknown, has the wrong secret, is revoked, or is expired at ``now`` (default: the
        clock). Never raises for a bad string; database errors propagate."""
        parsed = parse_key(presented)
        if parsed is None:
            return None
        key_id, secret = parsed
        at = self._now(now)
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(select(*_COLUMNS, _K.c.secret_hash).where(_K.c.id == key_id))
            ).first()
        stored = row._mapping["secret_hash"] if row is not None else _DUMMY_HASH
        matches = hmac.compare_digest(hash_secret(secret).encode(), str(stored).encode())
        if row is None or not matches:
            return None
        record = ApiKeyRecord._of(row)
        if not record.is_active(at):
            return None
        stale = record.last_used_at is None or record.last_used_at <= at - LAST_USED_INTERVAL
        if self._track_last_used and stale and await self._touch(key_id, at):
            record = replace(record, last_used_at=at)
        return record

    async def _touch(self, key_id: str, at: datetime) -> bool:
        """Set ``last_used_at`` to ``at`` unless another caller did within the interval;
        best-effort (False on a database error, which is logged without secrets)."""
        stmt = (
            update(_K)
            .where(
                _K.c.id == key_id,
                or_(_K.c.last_used_at.is_(None), _K.c.last_used_at <= at - LAST_USED_INTERVAL),
            )
            .values(last_used_at=at)
        )
        try:
            async with self._write_engine.begin() as conn:
                await conn.execute(stmt)
        except SQLAlchemyError as exc:
            log.warning("could not record the use of API key %s: %s", key_id, type(exc).__name__)
            return False
        return True

    async def revoke(self, key_id: str, *, actor: str) -> ApiKeyRecord:
        """Revoke key ``key_id`` by ``actor`` (from now on :meth:`verify` refuses it) and
        return its record. A key revoked before is returned unchanged (the first revocation
        stands). Raises :class:`ApiKeyNotFound` if there is no such key."""
        validate.text("key id", key_id, API_KEY_ID_MAX)
        validate.actor(actor)
        now = self._now()
        async with self._write_engine.begin() as conn:
            await conn.execute(
                update(_K)
                .where(_K.c.id == key_id, _K.c.revoked_at.is_(None))
                .values(revoked_at=now, revoked_by=actor)
            )
            row = (await conn.execute(select(*_COLUMNS).where(_K.c.id == key_id))).first()
        if row is None:
            raise ApiKeyNotFound(key_id)
        return ApiKeyRecord._of(row)

    async def get(self, key_id: str) -> ApiKeyRecord | None:
        """The record of key ``key_id`` (active or not), or None."""
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(*_COLUMNS).where(_K.c.id == key_id))).first()
        return None if row is None else ApiKeyRecord._of(row)

    async def list(self) -> builtins.list[ApiKeyRecord]:
        """Every key, revoked and expired ones included, oldest first; records hold no
        secret and no hash."""
        stmt = select(*_COLUMNS).order_by(_K.c.created_at, _K.c.id)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return [ApiKeyRecord._of(row) for row in rows]
