"""``POST /admin/links/import`` and ``GET /admin/links/export``: the link file (CSV or an
Excel ``.xlsx`` workbook, :mod:`linkmap.bulk`) in and out over HTTP, for the admin role.

Import takes the file as the request body (the format is recognised by its first bytes)
and answers the report ``keylink links import`` prints, as JSON: counts per verdict, the
problem rows by line (``problems``) and the CLI's own lines (``report``).
``?apply=false`` (the default) is a dry run; ``?apply=true`` writes every new row in one
transaction, or nothing if a row is invalid (422) or conflicts (409) unless
``&skip_conflicts=true``. Rows are checked against the configured systems and the kinds
they hold, with the CLI's words (a misspelt system names the configured ones); a header
naming an unknown system is refused as a whole (400 ``BAD_INPUT``). Rows keyed by a name
(``<system>:name`` columns) are matched by the name matcher given to the router.

Export answers the whole link map (or one ``kind``) as ``format=csv`` (streamed) or
``format=xlsx``; importing it back reports every row unchanged.

Refusals are GraphQL-shaped error documents (``resolvers.error_codes.error_document``):
401 without credentials (the app's middleware), 403 ``FORBIDDEN`` without the admin role.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Any, Final, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from sqlalchemy.exc import SQLAlchemyError

from gateway.auth.principal import Principal
from linkmap import validate
from linkmap.bulk import (
    BulkLoader,
    ExportTally,
    ImportReport,
    ImportRow,
    LinkFileError,
    NameMatcher,
    RowProblem,
    XlsxLinkWriter,
    link_file_rows,
    looks_like_xlsx,
    read_links_csv,
    read_links_xlsx,
    report_lines,
)
from linkmap.errors import ConcurrentChange
from linkmap.models import KINDS
from resolvers.context import Systems
from resolvers.error_codes import ErrorCode, error_document

SHOWN: Final = 20
"""Problem rows in the ``report`` lines (as the CLI prints by default)."""

XLSX_MEDIA_TYPE: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

MatcherFactory = Callable[[Systems], NameMatcher]
"""Builds the name matcher of an import from the configured systems (engineer A's
``match_by_name`` over the live sources)."""


def _refusal(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(error_document(code, message), status_code=status)


def _admin(request: Request) -> Principal | JSONResponse:
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None or "admin" not in principal.roles:
        return _refusal(403, ErrorCode.FORBIDDEN, "This needs the admin role.")
    return principal


def configured_kinds(systems: Systems) -> dict[str, frozenset[str]]:
    """System name -> the system's kinds, for :func:`linkmap.validate.link_problems`."""
    return {name: frozenset(source.kinds) for name, source in systems.sources.items()}


def fitting_rows(
    rows: Iterable[ImportRow | RowProblem], configured: dict[str, frozenset[str]]
) -> Iterator[ImportRow | RowProblem]:
    """``rows``, with a row whose systems cannot hold its kind turned into a problem."""
    verdicts: dict[tuple[str, tuple[str, ...]], str | None] = {}
    for row in rows:
        if isinstance(row, ImportRow):
            shape = (row.kind, (*row.keys, *row.names))
            if shape not in verdicts:
                found = validate.link_problems(row.kind, shape[1], configured)
                verdicts[shape] = "; ".join(found) if found else None
            reason = verdicts[shape]
            if reason is not None:
                row = RowProblem(row.line, reason)
        yield row


def report_json(report: ImportReport, *, apply: bool, blocked: bool) -> dict[str, Any]:
    """The import report as the endpoint answers it."""
    counts = {verdict.value: count for verdict, count in report.counts.items()}
    return {
        "dryRun": not apply,
        "blocked": blocked,
        "rows": report.rows,
        **counts,
        "written": report.written,
        "problems": [
            {"line": p.line, "verdict": p.verdict.value, "reason": p.reason}
            for p in report.problems
        ],
        "report": report_lines(report, shown=SHOWN),
    }


def admin_links_router(matcher_factory: MatcherFactory | None = None) -> APIRouter:
    """The router of ``/admin/links/import`` and ``/admin/links/export``; the app's
    middleware authenticates, these check the admin role."""
    router = APIRouter(prefix="/admin/links")

    @router.post("/import")
    async def import_links(
        request: Request,
        apply: bool = False,
        skip_conflicts: bool = False,
        note: str | None = None,
    ) -> Response:
        """Check (dry run) or apply a link file sent as the body."""
        principal = _admin(request)
        if isinstance(principal, JSONResponse):
            return principal
        runtime: Any = request.app.state.runtime
        systems: Systems = runtime.systems
        body = await request.body()
        stream = io.BytesIO(body)
        names = list(systems.sources)
        read = read_links_xlsx if looks_like_xlsx(body[:4]) else read_links_csv
        rows = fitting_rows(read(stream, names), configured_kinds(systems))
        matcher = matcher_factory(systems) if matcher_factory is not None else None
        loader = BulkLoader(runtime.links, matcher=matcher)
        try:
            if apply:
                report = await loader.apply(
                    rows, actor=principal.id, note=note, skip_conflicts=skip_conflicts
                )
            else:
                report = await loader.plan(rows)
        except LinkFileError as exc:
            return _refusal(400, ErrorCode.BAD_INPUT, f"{exc}; nothing was written")
        except ConcurrentChange as exc:
            return _refusal(409, ErrorCode.CONFLICT, str(exc))
        except SQLAlchemyError as exc:
            message = f"the link map database failed ({type(exc).__name__}); nothing was written"
            return _refusal(503, "LINKMAP_UNAVAILABLE", message)
        blocked = report.invalid > 0 or (report.conflicts > 0 and not (apply and skip_conflicts))
        status = 200
        if apply and blocked:
            status = 422 if report.invalid else 409
        return JSONResponse(report_json(report, apply=apply, blocked=blocked), status_code=status)

    @router.get("/export")
    async def export_links(
        request: Request,
        format: Literal["csv", "xlsx"] = "csv",
        kind: str | None = Query(default=None),
    ) -> Response:
        """The link map (or one kind) as a link file."""
        principal = _admin(request)
        if isinstance(principal, JSONResponse):
            return principal
        if kind is not None and kind not in KINDS:
            message = f"unknown entity kind {kind!r}; expected one of {', '.join(KINDS)}"
            return _refusal(400, ErrorCode.BAD_INPUT, message)
        runtime: Any = request.app.state.runtime
        names = list(runtime.systems.sources)
        kinds = [kind] if kind is not None else list(KINDS)
        rows = link_file_rows(runtime.links, kinds, names, ExportTally())
        if format == "xlsx":
            workbook = XlsxLinkWriter()
            async for cells in rows:
                workbook.row(cells)
            return Response(
                workbook.save(),
                media_type=XLSX_MEDIA_TYPE,
                headers={"Content-Disposition": 'attachment; filename="links.xlsx"'},
            )
        return StreamingResponse(
            _csv_chunks(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="links.csv"'},
        )

    return router


async def _csv_chunks(
    rows: AsyncIterator[list[str]], per_chunk: int = 1000
) -> AsyncIterator[bytes]:
    """The CSV text of ``rows``, ``per_chunk`` rows per chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    count = 0
    async for cells in rows:
        writer.writerow(cells)
        count += 1
        if count % per_chunk == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")
