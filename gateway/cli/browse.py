"""``keylink browse SYSTEM KIND``: the records a system holds that can be linked, a page at a
time, each marked linked (with its entity) or not; read live, nothing stored."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gateway.cli.config import ConfigOption, cli_settings, console
from gateway.settings import Settings
from linkmap.store import LinkStore
from resolvers.error_codes import BadInput
from resolvers.onboarding.browse import browse_page
from resolvers.onboarding.systems import kind_named
from sources.base import Source
from sources.errors import SourceError
from sources.registry import build_source, load_adapters


@asynccontextmanager
async def opened(settings: Settings, names: list[str]) -> AsyncIterator[dict[str, Source]]:
    """The configured systems ``names``, built and closed after use; exit 2 for a name
    that is not configured (the message lists the configured ones)."""
    unknown = [n for n in names if n not in settings.systems]
    if unknown:
        valid = ", ".join(settings.systems) or "none"
        console.print(f"[red]unknown system {unknown[0]!r}; configured systems: {valid}[/red]")
        raise typer.Exit(2)
    load_adapters()
    sources: dict[str, Source] = {}
    try:
        for name in dict.fromkeys(names):
            sources[name] = build_source(name, settings.systems[name])
        yield sources
    finally:
        for source in sources.values():
            await source.aclose()


def kind_or_exit(word: str) -> str:
    """The entity kind ``word`` names; exit 2 with the valid kinds else."""
    try:
        return kind_named(word)
    except BadInput as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2) from None


def browse(
    system: Annotated[str, typer.Argument(help="a configured system, e.g. tryton")],
    kind: Annotated[str, typer.Argument(help="customers, suppliers, projects or orders")],
    search: Annotated[
        str | None, typer.Option(help="only records whose name, key or identifier holds it")
    ] = None,
    first: Annotated[int, typer.Option(min=1, max=1000, help="records on the page")] = 50,
    after: Annotated[str | None, typer.Option(help="the cursor a previous page printed")] = None,
    config: ConfigOption = None,
) -> None:
    """List a system's linkable records (number, name, identifiers), marked linked or not."""
    settings = cli_settings(config)
    wanted = kind_or_exit(kind)

    async def run() -> None:
        store = LinkStore.from_url(settings.linkmap.url)
        try:
            async with opened(settings, [system]) as sources:
                page = await browse_page(sources[system], store, wanted, search, after, first)
        finally:
            await store.close()
        table = Table(title=f"{system} {wanted}s" + (f" matching {search!r}" if search else ""))
        for column in ("key", "name", "VAT", "postcode", "city", "country", "e-mail domain"):
            table.add_column(column)
        table.add_column("linked")
        for record in page.records:
            c = record.candidate
            table.add_row(
                c.key,
                c.name + (" (closed)" if c.closed else ""),
                c.vat or "",
                c.postcode or "",
                c.city or "",
                c.country or "",
                c.email_domain or "",
                f"entity {record.entity_id}" if record.linked else "",
            )
        Console(width=200).print(table)
        if page.next is not None:
            console.print(f"more: --after {page.next}")

    try:
        asyncio.run(run())
    except (SourceError, BadInput) as exc:
        console.print(f"[red]{exc}[/red]", markup=False, highlight=False)
        raise typer.Exit(1) from None
