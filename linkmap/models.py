"""Schema of the link map: SQLAlchemy 2 declarative models.

Promises:

* ``entities``: one row per customer/supplier/project/order Keylink knows about. Ids are never
  reused (``AUTOINCREMENT`` on SQLite, a sequence on PostgreSQL), so history of a
  deleted entity can never be confused with a later one.
* ``entity_keys``: the keys of an entity per upstream system. ``UNIQUE(kind, system, key)``
  makes a key belong to at most one entity of a kind; an entity may hold several keys in
  one system. ``kind`` is a denormalised copy of the entity's kind, kept honest by a
  composite foreign key ``(entity_id, kind) -> entities(id, kind)``; deleting an entity
  deletes its keys (``ON DELETE CASCADE``).
* ``entity_keys`` also says where each link came from (``provenance``: ``manual``,
  ``import`` or ``suggestion``) and when it holds (``valid_from``/``valid_to``, inclusive
  dates, either open): a number reused after a customer was closed resolves only within
  its period.
* ``link_history``: append-only log of link changes. It deliberately has no foreign key,
  so the history of a deleted entity survives. Each row names the ``link_changes`` row of
  the change it belongs to, the entity's kind, and the key's provenance and validity, so
  that a change can be undone exactly.
* ``link_changes``: one row per change (who, when, why); ``undo_of`` is unique, so a
  change is undone at most once even by concurrent undos.
* ``idempotency_records``: one row per ``(scope, key)`` (the primary key, so the database
  decides which of several concurrent claims wins), with the ``owner`` and ``lease_until``
  of the attempt holding it; see :mod:`linkmap.idempotency`.
* ``audit_events``: append-only log of forwarded writes. The database itself refuses
  ``UPDATE`` and ``DELETE`` (and ``TRUNCATE`` on PostgreSQL) with triggers created by the
  migrations; ids are never reused and grow with insertion order. See :mod:`linkmap.audit`.
* ``api_keys``: credentials of machine clients, one row per key, keyed by its short public
  id. Only a hash of the secret is stored; revocation is a timestamp (rows are never
  deleted by the API), and a CHECK keeps ``revoked_at``/``revoked_by`` set together. See
  :mod:`linkmap.api_keys`.
* Every timestamp is timezone-aware UTC when read back, on SQLite and PostgreSQL alike.

The schema is created by the Alembic migrations in ``linkmap/migrations``; ``Base.metadata``
is their autogenerate ``target_metadata`` and must stay identical to them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Final, Literal, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

KINDS: Final[tuple[str, ...]] = ("customer", "supplier", "project", "order")
"""The entity kinds the link map accepts (``order``: a sales order known under different
numbers in different systems, e.g. a CRM opportunity and an ERP sales order)."""

ACTIONS: Final[tuple[str, ...]] = ("create", "link", "unlink", "delete")
"""The actions recorded in ``link_history``."""

Action = Literal["create", "link", "unlink", "delete"]
"""Type of :data:`ACTIONS` members."""

PROVENANCES: Final[tuple[str, ...]] = ("manual", "import", "suggestion")
"""Where a link came from: typed by an admin, a bulk import, or an accepted match
suggestion (``entity_keys.provenance``)."""

Provenance = Literal["manual", "import", "suggestion"]
"""Type of :data:`PROVENANCES` members."""

OPERATIONS: Final[tuple[str, ...]] = (
    "create",
    "link",
    "unlink",
    "move",
    "merge",
    "split",
    "delete",
    "undo",
    "import",
    "validity",
)
"""The changes recorded in ``link_changes`` (each with its ``link_history`` rows)."""

Operation = Literal[
    "create", "link", "unlink", "move", "merge", "split", "delete", "undo", "import", "validity"
]
"""Type of :data:`OPERATIONS` members."""

IDEMPOTENCY_STATES: Final[tuple[str, ...]] = ("in_progress", "done", "unknown")
"""The states of an idempotency record."""

IdempotencyState = Literal["in_progress", "done", "unknown"]
"""Type of :data:`IDEMPOTENCY_STATES` members."""

SYSTEM_MAX: Final = 64
KEY_MAX: Final = 255
ACTOR_MAX: Final = 255
SCOPE_MAX: Final = 255
FINGERPRINT_MAX: Final = 128
OPERATION_MAX: Final = 32
OUTCOME_MAX: Final = 64
API_KEY_ID_MAX: Final = 32
API_KEY_NAME_MAX: Final = 255
OWNER_MAX: Final = 64
SECRET_HASH_MAX: Final = 128

NAMING_CONVENTION: Final[dict[str, str]] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """``TIMESTAMP WITH TIME ZONE`` that always round-trips aware UTC datetimes.

    Binding a naive datetime raises ``ValueError`` (no guessing of time zones); aware
    values are converted to UTC before storage. Values read back are aware UTC even on
    SQLite, which stores them as text without an offset.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return ``value`` in UTC (naive on SQLite, which has no offsets); reject naive."""
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime given; link map timestamps must be aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return the stored value as an aware UTC datetime."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# 64-bit ids on PostgreSQL; on SQLite only ``INTEGER PRIMARY KEY`` is a rowid alias.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    """Declarative base of the link map; ``Base.metadata`` holds every link-map table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class EntityRow(Base):
    """A customer, supplier, project or sales order known to Keylink (``entities``)."""

    __tablename__ = "entities"
    __table_args__ = (
        CheckConstraint(_in("kind", KINDS), name="kind"),
        UniqueConstraint("id", "kind"),  # target of entity_keys' composite foreign key
        Index(None, "kind", "id"),  # keyset pages of one kind (LinkStore.page_entities)
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, server_default=text("CURRENT_TIMESTAMP")
    )

    keys: Mapped[list[EntityKeyRow]] = relationship(
        back_populates="entity",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="EntityKeyRow.id",
    )


