"""The ``keylink`` command: serve, demo, schema, migrate, and link-map administration."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from gateway.cli.config import ConfigOption, cli_settings
from gateway.cli.keys import keys_app
from gateway.settings import Settings

app = typer.Typer(
    no_args_is_help=True,
    help="Keylink: stores only the key links between systems and reads everything live.",
)
links_app = typer.Typer(no_args_is_help=True, help="Inspect and edit the link map.")
app.add_typer(links_app, name="links")
console = Console(stderr=True)


@app.command()
def serve(
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option(help="listen address")] = None,
    port: Annotated[int | None, typer.Option(help="listen port")] = None,
    workers: Annotated[int, typer.Option(min=1, help="worker processes")] = 1,
    access_log: Annotated[bool, typer.Option(help="log every HTTP request")] = False,
) -> None:
    """Serve the GraphQL API with the given configuration (logs: one JSON object a line on
    stderr; with several workers, /metrics sums them through PROMETHEUS_MULTIPROC_DIR)."""
    import uvicorn

    from gateway.telemetry.logging import log_config
    from gateway.telemetry.metrics_dir import prepare_metrics_dir

    settings = cli_settings(config)
    if config is not None:
        os.environ["KEYLINK_CONFIG"] = str(config.resolve())
    prepare_metrics_dir(workers)
    uvicorn.run(
        "gateway.app:app_from_environment",
        factory=True,
        host=host or settings.server.host,
        port=port or settings.server.port,
        workers=workers,
        log_level="info",
        log_config=log_config("INFO", settings.telemetry.logs.max_message_chars),
        access_log=access_log,
    )


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="gateway listen address")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", help="gateway port")] = 8000,
    db: Annotated[Path, typer.Option(help="SQLite link map file (recreated)")] = Path(
        "keylink-demo.db"
    ),
) -> None:
    """Start the demo upstreams and the gateway, and print a sample query."""
    from gateway.demo_mode import run_demo

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_demo(host, port, db))


@app.command()
def schema(
    plain: Annotated[
        bool, typer.Option(help="standalone GraphQL SDL, no @link/@key applied")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Print the GraphQL schema (SDL): the Apollo Federation subgraph SDL that
    ``_service { sdl }`` serves with the given configuration (``federation.hide_mutations``
    included), or with ``--plain`` the same schema as standalone GraphQL SDL (federation
    directives defined, not applied) for tools that do not know them."""
    from graphql import print_schema

    from resolvers.schema import build_schema

    hide = cli_settings(config).federation.hide_mutations
    built = build_schema(hide_mutations=hide)
    typer.echo(print_schema(built._schema) if plain else built.as_str())


@app.command()
def migrate(config: ConfigOption = None) -> None:
    """Bring the link-map database schema up to date (alembic upgrade head)."""
    from linkmap.migrate import upgrade

    settings = cli_settings(config)
    upgrade(settings.linkmap.url)
    console.print("link map is up to date")


ENTITY_KINDS_BY_SYSTEM_KIND: dict[str, frozenset[str]] = {
    "erp": frozenset({"customer", "supplier", "project", "order"}),
    "crm": frozenset({"customer", "order"}),
    "timesheet": frozenset({"customer", "project"}),
}
"""Which entity kinds a system of each kind holds keys of: an ERP has customers, suppliers,
projects and sales orders; a CRM has accounts (customers) and opportunities/orders; a
timesheet system has clients (customers) and projects. The same table as the resolvers'
``MASTER_DATA``, plus orders (which the link map holds but no GraphQL type reads yet)."""

ENTITY_KIND_HELP = "customer, supplier, project or order"


def _parse_keys(pairs: list[str]) -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {}
    for pair in pairs:
        system, sep, key = pair.partition("=")
        if not sep or not system or not key:
            raise typer.BadParameter(f"expected SYSTEM=KEY, got {pair!r}")
        keys.setdefault(system, []).append(key)
    return keys


def _and(words: Iterable[str]) -> str:
    *rest, last = sorted(words)
    return f"{', '.join(rest)} and {last}" if rest else last


def link_problems(kind: str, systems: Iterable[str], settings: Settings) -> list[str]:
    """Why keys of entity ``kind`` in ``systems`` do not fit the configuration: a system
    that is not configured, or one whose kinds hold no entities of ``kind`` (only decided
    when every kind of the system is one :data:`ENTITY_KINDS_BY_SYSTEM_KIND` knows)."""
    configured = settings.systems
    names = ", ".join(configured) or "none (the configuration has no systems:)"
    problems: list[str] = []
    for name in dict.fromkeys(systems):
        system = configured.get(name)
        if system is None:
            problems.append(f"unknown system {name!r}; configured systems: {names}")
            continue
        if not system.kinds <= ENTITY_KINDS_BY_SYSTEM_KIND.keys():
            continue
        holds = set().union(*(ENTITY_KINDS_BY_SYSTEM_KIND[k] for k in system.kinds))
        if kind not in holds:
            label = "kinds" if len(system.kinds) > 1 else "kind"
            problems.append(
                f"system {name!r} ({label} {', '.join(sorted(system.kinds))}) cannot hold "
                f"{kind} keys; it holds {_and(holds)} keys"
            )
    return problems


