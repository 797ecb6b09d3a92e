"""GraphQL over HTTP: every request to ``/graphql`` and ``/export`` is read and parsed once,
here, and every later layer takes the parsed request from the scope.

Persisted-query enforcement, the response cache (and its bump after a mutation), the rate
limit, strawberry and the export endpoint all read :func:`graphql_request` instead of the
body; so no two of them can disagree on what a body means. What this parser refuses is
refused on every path, before authentication, persisted queries or the cache look at it:

- ``POST`` needs ``Content-Type: application/json`` (charset, if given, ``utf-8``), else
  415; its body must be one JSON object in strict UTF-8, no byte-order mark, nested at most
  1 024 deep (orjson's limit), else 400; an array is a batch, refused with 400
  ``BATCHING_NOT_ENABLED`` (RELIABILITY.md S2);
- ``GET`` (``/graphql`` only) takes ``query``, ``operationName`` and the JSON-encoded
  ``variables`` and ``extensions`` from the URL, each at most once; a mutation over
  ``GET`` is refused with 405 by the router (:class:`GraphQLOverHTTPRouter`);
- ``query`` and ``operationName`` are strings or null, ``variables`` and ``extensions``
  objects or null, else 400.

The answer's media type follows the ``Accept`` header (:func:`response_media_type`):
``application/graphql-response+json`` when the client accepts it at least as much as
``application/json``, else ``application/json``. Under ``application/graphql-response+json``
a request that fails before execution (document parse or validation, variable coercion,
a limit) answers 400 without a ``data`` entry; under ``application/json`` it answers 200
with ``"data": null``, as the GraphQL-over-HTTP specification asks of each.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl

import orjson
from cross_web import HTTPException, StarletteRequestAdapter
from graphql import GraphQLError, OperationDefinitionNode, parse
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET

from gateway.embed.graphiql import graphiql_response
from gateway.http.body import read_body, replay
from gateway.http.responses import error_response, send_error

JSON = "application/json"
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
STATE_KEY = "graphql_request"
"""Where the parsed request lives: ``scope["state"][STATE_KEY]``."""

PATHS = ("/graphql", "/export")
GET_PATHS = ("/graphql",)
PARAMETERS = ("query", "operationName", "variables", "extensions")


@dataclass
class GraphQLRequest:
    """One GraphQL request as parsed from HTTP; persisted queries may fill in ``query``."""

    method: str
    media_type: str
    query: str | None = None
    operation_name: str | None = None
    variables: dict[str, Any] | None = None
    extensions: dict[str, Any] | None = None
    request_error: bool = field(default=False, compare=False)
    """Set by the router when the answer is a request error (nothing was executed)."""

    def as_body(self) -> dict[str, Any]:
        """The request as a JSON body (``query``, ``operationName``, ``variables``)."""
        return {
            "query": self.query,
            "operationName": self.operation_name,
            "variables": self.variables,
        }


class RequestRefused(Exception):
    """The request cannot be taken as a GraphQL request: answer ``status`` with ``code``."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def graphql_request(scope: Scope) -> GraphQLRequest | None:
    """The request parsed by :class:`GraphQLRequests` (None when it did not parse one)."""
    state = scope.get("state")
    found = state.get(STATE_KEY) if isinstance(state, dict) else None
    return found if isinstance(found, GraphQLRequest) else None


def _accepted(accept: str) -> dict[str, float]:
    """``media range -> q`` of an ``Accept`` header (lower case, parameters dropped)."""
    ranges: dict[str, float] = {}
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if not media:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
        media = media.lower()
        ranges[media] = max(q, ranges.get(media, 0.0))
    return ranges


def response_media_type(accept: str | None) -> str:
    """``application/graphql-response+json`` when ``accept`` names it with a quality at
    least that of ``application/json`` (``*/*`` and ``application/*`` count for JSON);
    else ``application/json`` (also when neither is acceptable: the header is then
    disregarded, as the specification allows)."""
    if not accept:
        return JSON
    ranges = _accepted(accept)
    preferred = ranges.get(GRAPHQL_RESPONSE_JSON, 0.0)
    json_q = ranges.get(JSON, ranges.get("application/*", ranges.get("*/*", 0.0)))
    return GRAPHQL_RESPONSE_JSON if preferred > 0 and preferred >= json_q else JSON


def decode_json(raw: bytes, what: str = "the request body") -> Any:
    """``raw`` as JSON, strictly: UTF-8 without a byte-order mark, no ``NaN``, nesting at
    most 1 024 deep. The one JSON parser of requests (:class:`RequestRefused` 400)."""
    if not raw.strip():
        raise RequestRefused(400, "BAD_INPUT", f"{what} is empty; send a JSON object")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise RequestRefused(
            400, "BAD_INPUT", f"{what} is not JSON in UTF-8 ({_reason(exc)})"
        ) from None


def _reason(exc: orjson.JSONDecodeError) -> str:
    """orjson's message without the document excerpt (which could be long)."""
    return str(exc.msg)[:200]


