"""``keylink keys``: create, revoke and list the API keys of machine clients.

Add it to the main command with ``app.add_typer(keys_app, name="keys")``. The link map URL
comes from the configuration exactly as for the other commands (``--config``/``-c``,
``KEYLINK_CONFIG``, ``keylink.yaml`` in the working directory, ``KEYLINK_LINKMAP__URL``).

Promises: ``create`` prints the full key once, alone on standard output (so that
``KEY=$(keylink keys create ...)`` works), with a warning on standard error that it will not
be shown again; nothing else ever prints a key, a secret or a hash. ``list`` and ``revoke``
show key ids, names, roles and dates only. Database problems exit with status 1 and a
message without the database URL (it may hold a password).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from gateway.cli.config import ConfigOption, cli_settings
from linkmap.api_keys import ROLES, ApiKeyRecord, ApiKeyStore
from linkmap.models import utcnow

keys_app = typer.Typer(no_args_is_help=True, help="Create, revoke and list API keys.")
console = Console(stderr=True)

T = TypeVar("T")


def _linkmap_url(config: Path | None) -> str:
    return cli_settings(config).linkmap.url


def _run(url: str, action: Callable[[ApiKeyStore], Awaitable[T]]) -> T:
    """Run ``action`` on a store of the link map at ``url`` and dispose the engine."""
    from sqlalchemy.exc import SQLAlchemyError

    from linkmap.db import create_engine
    from linkmap.errors import LinkMapError

    async def run() -> T:
        engine = create_engine(url)
        try:
            return await action(ApiKeyStore(engine, track_last_used=False))
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except LinkMapError as exc:
        console.print(Text(str(exc), style="red"))
        raise typer.Exit(1) from exc
    except (SQLAlchemyError, OSError) as exc:
        console.print(
            Text(
                f"link map database error ({type(exc).__name__}); "
                "is it reachable and migrated ('keylink migrate')?",
                style="red",
            )
        )
        raise typer.Exit(1) from exc


def _when(value: datetime | None) -> str:
    return "" if value is None else value.isoformat(timespec="seconds")


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option("--name", help="what the key is for, e.g. crm-backend")],
    role: Annotated[
        list[str],
        typer.Option("--role", help=f"a role of the key (repeatable): {', '.join(sorted(ROLES))}"),
    ],
    expires_in_days: Annotated[
        int | None,
        typer.Option("--expires-in-days", min=1, max=36_500, help="expire after D days"),
    ] = None,
    actor: Annotated[str, typer.Option(help="who creates the key")] = "cli",
    scope: Annotated[
        list[str] | None,
        typer.Option(
            "--scope",
            help="limit the key to entities matching kind:system:pattern (repeatable; "
            "'*' matches any characters), e.g. customer:erp:10001",
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Create an API key and print it once (store it now: it cannot be shown again)."""
    url = _linkmap_url(config)
    expires_at = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
    record, key = _run(
        url,
        lambda s: s.create(name, role, actor=actor, expires_at=expires_at, scope=scope or None),
    )
    console.print(
        Text(
            f"created API key {record.id} ({record.name}) with roles "
            f"{', '.join(sorted(record.roles))}"
            + (f", expires {_when(record.expires_at)}" if record.expires_at else "")
            + (f", scope {' '.join(record.scope.as_strings())}" if record.scope else ""),
        )
    )
    console.print(
        Text(
            "This key is shown only once and cannot be recovered; store it in a secret store "
            "now. Revoke it with 'keylink keys revoke " + record.id + "'.",
            style="bold yellow",
        )
    )
    typer.echo(key)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="the key's id (the part after 'kl_')")],
    actor: Annotated[str, typer.Option(help="who revokes the key")] = "cli",
    config: ConfigOption = None,
) -> None:
    """Revoke an API key: every request with it is refused from now on."""
    if key_id.startswith("kl_"):
        console.print(Text("give the key id (kl_<id>_...: the <id> part), not the key", "red"))
        raise typer.Exit(2)
    url = _linkmap_url(config)
    record = _run(url, lambda s: s.revoke(key_id, actor=actor))
    console.print(
        Text(f"API key {record.id} ({record.name}) revoked at {_when(record.revoked_at)}")
    )


@keys_app.command("list")
def keys_list(config: ConfigOption = None) -> None:
    """List every API key (no secrets): id, name, roles, status and dates."""
    url = _linkmap_url(config)
    records: list[ApiKeyRecord] = _run(url, lambda s: s.list())
    now = utcnow()
    table = Table(title="API keys")
    columns = ("id", "name", "roles", "scope", "status", "created", "by", "expires", "last used")
    for column in columns:
        table.add_column(column)
    for r in records:
        table.add_row(
            r.id,
            Text(r.name),  # plain text: a name is never read as rich markup
            ", ".join(sorted(r.roles)),
            Text(" ".join(r.scope.as_strings()) if r.scope else "all"),
            r.status(now),
            _when(r.created_at),
            Text(r.created_by),
            _when(r.expires_at),
            _when(r.last_used_at),
        )
    Console(width=160).print(table)
