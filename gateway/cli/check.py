"""``keylink check``: every system's spec checked against the live system before serving.

A source that can check itself (``sources.base.ChecksItsSystem``: the SQL source runs each
SELECT with no keys, naming a table or column its database lacks) is asked; the others are
listed as not checkable. Exit status 0 when everything fits, 1 when a spec does not fit
its system or a system cannot be reached, 2 for a configuration that does not load.
"""

from __future__ import annotations

import asyncio

import typer

from gateway.cli.config import ConfigOption, cli_settings, console
from gateway.settings import Settings
from sources.base import ChecksItsSystem, SystemProblem
from sources.registry import build_source, load_adapters


async def check_systems(settings: Settings) -> dict[str, list[SystemProblem] | None]:
    """Per configured system, its problems (empty: it fits), or None when its adapter
    cannot check itself."""
    load_adapters()
    found: dict[str, list[SystemProblem] | None] = {}
    for name, config in settings.systems.items():
        try:
            source = build_source(name, config)
        except Exception as exc:  # e.g. a secret missing from the environment
            found[name] = [SystemProblem(name, None, f"cannot be set up: {exc}", reachable=False)]
            continue
        try:
            if isinstance(source, ChecksItsSystem):
                found[name] = list(await source.check_system())
            else:
                found[name] = None
        finally:
            await source.aclose()
    return found


def check(config: ConfigOption = None) -> None:
    """Check each system's spec against the live system (tables, columns, reachability)."""
    settings = cli_settings(config)
    found = asyncio.run(check_systems(settings))
    failed = False
    for name, problems in found.items():
        if problems is None:
            console.print(f"{name}: not checkable (its adapter reads no spec against the system)")
        elif not problems:
            console.print(f"{name}: ok")
        else:
            failed = True
            for problem in problems:
                console.print(f"[red]{problem}[/red]")
    if failed:
        raise typer.Exit(1)
