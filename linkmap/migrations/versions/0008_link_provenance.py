"""Provenance and validity period of links; changes grouped for undo.

* ``entity_keys`` gains ``provenance`` (``manual``, ``import`` or ``suggestion``; existing
  links are ``manual``) and an optional validity period ``valid_from``/``valid_to``
  (inclusive dates; a key resolves only within it), each guarded by a CHECK.
* ``link_changes``: one row per change of the link map (create, link, unlink, move, merge,
  split, delete, undo, import, validity) with who, when and why; ``undo_of`` names the
  change an undo reverts and is UNIQUE, so a change is undone at most once even under
  concurrent undos.
* ``link_history`` gains ``change_id`` (the change a row belongs to; NULL for rows written
  before this revision), the entity's ``kind`` and the ``provenance``/``valid_from``/
  ``valid_to`` the key had, so an undo restores an entity and its keys exactly as they were.

Every step is ``ADD COLUMN`` with a constant default or ``CREATE TABLE``: no table is
rebuilt, on SQLite or PostgreSQL, whatever the size of the map.

Revision ID: 0008
Revises: 0007
Create Date: 2027-01-10 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
PROVENANCES = "provenance IN ('manual', 'import', 'suggestion')"
VALIDITY = "valid_from IS NULL OR valid_to IS NULL OR valid_from <= valid_to"
OPERATIONS = (
    "operation IN ('create', 'link', 'unlink', 'move', 'merge', 'split', 'delete', 'undo', "
    "'import', 'validity')"
)


def upgrade() -> None:
    """Add the provenance/validity columns, ``link_changes`` and the history's change id."""
    # Column-level constraints in plain DDL: valid on both backends, no table rebuild.
    op.execute(
        "ALTER TABLE entity_keys ADD COLUMN provenance VARCHAR(16) DEFAULT 'manual' NOT NULL "
        f"CONSTRAINT ck_entity_keys_provenance CHECK ({PROVENANCES})"
    )
    op.execute("ALTER TABLE entity_keys ADD COLUMN valid_from DATE")
    op.execute(
        "ALTER TABLE entity_keys ADD COLUMN valid_to DATE "
        f"CONSTRAINT ck_entity_keys_validity CHECK ({VALIDITY})"
    )
    op.create_table(
        "link_changes",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("operation", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("undo_of", BigId, nullable=True),
        sa.CheckConstraint(OPERATIONS, name=op.f("ck_link_changes_operation")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_changes")),
        sa.UniqueConstraint("undo_of", name=op.f("uq_link_changes_undo_of")),
        sqlite_autoincrement=True,
    )
    op.add_column("link_history", sa.Column("change_id", BigId, nullable=True))
    op.add_column("link_history", sa.Column("kind", sa.String(length=16), nullable=True))
    op.add_column("link_history", sa.Column("provenance", sa.String(length=16), nullable=True))
    op.add_column("link_history", sa.Column("valid_from", sa.Date(), nullable=True))
    op.add_column("link_history", sa.Column("valid_to", sa.Date(), nullable=True))
    op.create_index(op.f("ix_link_history_change_id"), "link_history", ["change_id"])


def downgrade() -> None:
    """Drop what :func:`upgrade` added (provenance, validity periods and changes are lost)."""
    op.drop_index(op.f("ix_link_history_change_id"), table_name="link_history")
    with op.batch_alter_table("link_history") as batch:
        for column in ("valid_to", "valid_from", "provenance", "kind", "change_id"):
            batch.drop_column(column)
    op.drop_table("link_changes")
    with op.batch_alter_table("entity_keys") as batch:
        batch.drop_constraint(op.f("ck_entity_keys_validity"), type_="check")
        batch.drop_constraint(op.f("ck_entity_keys_provenance"), type_="check")
        for column in ("valid_to", "valid_from", "provenance"):
            batch.drop_column(column)
