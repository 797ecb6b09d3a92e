"""``keylink query``: run a GraphQL document against a running gateway and export the
result to CSV, JSONL or Parquet, page by page, with a progress bar on standard error.

Register it with ``app.command("query")(query)``. The gateway is reached over HTTP
(``--url``, default ``KEYLINK_URL`` or ``http://127.0.0.1:8000``); the API key comes only
from the environment variable named by ``--api-key-env`` (``KEYLINK_API_KEY``) and is
never printed. The file is written under a temporary name beside ``--output`` and renamed
when the export is complete, so a failed export leaves no partial file and changes
nothing. Exit status: 0 done, 1 the export failed (GraphQL errors, gateway unreachable),
2 bad input (unreadable file, a document that cannot be exported, a bad ``--var``).
Column rules: see :mod:`gateway.export.flatten`; types: see :mod:`gateway.export.writers`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from pathlib import Path
from typing import Annotated, Any, BinaryIO, NoReturn

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from gateway.export import (
    FORMATS,
    BadExportDocument,
    ExportError,
    ExportPlan,
    ExportRun,
    Format,
    HttpExecutor,
    Page,
    plan_export,
    write_export,
)

console = Console(stderr=True)

DEFAULT_URL = "http://127.0.0.1:8000"
HTTP_TIMEOUT = 60.0


def parse_vars(plan: ExportPlan, pairs: list[str]) -> dict[str, Any]:
    """``--var name=value`` pairs as variables, each coerced to its declared type."""
    variables: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        name = name.strip().lstrip("$")
        if not sep or not name:
            raise BadExportDocument(f"expected --var NAME=VALUE, got {pair!r}")
        variables[name] = plan.coerce(name, raw)
    return variables


def query(
    file: Annotated[
        Path, typer.Argument(help="the GraphQL document (.graphql)", show_default=False)
    ],
    var: Annotated[
        list[str] | None,
        typer.Option("--var", "-v", help="a variable, NAME=VALUE (repeatable)"),
    ] = None,
    format: Annotated[str, typer.Option("--format", "-f", help="csv, jsonl or parquet")] = "csv",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="file to write (default: standard output)"),
    ] = None,
    url: Annotated[
        str, typer.Option(envvar="KEYLINK_URL", help="the gateway's base URL")
    ] = DEFAULT_URL,
    operation: Annotated[
        str | None, typer.Option(help="the operation to run, if the file has several")
    ] = None,
    allow_partial: Annotated[
        bool,
        typer.Option(help="keep rows whose fields partly failed (those cells stay empty)"),
    ] = False,
    api_key_env: Annotated[
        str, typer.Option(help="environment variable holding the API key")
    ] = "KEYLINK_API_KEY",
    progress: Annotated[bool, typer.Option(help="show a progress bar on stderr")] = True,
) -> None:
    """Export a query's result (every page of its connection) to CSV, JSONL or Parquet."""
    if format not in FORMATS:
        _fail(f"unknown format {format!r}; use csv, jsonl or parquet", 2)
    try:
        document = file.read_text(encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot read {file}: {exc.strerror or exc}", 2)
    try:
        plan = plan_export(document, operation)
        variables = parse_vars(plan, var or [])
    except BadExportDocument as exc:
        _fail(exc.message, 2)
    api_key = os.environ.get(api_key_env) or None
    try:
        rows = asyncio.run(
            _export(plan, variables, format, output, url, api_key, allow_partial, progress)
        )
    except BadExportDocument as exc:
        _fail(exc.message, 2)
    except ExportError as exc:
        _fail(f"{exc.message} [{exc.code}]", 1)
    done = f"exported {rows} rows" + (f" to {output}" if output else "")
    console.print(escape(done), soft_wrap=True)


async def _export(
    plan: ExportPlan,
    variables: dict[str, Any],
    format: Format,
    output: Path | None,
    url: str,
    api_key: str | None,
    allow_partial: bool,
    show_progress: bool,
) -> int:
    bar = Progress(
        SpinnerColumn(),
        TextColumn("exporting"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows"),
        TimeElapsedColumn(),
        console=console,
        disable=not show_progress,
    )
    task = bar.add_task("export", total=None)

    def advance(page: Page) -> None:
        if page.total is not None:
            bar.update(task, total=page.total)
        bar.advance(task, len(page.rows))

    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as client:
        run = ExportRun(
            plan, HttpExecutor(client, url, api_key), variables, allow_partial=allow_partial
        )
        with bar, _target(output) as sink:
            rows = await write_export(run, format, sink, advance)
    if run.errors:
        console.print(f"[yellow]{len(run.errors)} field errors; their cells are empty[/yellow]")
    return rows


@contextlib.contextmanager
def _target(output: Path | None) -> Any:
    """Standard output, or a temporary file renamed to ``output`` only on success."""
    if output is None:
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    partial = output.with_name(f".{output.name}.partial")
    try:
        with partial.open("wb") as handle:
            sink: BinaryIO = handle
            yield sink
        partial.replace(output)
    finally:
        partial.unlink(missing_ok=True)


def _fail(message: str, status: int) -> NoReturn:
    console.print(f"[red]{escape(message)}[/red]", soft_wrap=True)
    raise typer.Exit(status)
