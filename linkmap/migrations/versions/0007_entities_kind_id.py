"""An index on ``entities(kind, id)`` for keyset pages of one kind.

A list page reads the entities of one kind after a given id, in id order
(:meth:`linkmap.store.LinkStore.page_entities`); with this index the database reads just
the page's rows, whatever the size of the map. Building it reads ``entities`` once.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``ix_entities_kind_id``."""
    op.create_index(op.f("ix_entities_kind_id"), "entities", ["kind", "id"])


def downgrade() -> None:
    """Drop ``ix_entities_kind_id``."""
    op.drop_index(op.f("ix_entities_kind_id"), table_name="entities")