def _content_type(value: str | None) -> tuple[str, dict[str, str]]:
    if not value:
        return "", {}
    media, *params = (p.strip() for p in value.split(";"))
    parsed = {}
    for param in params:
        name, _, raw = param.partition("=")
        parsed[name.strip().lower()] = raw.strip().strip('"').lower()
    return media.lower(), parsed


def parse_post(content_type: str | None, body: bytes) -> dict[str, Any]:
    """The JSON object of a ``POST`` body (see the module docstring for what is refused)."""
    media, params = _content_type(content_type)
    if media != JSON:
        given = f"Content-Type {media!r}" if media else "no Content-Type"
        raise RequestRefused(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            f"A GraphQL POST needs Content-Type: application/json; the request has {given}.",
        )
    charset = params.get("charset")
    if charset is not None and charset not in ("utf-8", "utf8"):
        raise RequestRefused(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            f"A GraphQL POST body is UTF-8; the request declares charset {charset[:40]!r}.",
        )
    data = decode_json(body)
    if isinstance(data, list):
        raise RequestRefused(400, "BATCHING_NOT_ENABLED", "Batching is not enabled.")
    if not isinstance(data, dict):
        raise RequestRefused(
            400,
            "BAD_INPUT",
            "The request body must be a JSON object: {query, variables, operationName}.",
        )
    return data


def parse_get(query_string: bytes) -> dict[str, Any]:
    """The GraphQL parameters of a ``GET`` URL (``variables``, ``extensions`` JSON)."""
    try:
        pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise RequestRefused(400, "BAD_INPUT", "The URL's parameters are not UTF-8.") from None
    data: dict[str, Any] = {}
    for name, value in pairs:
        if name not in PARAMETERS:
            continue
        if name in data:
            raise RequestRefused(400, "BAD_INPUT", f"The URL gives {name!r} more than once.")
        if name in ("variables", "extensions"):
            data[name] = decode_json(value.encode(), f"the {name} parameter") if value else None
        else:
            data[name] = value or None
    return data


def request_from(data: dict[str, Any], method: str, media_type: str) -> GraphQLRequest:
    """The :class:`GraphQLRequest` of a parsed body or URL, its parameters type-checked."""
    query = data.get("query")
    if query is not None and not isinstance(query, str):
        raise RequestRefused(400, "BAD_INPUT", "`query` must be a string (or null).")
    name = data.get("operationName")
    if name is not None and not isinstance(name, str):
        raise RequestRefused(400, "BAD_INPUT", "`operationName` must be a string (or null).")
    variables = data.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise RequestRefused(400, "BAD_INPUT", "`variables` must be an object (or null).")
    extensions = data.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        raise RequestRefused(400, "BAD_INPUT", "`extensions` must be an object (or null).")
    return GraphQLRequest(method, media_type, query, name, variables, extensions)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


async def parse_request(scope: Scope, receive: Receive) -> tuple[GraphQLRequest, bytes]:
    """The GraphQL request of an HTTP ``scope`` and the body it read (see the module
    docstring); :class:`RequestRefused` says why there is none."""
    method = scope["method"]
    media_type = response_media_type(_header(scope, b"accept"))
    if method == "GET":
        data = parse_get(scope.get("query_string", b""))
        return request_from(data, method, media_type), b""
    body = await read_body(receive)
    data = parse_post(_header(scope, b"content-type"), body)
    return request_from(data, method, media_type), body


def applies(scope: Scope) -> bool:
    """Whether ``scope`` is a GraphQL request this module parses: ``POST /graphql``,
    ``GET /graphql``, ``POST /export``."""
    if scope["type"] != "http":
        return False
    path = scope["path"].rstrip("/")
    method = scope["method"]
    return (method == "POST" and path in PATHS) or (method == "GET" and path in GET_PATHS)


async def parsed_or_refused(
    scope: Scope, receive: Receive, send: Send
) -> tuple[GraphQLRequest, Receive] | None:
    """The request's :class:`GraphQLRequest` and the ``receive`` for the next layer: the
    one in the scope, or parsed now and kept there (so whichever layer comes first parses,
    and every later one reads the same result). None when it is refused: the refusal has
    been sent."""
    parsed = graphql_request(scope)
    if parsed is not None:
        return parsed, receive
    try:
        parsed, body = await parse_request(scope, receive)
    except RequestRefused as refused:
        media_type = response_media_type(_header(scope, b"accept"))
        await send_error(
            send,
            refused.status,
            refused.code,
            refused.message,
            media_type=media_type,
            headers=refused.headers,
        )
        return None
    scope.setdefault("state", {})[STATE_KEY] = parsed
    return parsed, replay(body, receive) if body else receive


