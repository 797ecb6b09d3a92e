"""The shipped "legacy ERP": a database schema with its own numeric status codes
(``schema.sql``), seed rows with awkward states (``seed.sql``) and the SQL spec that maps
it onto Keylink (``spec.yaml``, for a ``systems:`` entry with ``adapter: sql``).

``install_legacy_erp`` creates and seeds it in an empty database (PostgreSQL, MariaDB or
SQLite), e.g. for a demo or a test.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

HERE = Path(__file__).resolve().parent
SCHEMA = HERE / "schema.sql"
SEED = HERE / "seed.sql"
SPEC = HERE / "spec.yaml"


def sql_statements(path: Path) -> list[str]:
    """The statements of a SQL script: comment lines dropped, split at a ``;`` that ends
    a line (the shipped scripts put no such ``;`` inside a literal)."""
    lines = [
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if not line.lstrip().startswith("--")
    ]
    statements = "\n".join(lines).split(";\n")
    return [s.strip().rstrip(";") for s in statements if s.strip()]


async def install_legacy_erp(engine: AsyncEngine, *, seed: bool = True) -> None:
    """Create the legacy ERP's tables in ``engine``'s (empty) database, with the seed rows
    unless ``seed`` is False, in one transaction."""
    scripts = [SCHEMA, SEED] if seed else [SCHEMA]
    async with engine.begin() as connection:
        for script in scripts:
            for statement in sql_statements(script):
                await connection.exec_driver_sql(statement)
