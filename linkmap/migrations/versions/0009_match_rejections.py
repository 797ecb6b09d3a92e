"""Remembered rejections of match suggestions.

* ``match_rejections``: one row per pair of keys an admin said are not the same customer
  (supplier, project, order): ``(kind, system_a, key_a, system_b, key_b)`` is UNIQUE, the
  pair stored in one canonical order (``(system_a, key_a) < (system_b, key_b)``), so a pair
  is rejected once whichever side it was proposed from; with who and when. Only keys are
  stored, never the names or identifiers that were compared.

Revision ID: 0009
Revises: 0008
Create Date: 2027-01-10 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
KINDS = "kind IN ('customer', 'supplier', 'project', 'order')"
ORDERED = "system_a < system_b OR (system_a = system_b AND key_a < key_b)"


def upgrade() -> None:
    """Create ``match_rejections``."""
    op.create_table(
        "match_rejections",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("system_a", sa.String(length=64), nullable=False),
        sa.Column("key_a", sa.String(length=255), nullable=False),
        sa.Column("system_b", sa.String(length=64), nullable=False),
        sa.Column("key_b", sa.String(length=255), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(KINDS, name=op.f("ck_match_rejections_kind")),
        sa.CheckConstraint(ORDERED, name=op.f("ck_match_rejections_ordered")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match_rejections")),
        sa.UniqueConstraint(
            "kind",
            "system_a",
            "key_a",
            "system_b",
            "key_b",
            name=op.f("uq_match_rejections_kind_system_a_key_a_system_b_key_b"),
        ),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    """Drop ``match_rejections`` (remembered rejections are lost)."""
    op.drop_table("match_rejections")