class GraphQLRequests:
    """ASGI middleware parsing ``POST /graphql``, ``GET /graphql`` and ``POST /export``
    once (:func:`parse_request`), leaving the result in ``scope["state"]`` for every later
    layer, or answering the refusal itself. Mounted outside every layer that reads the
    request; a layer that finds no parsed request parses it the same way
    (:func:`parsed_or_refused`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Parse, then pass the request on; or refuse it."""
        if not applies(scope):
            await self.app(scope, receive, send)
            return
        found = await parsed_or_refused(scope, receive, send)
        if found is not None:
            await self.app(scope, found[1], send)


@lru_cache(maxsize=2048)
def operation_kind(query: str, operation_name: str | None) -> str | None:
    """``query``, ``mutation`` or ``subscription`` for the chosen operation; None if the
    text does not parse or names no such operation."""
    try:
        document = parse(query, max_tokens=20_000)
    except (GraphQLError, RecursionError):
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None and len(operations) == 1:
        return operations[0].operation.value
    for operation in operations:
        if operation.name is not None and operation.name.value == operation_name:
            return operation.operation.value
    return None


class ScopedRequestAdapter(StarletteRequestAdapter):
    """strawberry's request adapter, keeping the Starlette request (for its scope)."""

    def __init__(self, request: Request) -> None:
        super().__init__(request)
        self.request = request


def is_request_error(result: ExecutionResult) -> bool:
    """Whether ``result`` failed before execution: parse, validation, variable coercion,
    a limit (no data, and no error has a path, which only field errors have)."""
    errors = result.errors or []
    return result.data is None and bool(errors) and all(e.path is None for e in errors)


class GraphQLOverHTTPRouter(GraphQLRouter[Any, Any]):
    """strawberry's FastAPI router taking the request parsed by :class:`GraphQLRequests`,
    answering in the negotiated media type, and refusing in GraphQL's JSON shape."""

    request_adapter_class = ScopedRequestAdapter

    def encode_json(self, data: object) -> bytes:
        """The response body as compact JSON bytes."""
        return orjson.dumps(data)

    def should_render_graphql_ide(self, request: Any) -> bool:
        """strawberry's rule (a ``GET`` without ``query`` that accepts HTML), except for an
        operation sent by its persisted-query hash (which has no ``query`` in the URL)."""
        parsed = graphql_request(request.request.scope)
        if parsed is not None and (parsed.query is not None or parsed.extensions):
            return False
        return super().should_render_graphql_ide(request)

    async def render_graphql_ide(self, request: Any) -> HTMLResponse:
        """The GraphiQL page from the assets shipped in the package (no CDN), under a CSP
        allowing this origin only (``gateway.embed.graphiql``)."""
        return graphiql_response()

    async def parse_http_body(self, request: Any) -> GraphQLRequestData:
        """The request parsed once by the middleware (parsed here, the same way, when the
        router runs without it)."""
        scope = request.request.scope
        parsed = graphql_request(scope)
        if parsed is None:
            try:
                parsed, _ = await parse_request(scope, request.request.receive)
            except RequestRefused as refused:
                raise HTTPException(refused.status, refused.message) from None
            scope.setdefault("state", {})[STATE_KEY] = parsed
        if parsed.method == "GET" and parsed.query is not None:
            kind = operation_kind(parsed.query, parsed.operation_name)
            if kind in ("mutation", "subscription"):
                raise HTTPException(405, f"A {kind} cannot be sent with GET; use POST.")
        return GraphQLRequestData(
            query=parsed.query,
            variables=parsed.variables,
            operation_name=parsed.operation_name,
            extensions=parsed.extensions,
            protocol="http",
        )

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        """strawberry's result; under ``application/graphql-response+json`` a request error
        has no ``data`` entry (and answers 400, see :meth:`run`)."""
        processed = await super().process_result(request, result)
        parsed = graphql_request(request.scope)
        if parsed is not None and is_request_error(result):
            parsed.request_error = True
            if parsed.media_type == GRAPHQL_RESPONSE_JSON:
                processed.pop("data", None)
        return processed

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        """strawberry's answer in the negotiated media type; its HTTP refusals (missing
        query, GET mutation) as GraphQL errors in JSON instead of plain text."""
        if request.scope["type"] != "http":
            return await super().run(request, context, root_value)
        try:
            response = await super().run(request, context, root_value)
        except HTTPException as exc:
            parsed = graphql_request(request.scope)
            media_type = parsed.media_type if parsed else JSON
            status = exc.status_code
            code = {405: "METHOD_NOT_ALLOWED", 404: "NOT_FOUND"}.get(status, "BAD_INPUT")
            headers = {"Allow": "POST"} if status == 405 else {}
            return error_response(status, code, exc.reason, media_type, headers)
        parsed = graphql_request(request.scope)
        if (
            parsed is not None
            and isinstance(response, Response)
            and response.media_type == JSON
            and parsed.media_type == GRAPHQL_RESPONSE_JSON
        ):
            response.headers["content-type"] = GRAPHQL_RESPONSE_JSON
            if parsed.request_error and response.status_code == 200:
                response.status_code = 400
        return response