def _refuse(messages: Iterable[str], code: int) -> NoReturn:
    for message in messages:
        console.print(message, style="red", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@links_app.command("add")
def links_add(
    kind: Annotated[str, typer.Argument(help=ENTITY_KIND_HELP)],
    keys: Annotated[
        list[str],
        typer.Argument(help="SYSTEM=KEY pairs, e.g. erp=10023 crm=A-1043; SYSTEM as configured"),
    ],
    actor: Annotated[str, typer.Option(help="who makes the change")] = "cli",
    config: ConfigOption = None,
) -> None:
    """Create an entity linking the given keys.

    Each SYSTEM must be a configured system that holds KIND keys (else exit 2).
    """
    from linkmap import validate
    from linkmap.errors import LinkMapError
    from linkmap.store import LinkStore

    settings = cli_settings(config)
    parsed = _parse_keys(keys)
    try:
        validate.kind(kind)
    except LinkMapError as exc:
        _refuse([str(exc)], 1)
    problems = link_problems(kind, parsed, settings)
    if problems:
        _refuse([*problems, "nothing was written"], 2)

    async def run() -> int:
        store = LinkStore.from_url(settings.linkmap.url)
        try:
            entity = await store.create_entity(kind, parsed, actor=actor)
            return entity.id
        finally:
            await store.close()

    try:
        entity_id = asyncio.run(run())
    except LinkMapError as exc:
        _refuse([str(exc)], 1)
    typer.echo(f"created {kind} {entity_id}")


@links_app.command("show")
def links_show(
    kind: Annotated[str, typer.Argument(help=ENTITY_KIND_HELP)],
    system: Annotated[str, typer.Argument(help="the system the key belongs to")],
    key: Annotated[str, typer.Argument(help="the key in that system")],
    config: ConfigOption = None,
) -> None:
    """Show an entity's keys and the history of its links."""
    from linkmap import validate
    from linkmap.errors import LinkMapError
    from linkmap.store import LinkStore

    settings = cli_settings(config)
    try:
        validate.kind(kind)
    except LinkMapError as exc:
        _refuse([str(exc)], 1)

    async def run() -> None:
        store = LinkStore.from_url(settings.linkmap.url)
        try:
            entity = await store.resolve(kind, system, key)
            if entity is None:
                console.print(f"no {kind} is linked to {system}={key}")
                raise typer.Exit(1)
            table = Table(title=f"{kind} {entity.id}")
            table.add_column("system")
            table.add_column("keys")
            for name, values in entity.keys.items():
                table.add_row(name, ", ".join(values))
            Console().print(table)
            history = Table(title="history")
            for column in ("at", "action", "system", "key", "actor"):
                history.add_column(column)
            for change in await store.history(entity.id):
                history.add_row(
                    change.at.isoformat(timespec="seconds"),
                    change.action,
                    change.system or "",
                    change.key or "",
                    change.actor,
                )
            Console().print(history)
        finally:
            await store.close()

    asyncio.run(run())


@app.command()
def audit(
    order: Annotated[str, typer.Argument(help="the ERP order key")],
    system: Annotated[str, typer.Option(help="the ERP system's name")] = "erp",
    limit: Annotated[int, typer.Option(min=1, max=1000, help="how many events")] = 50,
    config: ConfigOption = None,
) -> None:
    """Show the audit trail of an order's line edits, newest first."""
    from linkmap.audit import AuditLog
    from linkmap.db import create_engine

    settings = cli_settings(config)

    async def run() -> None:
        engine = create_engine(settings.linkmap.url)
        try:
            events = await AuditLog(engine).events(order_key=order, system=system, limit=limit)
        finally:
            await engine.dispose()
        table = Table(title=f"audit trail of {system} order {order}")
        for column in ("at", "actor", "operation", "line", "fields", "key", "replay", "outcome"):
            table.add_column(column)
        for event in events:
            table.add_row(
                event.at.isoformat(timespec="seconds"),
                event.actor,
                event.operation,
                event.line_key or "",
                ",".join(event.fields),
                event.idempotency_key or "",
                "yes" if event.replay else "",
                event.outcome,
            )
        Console(width=160).print(table)

    asyncio.run(run())


app.add_typer(keys_app, name="keys")


def _add_query() -> None:
    from gateway.cli.query import query

    app.command("query")(query)


_add_query()


def _add_link_files() -> None:
    from gateway.cli.links import add_link_file_commands

    add_link_file_commands(links_app, link_problems)


_add_link_files()


def _add_check() -> None:
    from gateway.cli.check import check

    app.command("check")(check)


_add_check()


def _add_doctor() -> None:
    from gateway.cli.doctor import doctor

    app.command("doctor")(doctor)


_add_doctor()


def _add_onboarding() -> None:
    from gateway.cli.browse import browse
    from gateway.cli.onboarding import add_onboarding_commands

    app.command("browse")(browse)
    add_onboarding_commands(links_app)


_add_onboarding()

if __name__ == "__main__":
    app()
