"""Link map: entities, their keys per system, link history.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
KINDS = "kind IN ('customer', 'supplier', 'project')"
ACTIONS = "action IN ('create', 'link', 'unlink', 'delete')"


def upgrade() -> None:
    """Create ``entities``, ``entity_keys`` and ``link_history``."""
    op.create_table(
        "entities",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint(KINDS, name=op.f("ck_entities_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entities")),
        sa.UniqueConstraint("id", "kind", name=op.f("uq_entities_id_kind")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "entity_keys",
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
            ["entities.id", "entities.kind"],
            name=op.f("fk_entity_keys_entity_id_kind_entities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entity_keys")),
        sa.UniqueConstraint("kind", "system", "key", name=op.f("uq_entity_keys_kind_system_key")),
    )
    op.create_index(op.f("ix_entity_keys_entity_id"), "entity_keys", ["entity_id"])
    op.create_table(
        "link_history",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("entity_id", BigId, nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("system", sa.String(length=64), nullable=True),
        sa.Column("key", sa.String(length=255), nullable=True),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint(ACTIONS, name=op.f("ck_link_history_action")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_history")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_link_history_entity_id"), "link_history", ["entity_id"])


def downgrade() -> None:
    """Drop the three link map tables."""
    op.drop_index(op.f("ix_link_history_entity_id"), table_name="link_history")
    op.drop_table("link_history")
    op.drop_index(op.f("ix_entity_keys_entity_id"), table_name="entity_keys")
    op.drop_table("entity_keys")
    op.drop_table("entities")
