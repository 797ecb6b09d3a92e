"""Idempotency records of forwarded writes, and the append-only audit of those writes.

* ``idempotency_records``: primary key ``(scope, key)``; ``state`` CHECKed; index on
  ``expires_at`` for purging.
* ``audit_events``: ``AUTOINCREMENT`` ids; indexes ``(order_key, id)`` and
  ``(line_key, id)``. Append-only is enforced by the database: on SQLite ``BEFORE UPDATE``
  and ``BEFORE DELETE`` triggers ``RAISE(ABORT, ...)``; on PostgreSQL a trigger function
  raises ``restrict_violation`` (SQLSTATE 23001) ``BEFORE UPDATE OR DELETE`` and
  ``BEFORE TRUNCATE``. Either way the driver reports an integrity error whose message
  contains ``audit_events is append-only``. The downgrade drops triggers, function and
  tables (the audit is lost with it).

Revision ID: 0003
Revises: 0002
Create Date: 2025-02-01 00:00:01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON(none_as_null=True)
STATES = "state IN ('in_progress', 'done', 'unknown')"
MESSAGE = "audit_events is append-only"
PG_FUNCTION = "linkmap_audit_events_append_only"

SQLITE_TRIGGERS = {
    "audit_events_no_update": "UPDATE",
    "audit_events_no_delete": "DELETE",
}


def upgrade() -> None:
    """Create ``idempotency_records`` and ``audit_events`` with its append-only triggers."""
    op.create_table(
        "idempotency_records",
        sa.Column("scope", sa.String(length=255), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("outcome", Json, nullable=True),
        sa.Column("context", Json, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(STATES, name=op.f("ck_idempotency_records_state")),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_idempotency_records")),
    )
    op.create_index(
        op.f("ix_idempotency_records_expires_at"), "idempotency_records", ["expires_at"]
    )
    op.create_table(
        "audit_events",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("operation", sa.String(length=32), nullable=False),
        sa.Column("system", sa.String(length=64), nullable=False),
        sa.Column("order_key", sa.String(length=255), nullable=True),
        sa.Column("line_key", sa.String(length=255), nullable=True),
        sa.Column("fields", Json, nullable=False),
        sa.Column("before", Json, nullable=True),
        sa.Column("after", Json, nullable=True),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("replay", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(length=64), nullable=False),
        sa.Column("erp_latency_ms", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "erp_latency_ms IS NULL OR erp_latency_ms >= 0",
            name=op.f("ck_audit_events_erp_latency_ms"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_audit_events_order_key_id"), "audit_events", ["order_key", "id"])
    op.create_index(op.f("ix_audit_events_line_key_id"), "audit_events", ["line_key", "id"])

    if op.get_context().dialect.name == "sqlite":
        for name, event in SQLITE_TRIGGERS.items():
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {event} ON audit_events "
                f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}: {event} refused'); END"
            )
        return
    op.execute(
        f"CREATE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        f"  RAISE EXCEPTION '{MESSAGE}: % refused', TG_OP\n"
        "    USING ERRCODE = 'restrict_violation';\n"
        "END\n"
        "$$"
    )
    op.execute(
        "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {PG_FUNCTION}()"
    )
    op.execute(
        "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {PG_FUNCTION}()"
    )


def downgrade() -> None:
    """Drop the triggers, the trigger function, ``audit_events`` and
    ``idempotency_records``."""
    if op.get_context().dialect.name == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events")
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        op.execute(f"DROP FUNCTION IF EXISTS {PG_FUNCTION}()")
    op.drop_index(op.f("ix_audit_events_line_key_id"), table_name="audit_events")
    op.drop_index(op.f("ix_audit_events_order_key_id"), table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_index(op.f("ix_idempotency_records_expires_at"), table_name="idempotency_records")
    op.drop_table("idempotency_records")
