"""API keys of machine clients (``api_keys``).

* ``id``: the key's short public id (primary key), part of the key string
  ``kl_<id>_<secret>``.
* ``secret_hash``: ``sha256:<hex>`` of the secret; the secret itself is never stored.
* ``roles``: JSON list of role names.
* ``revoked_at``/``revoked_by``: set together or not at all (CHECK ``ck_api_keys_revoked``).
* Every timestamp is ``TIMESTAMP WITH TIME ZONE`` (text on SQLite), ``expires_at``,
  ``revoked_at`` and ``last_used_at`` nullable.

The downgrade drops the table: every API key is lost (clients using them are refused
from then on, exactly as by a build without API keys).

Revision ID: 0004
Revises: 0003
Create Date: 2025-03-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Json = sa.JSON(none_as_null=True)
REVOKED = (
    "(revoked_at IS NULL AND revoked_by IS NULL) "
    "OR (revoked_at IS NOT NULL AND revoked_by IS NOT NULL)"
)


def upgrade() -> None:
    """Create ``api_keys``."""
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("roles", Json, nullable=False),
        sa.Column("secret_hash", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=255), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(REVOKED, name=op.f("ck_api_keys_revoked")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
    )


def downgrade() -> None:
    """Drop ``api_keys`` (and with it every API key)."""
    op.drop_table("api_keys")
