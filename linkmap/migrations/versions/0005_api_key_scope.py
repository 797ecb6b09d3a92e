"""An optional row scope per API key (``api_keys.scope``).

* ``scope``: JSON list of ``kind:system:pattern`` entries (see ``linkmap.scope``), or NULL
  for a key that sees every entity its roles allow. Existing keys keep NULL: unchanged.

The downgrade drops the column: scoped keys then see every entity their roles allow, so
revoke scoped keys before downgrading.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the nullable ``api_keys.scope`` column."""
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("scope", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    """Drop ``api_keys.scope``."""
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("scope")
