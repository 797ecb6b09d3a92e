"""Alembic revision scripts of the link map, oldest first by ``down_revision`` chain."""