class EntityKeyRow(Base):
    """One key of an entity in one upstream system (``entity_keys``)."""

    __tablename__ = "entity_keys"
    __table_args__ = (
        ForeignKeyConstraint(
            ["entity_id", "kind"], ["entities.id", "entities.kind"], ondelete="CASCADE"
        ),
        UniqueConstraint("kind", "system", "key"),
        Index(None, "entity_id"),
        CheckConstraint(_in("provenance", PROVENANCES), name="provenance"),
        CheckConstraint(
            "valid_from IS NULL OR valid_to IS NULL OR valid_from <= valid_to", name="validity"
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entity_id: Mapped[int] = mapped_column(BigId)
    kind: Mapped[str] = mapped_column(String(16))
    system: Mapped[str] = mapped_column(String(SYSTEM_MAX))
    key: Mapped[str] = mapped_column(String(KEY_MAX))
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, server_default=text("CURRENT_TIMESTAMP")
    )
    provenance: Mapped[str] = mapped_column(
        String(16), default="manual", server_default=text("'manual'")
    )
    valid_from: Mapped[date | None] = mapped_column(Date())
    valid_to: Mapped[date | None] = mapped_column(Date())

    entity: Mapped[EntityRow] = relationship(back_populates="keys")


class LinkHistoryRow(Base):
    """One change of the link map (``link_history``); append-only, survives deletion."""

    __tablename__ = "link_history"
    __table_args__ = (
        CheckConstraint(_in("action", ACTIONS), name="action"),
        Index(None, "entity_id"),
        Index(None, "change_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entity_id: Mapped[int] = mapped_column(BigId)
    action: Mapped[str] = mapped_column(String(16))
    system: Mapped[str | None] = mapped_column(String(SYSTEM_MAX))
    key: Mapped[str | None] = mapped_column(String(KEY_MAX))
    actor: Mapped[str] = mapped_column(String(ACTOR_MAX))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)
    change_id: Mapped[int | None] = mapped_column(BigId)
    kind: Mapped[str | None] = mapped_column(String(16))
    provenance: Mapped[str | None] = mapped_column(String(16))
    valid_from: Mapped[date | None] = mapped_column(Date())
    valid_to: Mapped[date | None] = mapped_column(Date())


class LinkChangeRow(Base):
    """One administrative change of the link map (``link_changes``): who, when, why; its
    ``link_history`` rows carry its id. ``undo_of`` (unique) names the change it reverts."""

    __tablename__ = "link_changes"
    __table_args__ = (
        CheckConstraint(_in("operation", OPERATIONS), name="operation"),
        UniqueConstraint("undo_of"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    operation: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(ACTOR_MAX))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str | None] = mapped_column(Text)
    undo_of: Mapped[int | None] = mapped_column(BigId)


# JSON documents; Python None is stored as SQL NULL (not the JSON text ``null``). Plain
# ``JSON`` (not JSONB) on PostgreSQL too: the text is kept as written, so key order and
# every string (including U+0000) round-trip the same way as on SQLite.
JSONDocument = JSON(none_as_null=True)


class IdempotencyRecordRow(Base):
    """The claim and, once known, the outcome of one idempotent request
    (``idempotency_records``)."""

    __tablename__ = "idempotency_records"
    __table_args__ = (
        PrimaryKeyConstraint("scope", "key"),
        CheckConstraint(_in("state", IDEMPOTENCY_STATES), name="state"),
        Index(None, "expires_at"),
    )

    scope: Mapped[str] = mapped_column(String(SCOPE_MAX))
    key: Mapped[str] = mapped_column(String(KEY_MAX))
    fingerprint: Mapped[str] = mapped_column(String(FINGERPRINT_MAX))
    state: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[dict[str, object] | None] = mapped_column(JSONDocument)
    context: Mapped[dict[str, object] | None] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    owner: Mapped[str | None] = mapped_column(String(OWNER_MAX))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AuditEventRow(Base):
    """One attempted forwarded write (``audit_events``); append-only, enforced by triggers."""

    __tablename__ = "audit_events"
    __table_args__ = (
        CheckConstraint("erp_latency_ms IS NULL OR erp_latency_ms >= 0", name="erp_latency_ms"),
        Index(None, "order_key", "id"),
        Index(None, "line_key", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(ACTOR_MAX))
    operation: Mapped[str] = mapped_column(String(OPERATION_MAX))
    system: Mapped[str] = mapped_column(String(SYSTEM_MAX))
    order_key: Mapped[str | None] = mapped_column(String(KEY_MAX))
    line_key: Mapped[str | None] = mapped_column(String(KEY_MAX))
    fields: Mapped[list[str]] = mapped_column(JSONDocument)
    before: Mapped[dict[str, object] | None] = mapped_column(JSONDocument)
    after: Mapped[dict[str, object] | None] = mapped_column(JSONDocument)
    idempotency_key: Mapped[str | None] = mapped_column(String(KEY_MAX))
    replay: Mapped[bool] = mapped_column(Boolean())
    outcome: Mapped[str] = mapped_column(String(OUTCOME_MAX))
    erp_latency_ms: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str | None] = mapped_column(Text)
    customer_key: Mapped[str | None] = mapped_column(String(KEY_MAX))


class ApiKeyRow(Base):
    """One API key of a machine client (``api_keys``); the secret itself is never stored."""

    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint(
            "(revoked_at IS NULL AND revoked_by IS NULL) "
            "OR (revoked_at IS NOT NULL AND revoked_by IS NOT NULL)",
            name="revoked",
        ),
    )

    id: Mapped[str] = mapped_column(String(API_KEY_ID_MAX), primary_key=True)
    name: Mapped[str] = mapped_column(String(API_KEY_NAME_MAX))
    roles: Mapped[list[str]] = mapped_column(JSONDocument)
    secret_hash: Mapped[str] = mapped_column(String(SECRET_HASH_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(ACTOR_MAX))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(ACTOR_MAX))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    scope: Mapped[list[str] | None] = mapped_column(JSONDocument)


class MatchRejectionRow(Base):
    """A pair of keys an admin said are not the same entity (``match_rejections``): never
    proposed as a match again. The pair is stored in one canonical order (see
    :mod:`linkmap.rejections`); only keys, never the fields that were compared."""

    __tablename__ = "match_rejections"
    __table_args__ = (
        CheckConstraint(_in("kind", KINDS), name="kind"),
        CheckConstraint(
            "system_a < system_b OR (system_a = system_b AND key_a < key_b)", name="ordered"
        ),
        UniqueConstraint("kind", "system_a", "key_a", "system_b", "key_b"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    system_a: Mapped[str] = mapped_column(String(SYSTEM_MAX))
    key_a: Mapped[str] = mapped_column(String(KEY_MAX))
    system_b: Mapped[str] = mapped_column(String(SYSTEM_MAX))
    key_b: Mapped[str] = mapped_column(String(KEY_MAX))
    actor: Mapped[str] = mapped_column(String(ACTOR_MAX))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


entities = cast(Table, EntityRow.__table__)
entity_keys = cast(Table, EntityKeyRow.__table__)
link_history = cast(Table, LinkHistoryRow.__table__)
link_changes = cast(Table, LinkChangeRow.__table__)
idempotency_records = cast(Table, IdempotencyRecordRow.__table__)
audit_events = cast(Table, AuditEventRow.__table__)
api_keys = cast(Table, ApiKeyRow.__table__)
match_rejections = cast(Table, MatchRejectionRow.__table__)
