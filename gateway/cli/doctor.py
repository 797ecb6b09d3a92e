"""``keylink doctor``: is everything Keylink needs there? One rich table, one row a check.

Checked in order: the configuration loads (else exit 2, as every command); the link map
answers (and how many entities it holds); Redis answers, when the cache uses it; and for
every configured system: its adapter can be set up (secrets present in the environment),
its spec fits the live system where the adapter can check that (``ChecksItsSystem``), and
one batched read of a key that does not exist reaches it with the configured credentials
(any answer but 401/403 counts: "not found" is an answer). Exit status 0 when every check
passed, 1 when any failed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table

from gateway.cli.config import ConfigOption, cli_settings
from gateway.settings import Settings
from sources.base import ChecksItsSystem, Source
from sources.errors import SourceError, SourceTimeout, SourceUnavailable, Unsupported
from sources.operations import read_operations_of
from sources.registry import build_source, load_adapters

PROBE_KEY = "keylink-doctor-probe"
"""The key the reachability probe asks for; no system holds it, so none answers data."""

Verdict = Literal["ok", "FAIL", "skipped"]


@dataclass(frozen=True)
class Finding:
    """One row of the doctor's table: what was checked, its verdict, and what was seen."""

    part: str
    check: str
    verdict: Verdict
    detail: str


async def check_linkmap(settings: Settings) -> list[Finding]:
    """Whether the link map answers, and how many entities it holds."""
    from sqlalchemy import func, select

    from linkmap.models import entities
    from linkmap.store import LinkStore

    store = LinkStore.from_url(settings.linkmap.url)
    try:
        await store.ping()
        async with store.engine.connect() as conn:
            count = (await conn.execute(select(func.count()).select_from(entities))).scalar_one()
    except Exception as exc:
        return [Finding("link map", "reachable", "FAIL", _short(exc))]
    finally:
        await store.close()
    return [Finding("link map", "reachable", "ok", f"{count} entities")]


async def check_redis(settings: Settings) -> list[Finding]:
    """Whether Redis answers a ping (skipped when the cache does not use Redis)."""
    from gateway.health import RedisHealth

    if not settings.cache.url.startswith("redis"):
        return [Finding("redis", "reachable", "skipped", f"cache is {settings.cache.url}")]
    redis = RedisHealth(settings.cache.url, timeout=2.0)
    try:
        up = await redis.check()
    finally:
        await redis.aclose()
    if up:
        return [Finding("redis", "reachable", "ok", "answers PING")]
    return [Finding("redis", "reachable", "FAIL", "no answer to PING within 2 s")]


async def check_system(name: str, settings: Settings) -> list[Finding]:
    """The findings on one configured system (set-up, spec, reachability, credentials)."""
    part = f"system {name}"
    try:
        source = build_source(name, settings.systems[name])
    except Exception as exc:  # e.g. a secret missing from the environment
        return [Finding(part, "set up", "FAIL", _short(exc))]
    findings = [Finding(part, "set up", "ok", f"adapter {settings.systems[name].adapter}")]
    try:
        if isinstance(source, ChecksItsSystem):
            problems = list(await source.check_system())
            if problems:
                findings.extend(Finding(part, "spec", "FAIL", str(problem)) for problem in problems)
            else:
                findings.append(Finding(part, "spec", "ok", "fits the live system"))
        findings.append(await probe(part, source))
    finally:
        await source.aclose()
    return findings


async def probe(part: str, source: Source) -> Finding:
    """One read of :data:`PROBE_KEY` through the first batched read taking no other
    argument that the system offers (a read the adapter answers ``Unsupported`` without
    asking is passed over): reachable, credentials accepted, unless it fails to connect,
    times out, or is refused with 401/403."""
    try:
        reads = read_operations_of(source)
    except Exception:
        return Finding(part, "reachable", "skipped", "declares no batched read to probe")
    for read in (r for r in reads.values() if r.required == 0):
        check = f"reachable ({read.name})"
        try:
            await asyncio.wait_for(read.load([PROBE_KEY]), timeout=30)
        except Unsupported:
            continue
        except (SourceTimeout, TimeoutError) as exc:
            return Finding(part, check, "FAIL", f"unreachable: timed out ({_short(exc)})")
        except SourceUnavailable as exc:
            detail = exc.detail or str(exc)
            if any(f" {status}" in detail for status in (401, 403)):
                return Finding(part, "credentials", "FAIL", f"refused: {detail[:200]}")
            return Finding(part, check, "FAIL", f"unreachable: {detail[:200]}")
        except SourceError as exc:  # it answered (not found, rejected...)
            return Finding(part, check, "ok", f"answers ({type(exc).__name__})")
        except Exception as exc:
            return Finding(part, check, "FAIL", f"unreachable: {_short(exc)}")
        return Finding(part, check, "ok", "answers; credentials accepted")
    return Finding(part, "reachable", "skipped", "no batched read to probe without arguments")


async def diagnose(settings: Settings) -> list[Finding]:
    """Every finding, link map first, then Redis, then each system in configuration
    order (systems checked at the same time)."""
    load_adapters()
    findings = [*await check_linkmap(settings), *await check_redis(settings)]
    if not settings.systems:
        findings.append(Finding("systems", "configured", "FAIL", "no systems: configured"))
    per_system = await asyncio.gather(*(check_system(n, settings) for n in settings.systems))
    for found in per_system:
        findings.extend(found)
    return findings


STYLES = {"ok": "green", "FAIL": "bold red", "skipped": "yellow"}


def doctor(
    config: ConfigOption = None,
    width: Annotated[int, typer.Option(help="table width in characters")] = 140,
) -> None:
    """Check the configuration, the link map, Redis, and each system's reachability,
    credentials and spec; print a table; exit 1 when a check failed."""
    settings = cli_settings(config)
    findings = asyncio.run(diagnose(settings))
    table = Table(title="keylink doctor")
    for column in ("part", "check", "result", "detail"):
        table.add_column(column)
    table.add_row("configuration", "loads", "[green]ok[/green]", "every field valid")
    for finding in findings:
        style = STYLES[finding.verdict]
        table.add_row(
            finding.part,
            finding.check,
            f"[{style}]{finding.verdict}[/{style}]",
            finding.detail.replace("[", r"\["),
        )
    Console(width=width).print(table)
    failed = [f for f in findings if f.verdict == "FAIL"]
    if failed:
        Console(stderr=True).print(f"[red]{len(failed)} check(s) failed[/red]")
        raise typer.Exit(1)


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:300]
