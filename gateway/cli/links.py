"""``keylink links import`` and ``keylink links export``: the link map in and out as a CSV
link file (format: :mod:`linkmap.bulk.csv_format`) or an Excel workbook, at any size; and
link administration: ``keylink links link/remove/move/merge/split/undo/history``.

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
import io
import os
import sys
from collections.abc import Awaitable, Callable, Iterable, Iterator
from datetime import date
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

from gateway.cli.browse import opened
from gateway.cli.config import ConfigOption, cli_settings
from gateway.settings import Settings
from linkmap import validate
from linkmap.bulk import (
    BulkLoader,
    ExportTally,
    ImportReport,
    ImportRow,
    LinkFileError,
    RowProblem,
    XlsxLinkWriter,
    link_file_rows,
    looks_like_xlsx,
    read_links_csv,
    read_links_xlsx,
    report_lines,
)
from linkmap.changes import AppliedChange, ChangeRecord, KeyLink
from linkmap.errors import EntityNotFound, LinkMapError
from linkmap.models import KINDS
from linkmap.store import LinkStore
from resolvers.onboarding.names import key_matcher

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
            shape = (row.kind, (*row.keys, *row.names))
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
    """Print the counts of ``report`` and its first ``shown`` problem rows to ``out``
    (:func:`linkmap.bulk.report_lines`: the HTTP import answers the same lines)."""
    for line in report_lines(report, shown=shown):
        out.write(line + "\n")


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

        head = stream.read(4)
        stream.seek(0)
        read = read_links_xlsx if looks_like_xlsx(head) else read_links_csv
        rows = _fitting(read(stream, systems), settings, problems)
        async with (
            LinkStore.from_url(settings.linkmap.url) as store,
            opened(settings, systems) as sources,  # rows keyed by a name are matched live
        ):
            loader = BulkLoader(store, progress=advance, matcher=key_matcher(sources))
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
    """Run ``keylink links export`` (see :func:`add_link_file_commands`): CSV, or an Excel
    workbook when ``output`` ends in ``.xlsx``."""
    settings = cli_settings(config)
    systems = list(settings.systems)
    if kind is not None and kind not in KINDS:
        _fail([f"unknown entity kind {kind!r}; expected one of {', '.join(KINDS)}"], 2)
    kinds = [kind] if kind is not None else list(KINDS)
    tally = ExportTally()
    xlsx = output is not None and output.suffix.lower() == ".xlsx"

    async def run(sink: TextIO) -> None:
        writer = csv.writer(sink)
        workbook = XlsxLinkWriter() if xlsx else None
        bar = _progress("exporting", output is not None and sys.stdout.isatty())
        task = bar.add_task("export", total=None, rows=0)
        async with LinkStore.from_url(settings.linkmap.url) as store:
            with bar:
                async for cells in link_file_rows(store, kinds, systems, tally):
                    bar.update(task, rows=tally.written)
                    if workbook is not None:
                        workbook.row(cells)
                    else:
                        writer.writerow(cells)
        if workbook is not None:
            assert output is not None
            output.write_bytes(workbook.save())

    try:
        if xlsx:
            asyncio.run(run(io.StringIO()))
        else:
            with _target(output) as sink:
                asyncio.run(run(sink))
    except (LinkMapError, SQLAlchemyError) as exc:
        message = str(exc) if isinstance(exc, LinkMapError) else type(exc).__name__
        _fail([f"export failed: {message}"], 1)
    except OSError as exc:
        _fail([f"cannot write {output}: {exc.strerror}"], 2)
    if tally.unconfigured:
        names = ", ".join(sorted(tally.unconfigured))
        _say(f"keys in systems that are not configured ({names}) were not exported", "yellow")
    for reason in tally.skipped[:SHOWN]:
        _say(f"not exported: {reason}", "yellow")
    skipped = len(tally.skipped)
    _say(f"exported {tally.written} entities" + (f", {skipped} not exported" if skipped else ""))
    if skipped:
        raise typer.Exit(1)


def add_link_file_commands(links_app: typer.Typer, problems: LinkProblems) -> None:
    """Register ``import`` and ``export`` on ``links_app``; ``problems`` decides whether a
    row's systems can hold its kind (as ``keylink links add`` does). Registers the link
    administration commands too (:func:`add_link_admin_commands`)."""
    add_link_admin_commands(links_app)

    @links_app.command("import")
    def import_command(
        file: Annotated[
            Path, typer.Argument(help="the link file (CSV or .xlsx: kind,<system>,...)")
        ],
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
            typer.Option(
                "--output",
                "-o",
                help="file to write (default: standard output); *.xlsx writes a workbook",
            ),
        ] = None,
        config: ConfigOption = None,
    ) -> None:
        """Write the link map as a link file (the format of ``links import``, one column
        per configured system), streamed: importing it back changes nothing.

        Exit status 1 if an entity could not be written (no key in a configured system, or
        a key holding the ``|`` separator); it is named on standard error."""
        links_export(kind, output, config)


# ------------------------------------------------------------------ link administration

ReasonOption = Annotated[str | None, typer.Option(help="why (kept in the link history)")]
ActorOption = Annotated[str, typer.Option(help="who makes the change (link history)")]


def _pair(text: str) -> tuple[str, str]:
    system, sep, key = text.partition("=")
    if not sep or not system or not key:
        _fail([f"expected SYSTEM=KEY, got {text!r}"], 2)
    return system, key


def _configured(settings: Settings) -> dict[str, frozenset[str]]:
    return {name: frozenset(system.kinds) for name, system in settings.systems.items()}


def _check(settings: Settings, kind: str | None, systems: Iterable[str]) -> None:
    """Exit 2, naming the configured systems, unless every system is configured (and,
    once ``kind`` is known, holds keys of that kind)."""
    configured = _configured(settings)
    names = list(systems)
    if kind is None:
        problems = validate.link_problems("customer", names, configured)
        problems = [p for p in problems if p.startswith("unknown system")]
    else:
        problems = validate.link_problems(kind, names, configured)
    if problems:
        _fail([*problems, "nothing was written"], 2)


def _show(applied: AppliedChange) -> None:
    if applied.change_id is None:
        typer.echo("nothing to change")
        return
    typer.echo(f"change {applied.change_id} ({applied.operation})")
    for entity in applied.entities:
        links = ", ".join(_link_text(link) for link in entity.links) or "no keys"
        typer.echo(f"  {entity.kind} {entity.id}: {links}")


def _link_text(link: KeyLink) -> str:
    text = f"{link.system}={link.key}"
    extra = [link.provenance] if link.provenance != "manual" else []
    if link.valid_from is not None or link.valid_to is not None:
        extra.append(f"valid {link.valid_from or '…'}..{link.valid_to or '…'}")
    return f"{text} ({', '.join(extra)})" if extra else text


def _admin(
    config: Path | None,
    work: Callable[[LinkStore, Settings], Awaitable[AppliedChange]],
) -> None:
    """Run one change against the link map and print it; exit 1 if it is refused."""
    settings = cli_settings(config)

    async def run() -> AppliedChange:
        async with LinkStore.from_url(settings.linkmap.url) as store:
            return await work(store, settings)

    try:
        applied = asyncio.run(run())
    except LinkMapError as exc:
        _fail([str(exc), "nothing was written"], 1)
    _show(applied)


async def _kind_of(store: LinkStore, entity_id: int) -> str:
    found = await store.linked([entity_id])
    if entity_id not in found:
        raise EntityNotFound(entity_id)
    return found[entity_id].kind


def add_link_admin_commands(links_app: typer.Typer) -> None:
    """Register ``link``, ``remove``, ``move``, ``merge``, ``split``, ``undo`` and
    ``history`` on ``links_app``: one recorded, undoable change each. Exit status: 0
    done, 1 refused by the link map (a key held by another entity, unknown entity or
    change, a change that cannot be undone exactly), 2 bad input (a system that is not
    configured or cannot hold the entity's kind: the configured ones are named)."""

    @links_app.command("link")
    def link_command(
        entity: Annotated[int, typer.Argument(help="the entity's id")],
        key: Annotated[str, typer.Argument(help="SYSTEM=KEY, e.g. erp=10023")],
        valid_from: Annotated[str | None, typer.Option(help="first valid day, YYYY-MM-DD")] = None,
        valid_to: Annotated[str | None, typer.Option(help="last valid day, YYYY-MM-DD")] = None,
        reason: ReasonOption = None,
        actor: ActorOption = "cli",
        config: ConfigOption = None,
    ) -> None:
        """Link a key to an entity (optionally for a validity period)."""
        system, value = _pair(key)
        settings = cli_settings(config)
        _check(settings, None, [system])
        start, end = _day(valid_from), _day(valid_to)

        async def work(store: LinkStore, settings: Settings) -> AppliedChange:
            _check(settings, await _kind_of(store, entity), [system])
            return await store.link_key(
                entity, system, value, actor=actor, reason=reason, valid_from=start, valid_to=end
            )

        _admin(config, work)

    @links_app.command("remove")
    def remove_command(
        entity: Annotated[int, typer.Argument(help="the entity's id")],
        key: Annotated[str, typer.Argument(help="SYSTEM=KEY")],
        reason: ReasonOption = None,
        actor: ActorOption = "cli",
        config: ConfigOption = None,
    ) -> None:
        """Unlink a key from an entity (the entity stays)."""
        system, value = _pair(key)
        _check(cli_settings(config), None, [system])
        _admin(
            config,
            lambda store, _: store.unlink_key(entity, system, value, actor=actor, reason=reason),
        )

    @links_app.command("move")
    def move_command(
        key: Annotated[str, typer.Argument(help="SYSTEM=KEY")],
        to: Annotated[int, typer.Option("--to", help="the entity that gets the key")],
        reason: ReasonOption = None,
        actor: ActorOption = "cli",
        config: ConfigOption = None,
    ) -> None:
        """Move a key from the entity holding it to another entity of the same kind."""
        system, value = _pair(key)
        settings = cli_settings(config)
        _check(settings, None, [system])

        async def work(store: LinkStore, settings: Settings) -> AppliedChange:
            _check(settings, await _kind_of(store, to), [system])
            return await store.move_key(system, value, to, actor=actor, reason=reason)

        _admin(config, work)

    @links_app.command("merge")
    def merge_command(
        into: Annotated[int, typer.Argument(help="the entity that stays")],
        source: Annotated[int, typer.Argument(help="the entity whose keys move; it is deleted")],
        reason: ReasonOption = None,
        actor: ActorOption = "cli",
        config: ConfigOption = None,
    ) -> None:
        """Merge two entities of one kind (undo restores both exactly)."""
        _admin(config, lambda store, _: store.merge(into, source, actor=actor, reason=reason))

    @links_app.command("split")
    def split_command(
        entity: Annotated[int, typer.Argument(help="the entity's id")],
        keys: Annotated[list[str], typer.Argument(help="SYSTEM=KEY pairs for the new entity")],
        reason: ReasonOption = None,
        actor: ActorOption = "cli",
        config: ConfigOption = None,
    ) -> None:
        """Move some keys of an entity to a new entity of its kind."""
        pairs = [_pair(text) for text in keys]
        _check(cli_settings(config), None, [system for system, _ in pairs])
        _admin(config, lambda store, _: store.split(entity, pairs, actor=actor, reason=reason))

    @links_app.command("undo")
    def undo_command(
        change: Annotated[int, typer.Argument(help="the change's id (see links history)")],
        reason: ReasonOption = None,
        actor: ActorOption = "cli",
        config: ConfigOption = None,
    ) -> None:
        """Revert a recorded change exactly (refused if a later change touched it)."""
        _admin(config, lambda store, _: store.undo(change, actor=actor, reason=reason))

    @links_app.command("history")
    def history_command(
        entity: Annotated[int | None, typer.Option(help="only changes of this entity")] = None,
        limit: Annotated[int, typer.Option(min=1, max=1000, help="how many changes")] = 20,
        config: ConfigOption = None,
    ) -> None:
        """List recorded changes, newest first: id, when, who, what, why."""
        settings = cli_settings(config)

        async def run() -> list[ChangeRecord]:
            async with LinkStore.from_url(settings.linkmap.url) as store:
                return await store.changes(entity_id=entity, limit=limit)

        for record in asyncio.run(run()):
            undone = f" (undone by {record.undone_by})" if record.undone_by else ""
            undoes = f" of {record.undo_of}" if record.undo_of else ""
            when = record.at.isoformat(timespec="seconds")
            typer.echo(
                f"{record.id}  {when}  {record.actor}  {record.operation}{undoes}{undone}"
                + (f"  -- {record.reason}" if record.reason else "")
            )
            for step in record.steps:
                what = (
                    f"{step.system}={step.key}" if step.system else f"{step.kind} {step.entity_id}"
                )
                typer.echo(f"    {step.action} {what} (entity {step.entity_id})")


def _day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        _fail([f"expected a date as YYYY-MM-DD, got {text!r}"], 2)
