"""Entity kind ``order``: widen the kind CHECK constraint of ``entities``.

``entities`` is the only table with a CHECK on ``kind``; ``entity_keys.kind`` is bound to
it by the composite foreign key ``(entity_id, kind) -> entities(id, kind)``, so it follows.

PostgreSQL drops and re-adds the constraint (re-validated against every row).

SQLite cannot alter a CHECK constraint, so the table is rebuilt. Alembic's batch mode would
``DROP TABLE entities`` while ``entity_keys`` still references it, and with foreign keys on
(they always are: :mod:`linkmap.db`) that implicit delete cascades to every key; foreign
keys cannot be switched off inside the migration's transaction. So both tables are rebuilt
by hand, in an order where no drop can cascade:

1. create ``_new_entities`` (new CHECK) and copy the rows, ids included;
2. carry the ``AUTOINCREMENT`` high-water mark over, so ids of deleted entities stay unused;
3. create ``_new_entity_keys`` referencing ``_new_entities`` and copy the keys;
4. drop ``entity_keys``, then ``entities`` (nothing references it any more);
5. rename ``_new_entities`` -> ``entities`` (SQLite rewrites the foreign key of
   ``_new_entity_keys`` to follow), ``_new_entity_keys`` -> ``entity_keys``; re-create
   the index. Table definitions, constraint names and indexes equal those of 0001.

All of it runs in the migration's single transaction: it commits completely or not at all.
The downgrade narrows the constraint again and refuses (before changing anything) while
entities of kind ``order`` exist.

Revision ID: 0002
Revises: 0001
Create Date: 2025-02-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OLD_KINDS = "kind IN ('customer', 'supplier', 'project')"
NEW_KINDS = "kind IN ('customer', 'supplier', 'project', 'order')"


def upgrade() -> None:
    """Allow ``kind = 'order'``."""
    _set_kinds(NEW_KINDS)


def downgrade() -> None:
    """Disallow ``kind = 'order'`` again; fails while such entities exist."""
    if not context.is_offline_mode():
        count = op.get_bind().execute(sa.text("SELECT count(*) FROM entities WHERE kind = 'order'"))
        orders = int(count.scalar_one())
        if orders:
            raise RuntimeError(
                f"cannot downgrade below 0002: {orders} entities of kind 'order' exist; "
                "delete them first"
            )
    _set_kinds(OLD_KINDS)


def _set_kinds(check: str) -> None:
    if op.get_context().dialect.name == "sqlite":
        _rebuild_sqlite(check)
        return
    op.drop_constraint(op.f("ck_entities_kind"), "entities", type_="check")
    op.create_check_constraint(op.f("ck_entities_kind"), "entities", sa.text(check))


def _rebuild_sqlite(check: str) -> None:
    op.create_table(
        "_new_entities",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint(check, name=op.f("ck_entities_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entities")),
        sa.UniqueConstraint("id", "kind", name=op.f("uq_entities_id_kind")),
        sqlite_autoincrement=True,
    )
    op.execute(
        "INSERT INTO _new_entities (id, kind, created_at) "
        "SELECT id, kind, created_at FROM entities ORDER BY id"
    )
    # Keep the high-water mark: ids of deleted entities must never come back.
    op.execute(
        "INSERT INTO sqlite_sequence (name, seq) "
        "SELECT '_new_entities', 0 WHERE NOT EXISTS "
        "(SELECT 1 FROM sqlite_sequence WHERE name = '_new_entities')"
    )
    op.execute(
        "UPDATE sqlite_sequence SET seq = (SELECT max(seq) FROM sqlite_sequence "
        "WHERE name IN ('entities', '_new_entities')) WHERE name = '_new_entities'"
    )
    op.create_table(
        "_new_entity_keys",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("entity_id", BigId, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("system", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["entity_id", "kind"],
            ["_new_entities.id", "_new_entities.kind"],
            name=op.f("fk_entity_keys_entity_id_kind_entities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entity_keys")),
        sa.UniqueConstraint("kind", "system", "key", name=op.f("uq_entity_keys_kind_system_key")),
    )
    op.execute(
        'INSERT INTO _new_entity_keys (id, entity_id, kind, system, "key", created_at) '
        'SELECT id, entity_id, kind, system, "key", created_at FROM entity_keys ORDER BY id'
    )
    op.execute("DROP TABLE entity_keys")  # a child: dropping it cascades nowhere
    op.execute("DROP TABLE entities")  # nothing references it any more
    op.execute("ALTER TABLE _new_entities RENAME TO entities")
    op.execute("ALTER TABLE _new_entity_keys RENAME TO entity_keys")
    op.create_index(op.f("ix_entity_keys_entity_id"), "entity_keys", ["entity_id"])
