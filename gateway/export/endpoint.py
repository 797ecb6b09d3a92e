"""``POST /export?format=csv|jsonl|parquet``: a GraphQL query's result as a streamed file.

The body is the one ``/graphql`` takes (``{"query", "variables", "operationName"}``); the
answer is the export (see :mod:`gateway.export`), page by page as a chunked
``StreamingResponse`` with the format's ``Content-Type`` and an attachment
``Content-Disposition``. Add ``&partial=true`` to keep rows whose fields partly failed.

The same guards as ``/graphql`` hold: the caller is authenticated by the app's
middleware and needs the ``analyst`` or ``admin`` role (403 ``FORBIDDEN`` otherwise);
each page runs through the same schema, so depth, alias, token, cost and ``first`` limits
apply as do error codes and masking; the export is charged to the principal's rate limit
by its work, not its pages: the rows it returns, or the candidate records its list read
when more (:class:`gateway.http.ratelimit.ExportMeter`: the first page over it answers 429
``RATE_LIMITED`` with ``Retry-After``, a later one waits its turn, at most 60 s; the last
page is charged once the export ended); each page must finish within
``request_deadline``; the body size limit and the persisted-query safelist apply as mounted
in :func:`gateway.app.create_app`.

The export reads its list once: every page runs with the same
:class:`resolvers.lists.memo.ListMemo`, so a list in link-map order is one keyset scan
(each page starts where the last ended), its ``totalCount`` is counted once, and a list
ordered in the gateway (by NAME, CREDIT_LIMIT, ...) reads and sorts its candidates once,
not once per page.

Errors before the first byte are JSON ``{"errors": [...]}``: 400 for a bad body (refused
by :mod:`gateway.http.graphql`, as on ``/graphql``), a document that cannot be exported, or
one the document guard of ``/graphql`` refuses before validation (fragment cycles and
bombs, nesting, depth, aliases: :func:`gateway.http.limits.document_errors`); 422 when the first
page has GraphQL errors (their codes are the stable ones). A failure after streaming began
ends a CSV or JSONL body with an error line (see :func:`failure_marker`) and aborts the
response; a Parquet body then lacks its footer and does not open. So a partial file is
never taken for a complete one.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Mapping
from typing import Any

import orjson
import strawberry
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from graphql import GraphQLError, parse

from gateway.auth.principal import Principal
from gateway.export import (
    FORMATS,
    MEDIA_TYPES,
    BadExportDocument,
    ExportError,
    ExportQueryFailed,
    ExportRun,
    Format,
    SchemaExecutor,
    plan_export,
    stream_export,
)
from gateway.export.plan import MAX_TOKENS
from gateway.http.graphql import RequestRefused, graphql_request, parse_request
from gateway.http.limits import LimitSettings, document_errors
from gateway.http.ratelimit import Decision, ExportMeter, rate_limited_response
from gateway.runtime import Runtime
from resolvers.error_codes import error_document
from resolvers.lists.memo import LIST_MEMO, ListMemo

log = logging.getLogger("keylink.export")

EXPORT_ROLES = frozenset({"analyst", "admin"})
MAX_RATE_WAIT_SECONDS = 60.0


class RateLimited(ExportError):
    """The principal is over its rate; ``retry_after`` seconds until it may go on."""

    code = "RATE_LIMITED"

    def __init__(self, retry_after: float) -> None:
        super().__init__("rate limit exceeded")
        self.retry_after = retry_after


class GuardedExecutor:
    """Runs a page through the schema once ``meter`` charged the export's rows so far to
    the principal's rate limit (:class:`gateway.http.ratelimit.ExportMeter`), within the request
    deadline; the first page is refused when over the rate, later pages wait
    (``RateLimited`` past ``MAX_RATE_WAIT_SECONDS``)."""

    def __init__(
        self, runtime: Runtime, schema: strawberry.Schema, principal: Principal, deadline: float
    ) -> None:
        self._runtime = runtime
        self._principal = principal
        self._deadline = deadline
        self.lists = ListMemo()
        self._inner = SchemaExecutor(
            schema,
            lambda: {"keylink": runtime.request_context(principal), LIST_MEMO: self.lists},
        )
        self.meter = ExportMeter(runtime.rate_limiter, principal, MAX_RATE_WAIT_SECONDS)

    async def __call__(
        self, document: str, variables: Mapping[str, Any], operation_name: str | None
    ) -> Mapping[str, Any]:
        """One page, once the rate limit allows it."""
        decision = await self.meter.before_page()
        if not decision.allowed:
            raise RateLimited(decision.retry_after)
        async with asyncio.timeout(self._deadline):
            return await self._inner(document, variables, operation_name)


def export_router(schema: strawberry.Schema, request_deadline: float) -> APIRouter:
    """The router with ``POST /export`` running documents through ``schema``."""
    router = APIRouter()

    @router.post("/export", response_model=None)
    async def export(request: Request, format: str = "csv", partial: bool = False) -> Response:
        """Stream the result of the GraphQL query in the body as ``format``."""
        principal: Principal | None = getattr(request.state, "principal", None)
        if principal is None or not principal.roles & EXPORT_ROLES:
            return _error(403, "FORBIDDEN", "Exporting needs the analyst or admin role.")
        if format not in FORMATS:
            return _error(400, "BAD_INPUT", "format must be csv, jsonl or parquet")
        fmt: Format = format
        parsed = graphql_request(request.scope)  # parsed once, by GraphQLRequests
        if parsed is None:  # the router mounted without that middleware (tests)
            try:
                parsed, _ = await parse_request(request.scope, request.receive)
            except RequestRefused as refused:
                return _error(refused.status, refused.code, refused.message)
        if parsed.query is None:
            return _error(400, "BAD_INPUT", "the body needs a query string; variables an object")
        query, variables, name = parsed.query, parsed.variables or {}, parsed.operation_name
        runtime: Runtime = request.app.state.runtime
        try:
            check_document(query, _limits(request))
            plan = plan_export(query, name)
        except BadExportDocument as exc:
            return _error(400, exc.code, exc.message)
        executor = GuardedExecutor(runtime, schema, principal, request_deadline)
        run = ExportRun(plan, executor, variables, allow_partial=partial)
        # charged by its work (rows, or candidates read when more), not by its pages
        executor.meter.work_done = lambda: max(run.rows_done, executor.lists.read)
        chunks = _settled(stream_export(run, fmt), executor.meter)
        try:
            first = await anext(chunks, b"")  # b"": an empty export (JSONL without rows)
        except RateLimited as exc:
            return rate_limited_response(Decision(False, exc.retry_after))
        except ExportQueryFailed as exc:
            return JSONResponse({"errors": exc.errors}, status_code=422)
        except TimeoutError:
            return _error(504, "DEADLINE_EXCEEDED", "the first page exceeded the deadline")
        except ExportError as exc:
            return _error(400 if exc.code == "BAD_INPUT" else 422, exc.code, exc.message)
        filename = _filename(plan.operation_name, fmt)
        return StreamingResponse(
            _rest(first, chunks, principal, fmt),
            media_type=MEDIA_TYPES[fmt],
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    return router


async def _settled(chunks: AsyncIterator[bytes], meter: ExportMeter) -> AsyncIterator[bytes]:
    """``chunks``, then the last page's work charged (:meth:`ExportMeter.settle`)."""
    async for chunk in chunks:
        yield chunk
    await meter.settle()


