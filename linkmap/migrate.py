"""Bring a link map database to a schema revision with Alembic, from code.

The Alembic ``Config`` is built in code and points at this package's ``migrations``
directory, so this works from an installed package and from any working directory;
no ``alembic.ini`` is needed.

* :func:`upgrade` is synchronous (for CLIs and scripts). It may be called with or without
  a running event loop; inside a running loop it blocks that loop while the migration runs
  on a worker thread, so async code should prefer :func:`upgrade_async`.
* :func:`upgrade_async` runs the migration on the caller's loop without blocking it.
* Concurrent upgrades of one database (replicas migrating on start) are serialised; all
  succeed and the schema is migrated once.
* :func:`downgrade_async` goes back to an older revision (``"base"``: drop everything the
  migrations created, the audit trail included). It is for operators and tests; a
  revision whose downgrade would lose data it cannot represent refuses instead (0002
  while entities of kind ``order`` exist).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from linkmap.db import WRITE, create_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK_ID = 0x6B65796C696E6B
"""PostgreSQL advisory lock key ("keylink") every link map migration holds while it runs."""
_RUN_LOCK = threading.Lock()


def alembic_config(url: str | None = None) -> Config:
    """Return an Alembic ``Config`` for the link map migrations; ``url`` (if given) is the
    database to migrate. The URL is passed as an attribute, never through ini
    interpolation, so ``%`` in passwords is safe."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    if url is not None:
        cfg.attributes["url"] = url
    return cfg


def head_revision() -> str:
    """Return the revision id that ``upgrade(url)`` brings a database to."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no single head revision in {MIGRATIONS_DIR}")
    return head


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` to ``revision`` (default: the newest), creating the
    schema on an empty database. Idempotent; returns when the migration is committed."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(upgrade_async(url, revision))
        return

    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(upgrade_async(url, revision))
        except BaseException as exc:  # re-raised in the calling thread
            errors.append(exc)

    worker = threading.Thread(target=target, name="linkmap-upgrade")
    worker.start()
    worker.join()
    if errors:
        raise errors[0]


async def upgrade_async(url: str | AsyncEngine, revision: str = "head") -> None:
    """Migrate the database at ``url`` to ``revision`` from inside a running event loop,
    without blocking it; same promises as :func:`upgrade`. ``url`` may also be an existing
    AsyncEngine, which is used and left open (the way to migrate a ``:memory:`` SQLite
    database, which lives only as long as its engine)."""
    await _run(url, revision, command.upgrade)


async def downgrade_async(url: str | AsyncEngine, revision: str) -> None:
    """Migrate the database at ``url`` (or on an AsyncEngine, left open) back to
    ``revision`` (``"base"`` drops the whole link map schema), in one transaction: it
    happens completely or not at all. Serialised with other migrations like
    :func:`upgrade_async`; a downgrade that would lose data it cannot keep raises."""
    await _run(url, revision, command.downgrade)


async def _run(url: str | AsyncEngine, revision: str, step: Callable[[Config, str], None]) -> None:
    # Alembic keeps its migration context in module globals, so two runs interleaving on
    # one loop (or two threads) would trample each other: one run per process at a time.
    # Polling keeps the event loop free while another run holds the lock.
    while not _RUN_LOCK.acquire(blocking=False):
        await asyncio.sleep(0.02)
    try:
        await _run_locked(url, revision, step)
    finally:
        _RUN_LOCK.release()


async def _run_locked(
    url: str | AsyncEngine, revision: str, step: Callable[[Config, str], None]
) -> None:
    engine = create_engine(url) if isinstance(url, str) else url
    try:
        async with engine.connect() as conn:
            await conn.execution_options(**{WRITE: True})  # SQLite: BEGIN IMMEDIATE
            await conn.run_sync(_run_on, revision, step)
            await conn.commit()
    finally:
        if isinstance(url, str):
            await engine.dispose()


def _run_on(connection: Connection, revision: str, step: Callable[[Config, str], None]) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    step(cfg, revision)
