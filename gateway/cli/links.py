"""``keylink links import`` and ``keylink links export``: the link map in and out as a CSV
link file (format: :mod:`linkmap.bulk.csv_format`), at any size.

Import is a dry run by default: it reads the file, compares it with the link map and
reports every row as new, unchanged, conflicting or invalid (with line numbers). With
``--apply`` it writes all new rows in one transaction, or nothing. Exit status: 0 when the
file imports cleanly (or, with ``--skip-conflicts``, when the other rows were written),
1 when rows conflict or are invalid (or the link map failed), 2 when the file itself
cannot be read (encoding, header).

``gateway.cli.main`` registers these commands with :func:`add_link_file_commands`, handing
over its check of kinds against systems, so that this module never imports it back.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Annotated, BinaryIO, NoReturn, TextIO

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from sqlalchemy.exc import SQLAlchemyError

from gateway.cli.config import ConfigOption, cli_settings
from gateway.settings import Settings
from linkmap.bulk import (
    BulkLoader,
    ImportReport,
    ImportRow,
    LinkFileError,
    RowProblem,
    Verdict,
    entity_cells,
    header_cells,
    read_links_csv,
    stream_entities,
)
from linkmap.errors import InvalidInput, LinkMapError
from linkmap.models import KINDS
from linkmap.store import LinkStore

console = Console(stderr=True)

LinkProblems = Callable[[str, Iterable[str], Settings], list[str]]
"""Why keys of an entity kind in some systems do not fit the configuration (empty: they
fit); ``gateway.cli.main.link_problems``."""

SHOWN = 20
"""Problem rows printed by default."""


def _say(message: str, style: str | None = None) -> None:
    console.print(message, style=style, markup=False, highlight=False, soft_wrap=True)


def _fail(messages: Iterable[str], code: int) -> NoReturn:
    for message in messages:
        _say(message, "red")
    raise typer.Exit(code)


def _fitting(
    rows: Iterable[ImportRow | RowProblem], settings: Settings, problems: LinkProblems
) -> Iterator[ImportRow | RowProblem]:
    """``rows``, with a row whose systems cannot hold its kind turned into a problem."""
    verdicts: dict[tuple[str, tuple[str, ...]], str | None] = {}
    for row in rows:
        if isinstance(row, ImportRow):
            shape = (row.kind, tuple(row.keys))
            if shape not in verdicts:
                found = problems(row.kind, row.keys, settings)
                verdicts[shape] = "; ".join(found) if found else None
            reason = verdicts[shape]
            if reason is not None:
                row = RowProblem(row.line, reason)
        yield row


def _progress(label: str, show: bool) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn(label),
        BarColumn(),
        TextColumn("{task.fields[rows]:,} rows"),
        TimeElapsedColumn(),
        console=console,
        disable=not show,
        transient=True,
    )


def print_report(report: ImportReport, *, shown: int, out: TextIO) -> None:
    """Print the counts of ``report`` and its first ``shown`` problem rows to ``out``."""
    counts = report.counts
    out.write(
        f"{report.rows} rows: {counts[Verdict.NEW]} new, {counts[Verdict.UNCHANGED]} unchanged, "
        f"{counts[Verdict.CONFLICT]} conflicting, {counts[Verdict.INVALID]} invalid\n"
    )
    for outcome in report.problems[:shown]:
        out.write(f"line {outcome.line}: {outcome.verdict.value}: {outcome.reason}\n")
    hidden = report.conflicts + report.invalid - min(shown, len(report.problems))
    if hidden > 0:
        out.write(f"... and {hidden} more (see --show)\n")


def links_import(
    problems: LinkProblems,
    file: Path,
    apply: bool,
    skip_conflicts: bool,
    actor: str,
    note: str | None,
    show: int,
    config: Path | None,
) -> None:
    """Run ``keylink links import`` (see :func:`add_link_file_commands`)."""
    settings = cli_settings(config)
    systems = list(settings.systems)
    interactive = sys.stdout.isatty()
    try:
        size = file.stat().st_size
        stream: BinaryIO = file.open("rb")
    except OSError as exc:
        _fail([f"cannot read {file}: {exc.strerror}"], 2)

    async def run() -> ImportReport:
        bar = _progress("importing" if apply else "checking", interactive)
        task = bar.add_task("import", total=size, rows=0)

        def advance(rows: int) -> None:
            bar.update(task, completed=stream.tell(), rows=rows)

        rows = _fitting(read_links_csv(stream, systems), settings, problems)
        async with LinkStore.from_url(settings.linkmap.url) as store:
            loader = BulkLoader(store, progress=advance)
            with bar:
                if not apply:
                    return await loader.plan(rows)
                return await loader.apply(
                    rows, actor=actor, note=note, skip_conflicts=skip_conflicts
                )

    try:
        with stream:
            report = asyncio.run(run())
    except LinkFileError as exc:
        _fail([f"{file}: {exc}", "nothing was written"], 2)
    except LinkMapError as exc:
        _fail([str(exc), "nothing was written"], 1)
    except SQLAlchemyError as exc:
        _fail([f"the link map database failed ({type(exc).__name__})", "nothing was written"], 1)
    print_report(report, shown=show, out=sys.stdout)
    blocked = report.invalid > 0 or (report.conflicts > 0 and not (apply and skip_conflicts))
    if not apply:
        verdict = "dry run: nothing was written"
        if not blocked:
            verdict += "; run again with --apply to write"
        _say(verdict)
    elif blocked:
        why = "invalid rows" if report.invalid else "conflicting rows"
        hint = "" if report.invalid else " (--skip-conflicts writes the other rows)"
        _say(f"nothing was written: the file has {why}{hint}", "red")
    else:
        skipped = f", skipped {report.conflicts} conflicting rows" if report.conflicts else ""
        _say(f"created {report.written} entities{skipped}")
    if blocked:
        raise typer.Exit(1)


@contextlib.contextmanager
def _target(output: Path | None) -> Iterator[TextIO]:
    """Standard output, or a temporary file renamed to ``output`` only on success."""
    if output is None:
        yield sys.stdout
        return
    partial = output.with_name(output.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as sink:
            yield sink
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)


def links_export(kind: str | None, output: Path | None, config: Path | None) -> None:
    """Run ``keylink links export`` (see :func:`add_link_file_commands`)."""
    settings = cli_settings(config)
    systems = list(settings.systems)
    if kind is not None and kind not in KINDS:
        _fail([f"unknown entity kind {kind!r}; expected one of {', '.join(KINDS)}"], 2)
    kinds = [kind] if kind is not None else list(KINDS)
    skipped: list[str] = []
    unconfigured: set[str] = set()

    async def run(sink: TextIO) -> int:
        writer = csv.writer(sink)
        writer.writerow(header_cells(systems))
        bar = _progress("exporting", output is not None and sys.stdout.isatty())
        task = bar.add_task("export", total=None, rows=0)
        written = 0
        async with LinkStore.from_url(settings.linkmap.url) as store:
            with bar:
                async for entity in stream_entities(store, kinds):
                    bar.update(task, rows=written)
                    unconfigured.update(set(entity.keys) - set(systems))
                    if not any(entity.keys_in(system) for system in systems):
                        skipped.append(
                            f"{entity.kind} {entity.id} has no key in a configured system"
                        )
                        continue
                    try:
                        writer.writerow(entity_cells(entity, systems))
                    except InvalidInput as exc:
                        skipped.append(str(exc))
                        continue
                    written += 1
        return written

    try:
        with _target(output) as sink:
            written = asyncio.run(run(sink))
    except (LinkMapError, SQLAlchemyError) as exc:
        message = str(exc) if isinstance(exc, LinkMapError) else type(exc).__name__
        _fail([f"export failed: {message}"], 1)
    except OSError as exc:
        _fail([f"cannot write {output}: {exc.strerror}"], 2)
    if unconfigured:
        names = ", ".join(sorted(unconfigured))
        _say(f"keys in systems that are not configured ({names}) were not exported", "yellow")
    for reason in skipped[:SHOWN]:
        _say(f"not exported: {reason}", "yellow")
    _say(f"exported {written} entities" + (f", {len(skipped)} not exported" if skipped else ""))
    if skipped:
        raise typer.Exit(1)


def add_link_file_commands(links_app: typer.Typer, problems: LinkProblems) -> None:
    """Register ``import`` and ``export`` on ``links_app``; ``problems`` decides whether a
    row's systems can hold its kind (as ``keylink links add`` does)."""

    @links_app.command("import")
    def import_command(
        file: Annotated[Path, typer.Argument(help="the link file (CSV: kind,<system>,...)")],
        apply: Annotated[
            bool, typer.Option("--apply", help="write (default: a dry run that reports)")
        ] = False,
        skip_conflicts: Annotated[
            bool,
            typer.Option(
                "--skip-conflicts", help="with --apply: write the rows that do not conflict"
            ),
        ] = False,
        actor: Annotated[str, typer.Option(help="who makes the change (link history)")] = "cli",
        note: Annotated[str | None, typer.Option(help="why (link history)")] = None,
        show: Annotated[int, typer.Option(min=0, help="problem rows to print")] = SHOWN,
        config: ConfigOption = None,
    ) -> None:
        """Import entities from a link file: a header ``kind,erp,crm,...`` (configured
        system names), one entity per line, an empty cell for no key, several keys of a
        system separated by ``|``. UTF-8, with or without BOM.

        Dry run by default: reports new, unchanged, conflicting and invalid rows by line.

        --apply writes every new row in one transaction, or nothing if a row is invalid or
        conflicts (unless --skip-conflicts). A key linked to another entity is never moved.

        Exit status: 0 imported (or would import) cleanly, 1 conflicting or invalid rows,
        2 the file cannot be read (encoding, header)."""
        links_import(problems, file, apply, skip_conflicts, actor, note, show, config)

    @links_app.command("export")
    def export_command(
        kind: Annotated[
            str | None, typer.Option(help="only this kind: customer, supplier, project, order")
        ] = None,
        output: Annotated[
            Path | None,
            typer.Option("--output", "-o", help="file to write (default: standard output)"),
        ] = None,
        config: ConfigOption = None,
    ) -> None:
        """Write the link map as a link file (the format of ``links import``, one column
        per configured system), streamed: importing it back changes nothing.

        Exit status 1 if an entity could not be written (no key in a configured system, or
        a key holding the ``|`` separator); it is named on standard error."""
        links_export(kind, output, config)