async def _rest(
    first: bytes, chunks: AsyncIterator[bytes], principal: Principal, format: Format
) -> AsyncIterator[bytes]:
    """The first chunk, then the others. A failure is logged, ends CSV and JSONL with an
    error line (:func:`failure_marker`) and is re-raised, which cuts the connection where
    nothing in between closes the stream cleanly (Starlette's ``BaseHTTPMiddleware``
    does: hence the marker). A cut Parquet file has no footer and does not open."""
    yield first
    try:
        async for chunk in chunks:
            yield chunk
    except (ExportError, TimeoutError) as exc:
        log.warning("export for %s stopped: %s", principal.id, exc)
        marker = failure_marker(format, exc)
        if marker:
            yield marker
        raise


FAILURE_PREFIX = "#KEYLINK-EXPORT-FAILED"


def failure_marker(format: Format, exc: Exception) -> bytes:
    """The last line of a CSV or JSONL export that failed after it began: CSV
    ``#KEYLINK-EXPORT-FAILED <code>: <message>``, JSONL
    ``{"_keylink_export_failed": {"code", "message"}}``; nothing for Parquet. A complete
    export never ends with it."""
    code = exc.code if isinstance(exc, ExportError) else "DEADLINE_EXCEEDED"
    message = exc.message if isinstance(exc, ExportError) else "a page exceeded the deadline"
    if format == "csv":
        return f"{FAILURE_PREFIX} {code}: {message}\r\n".encode()
    if format == "jsonl":
        return orjson.dumps({"_keylink_export_failed": {"code": code, "message": message}}) + b"\n"
    return b""


def check_document(document: str, limits: LimitSettings) -> None:
    """:class:`BadExportDocument` (with the guard's code) when ``document`` does not parse,
    or when :func:`gateway.http.limits.document_errors` refuses it: fragments spreading each
    other in a cycle, selections and spreads nested too deep, a fragment bomb, depth or
    aliases over ``limits``. The export plan spreads every fragment in place (recursively),
    so this guard, linear in the document, runs before it, as it runs before every other
    validation rule on ``/graphql``."""
    try:
        parsed = parse(document, max_tokens=MAX_TOKENS)
    except GraphQLError as exc:
        raise BadExportDocument(f"the document does not parse: {exc.message}") from None
    errors = document_errors(parsed, limits)
    if errors:
        code = (errors[0].extensions or {}).get("code")
        raise BadExportDocument(errors[0].message, code if isinstance(code, str) else None)


def _limits(request: Request) -> LimitSettings:
    """The gateway's request limits (the defaults when the router runs on its own)."""
    settings = getattr(request.app.state, "settings", None)
    limits = getattr(settings, "limits", None)
    return limits if isinstance(limits, LimitSettings) else LimitSettings()


def _filename(operation: str | None, format: Format) -> str:
    """``<operation>.<format>`` with only safe characters (``export`` when unnamed)."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", operation or "").strip("-") or "export"
    return f"{stem[:64]}.{format}"


def _error(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        error_document(code, message), status_code=status, headers=dict(headers or {})
    )
