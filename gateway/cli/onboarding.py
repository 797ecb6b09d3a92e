"""``keylink links suggest``, ``accept-suggestion``, ``reject-suggestion`` and
``check-dangling``: match suggestions between two systems and the dangling-link check."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from gateway.cli.browse import kind_or_exit, opened
from gateway.cli.config import ConfigOption, cli_settings, console
from linkmap.errors import LinkMapError
from linkmap.store import LinkStore
from resolvers.error_codes import BadInput
from resolvers.onboarding.dangling import check_dangling
from resolvers.onboarding.scoring import DEFAULT_THRESHOLD
from resolvers.onboarding.suggestions import (
    accept_suggestion,
    link_suggestions,
    reject_suggestion,
)
from resolvers.onboarding.systems import checked_key
from sources.errors import SourceError

KindArgument = Annotated[str, typer.Argument(help="customer, supplier, project or order")]


def _pair(text: str) -> tuple[str, str]:
    system, sep, key = text.partition("=")
    if not sep or not system or not key:
        raise typer.BadParameter(f"expected SYSTEM=KEY, got {text!r}")
    try:
        return checked_key(system, key)
    except BadInput as exc:
        raise typer.BadParameter(exc.message) from None


def suggest(
    kind: KindArgument,
    from_system: Annotated[str, typer.Option("--from", help="the system to match from")],
    to_system: Annotated[str, typer.Option("--to", help="the system to match to")],
    first: Annotated[int, typer.Option(min=1, max=10_000, help="suggestions shown")] = 50,
    threshold: Annotated[
        float, typer.Option(min=0.01, max=0.99, help="the lowest score proposed")
    ] = DEFAULT_THRESHOLD,
    config: ConfigOption = None,
) -> None:
    """Propose links between unlinked records of two systems, with a score and reasons
    (fields read live and not stored; rejected pairs are never proposed)."""
    settings = cli_settings(config)
    wanted = kind_or_exit(kind)

    async def run() -> None:
        store = LinkStore.from_url(settings.linkmap.url)
        try:
            async with opened(settings, [from_system, to_system]) as sources:
                found = await link_suggestions(
                    sources,
                    store,
                    wanted,
                    from_system,
                    to_system,
                    first=first,
                    threshold=threshold,
                )
        finally:
            await store.close()
        table = Table(title=f"{wanted} links suggested from {from_system} to {to_system}")
        for column in (from_system, "name", to_system, "name", "score", "reasons"):
            table.add_column(column)
        for s in found:
            table.add_row(
                s.from_record.key,
                s.from_record.name,
                s.to_record.key,
                s.to_record.name,
                f"{s.score:.2f}",
                "; ".join(s.reasons),
            )
        Console(width=220).print(table)
        console.print(
            f"{len(found)} suggestion(s); accept: keylink links accept-suggestion {wanted} "
            f"{from_system}=KEY {to_system}=KEY"
        )

    _run(run)


def accept(
    kind: KindArgument,
    one: Annotated[str, typer.Argument(help="SYSTEM=KEY")],
    other: Annotated[str, typer.Argument(help="SYSTEM=KEY")],
    actor: Annotated[str, typer.Option(help="who makes the change")] = "cli",
    config: ConfigOption = None,
) -> None:
    """Link two keys a suggestion paired (provenance: suggestion)."""
    settings = cli_settings(config)
    wanted = kind_or_exit(kind)
    pair = (_pair(one), _pair(other))
    _check_configured(settings.systems, pair)

    async def run() -> None:
        store = LinkStore.from_url(settings.linkmap.url)
        try:
            done = await accept_suggestion(store, wanted, *pair, actor=actor)
        finally:
            await store.close()
        verb = "created" if done.created else "linked in"
        typer.echo(f"{verb} {wanted} {done.entity.id}")

    _run(run)


def reject(
    kind: KindArgument,
    one: Annotated[str, typer.Argument(help="SYSTEM=KEY")],
    other: Annotated[str, typer.Argument(help="SYSTEM=KEY")],
    actor: Annotated[str, typer.Option(help="who makes the change")] = "cli",
    config: ConfigOption = None,
) -> None:
    """Remember that two keys are not the same entity: never proposed again."""
    settings = cli_settings(config)
    wanted = kind_or_exit(kind)
    pair = (_pair(one), _pair(other))
    _check_configured(settings.systems, pair)

    async def run() -> None:
        store = LinkStore.from_url(settings.linkmap.url)
        try:
            fresh = await reject_suggestion(store, wanted, *pair, actor=actor)
        finally:
            await store.close()
        typer.echo("rejection remembered" if fresh else "already rejected")

    _run(run)


def check_dangling_links(
    system: Annotated[
        list[str] | None, typer.Option("--system", help="only these systems (repeatable)")
    ] = None,
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help="only these kinds (repeatable)")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Check that every linked key still exists in its system: list the keys that
    vanished, were merged or were closed. Changes nothing. Exit 1 when any dangle."""
    settings = cli_settings(config)
    kinds = [kind_or_exit(k) for k in kind] if kind else None
    names = list(system) if system else list(settings.systems)

    async def run() -> int:
        store = LinkStore.from_url(settings.linkmap.url)
        try:
            async with opened(settings, names) as sources:
                report = await check_dangling(
                    sources,
                    store,
                    kinds=kinds or ("customer", "supplier", "project", "order"),
                    systems=names,
                )
        finally:
            await store.close()
        table = Table(title=f"dangling links ({report.checked} linked keys checked)")
        for column in ("entity", "kind", "system", "key", "problem", "replaced by"):
            table.add_column(column)
        for d in report.dangling:
            table.add_row(str(d.entity_id), d.kind, d.system, d.key, d.problem, d.replaced_by or "")
        Console(width=160).print(table)
        for (name, what), reason in report.unchecked.items():
            console.print(f"not checked: {name} {what} keys ({reason})")
        return 1 if report.dangling else 0

    code = _run(run)
    raise typer.Exit(code)


def _check_configured(
    systems: Mapping[str, Any], pair: tuple[tuple[str, str], tuple[str, str]]
) -> None:
    for name, _ in pair:
        if name not in systems:
            valid = ", ".join(systems) or "none"
            console.print(f"[red]unknown system {name!r}; configured systems: {valid}[/red]")
            raise typer.Exit(2)


def _run(run: Callable[[], Coroutine[Any, Any, int | None]]) -> int:
    try:
        result = asyncio.run(run())
    except (SourceError, BadInput, LinkMapError) as exc:
        console.print(str(exc), style="red", markup=False, highlight=False)
        raise typer.Exit(1) from None
    return int(result or 0)


def add_onboarding_commands(links_app: typer.Typer) -> None:
    """Register the onboarding commands under ``keylink links``."""
    links_app.command("suggest")(suggest)
    links_app.command("accept-suggestion")(accept)
    links_app.command("reject-suggestion")(reject)
    links_app.command("check-dangling")(check_dangling_links)
