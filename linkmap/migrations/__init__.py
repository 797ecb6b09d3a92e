"""Alembic migrations of the link map schema (run them via :mod:`linkmap.migrate`)."""
