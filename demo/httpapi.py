"""What the three demo apps share: the app class, error bodies, the list envelope,
comma-separated batch parameters, pagination and cached item serialisation."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Receive, Scope, Send

from demo.knobs import Knobs, KnobsGate, knobs_router

MAX_BATCH = 100
MAX_PER_PAGE = 500
DEFAULT_PER_PAGE = 100
ERROR_NAMES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    500: "internal_error",
    503: "service_unavailable",
}

ItemT = TypeVar("ItemT", bound=BaseModel)
R = TypeVar("R")


class ErrorOut(BaseModel):
    """Every error body: a stable machine name and a human detail."""

    error: str
    detail: str


class Page(BaseModel, Generic[ItemT]):
    """The list envelope of every collection endpoint."""

    items: list[ItemT]
    page: int
    per_page: int
    total: int
    next_page: int | None


class KeysetPage(BaseModel, Generic[ItemT]):
    """The envelope of a keyset page: items after a position, and the next position."""

    items: list[ItemT]
    limit: int
    next: str | None


class Health(BaseModel):
    """Liveness answer of ``/healthz``."""

    status: str
    system: str


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "Bad parameter (over a limit, bad date, ...)"},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "Unknown key"},
}

PageNo = Annotated[int, Query(ge=1, description="1-based page number.")]
PerPage = Annotated[
    int, Query(ge=1, le=MAX_PER_PAGE, description=f"Items per page, at most {MAX_PER_PAGE}.")
]
MaybePageNo = Annotated[int | None, Query(ge=1, description="1-based page number.")]
MaybePerPage = Annotated[
    int | None,
    Query(ge=1, le=MAX_PER_PAGE, description=f"Items per page, at most {MAX_PER_PAGE}."),
]
Limit = Annotated[
    int | None,
    Query(
        ge=1,
        le=MAX_PER_PAGE,
        description=f"Items per keyset page, at most {MAX_PER_PAGE} (keyset paging).",
    ),
]
After = Annotated[
    str | None,
    Query(description="Position token (``next`` of the previous keyset page)."),
]
Csv = Annotated[
    str | None,
    Query(description=f"Comma-separated values, at most {MAX_BATCH}; matches any of them."),
]


class DemoApp(FastAPI):
    """A FastAPI app whose every request first passes the app's ``Knobs`` gate.

    The gate wraps ``__call__`` (outside FastAPI's middleware stack) so that it receives the
    server's own ``send`` callable.
    """

    knobs: Knobs

    def __init__(self, *, system: str, knobs: Knobs, **kwargs: Any) -> None:
        """Create the app for ``system`` ("erp", "crm", "timesheet") driven by ``knobs``."""
        super().__init__(**kwargs)
        self.system = system
        self.knobs = knobs
        self._gate = KnobsGate(super().__call__, knobs)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI call through the knobs gate."""
        await self._gate(scope, receive, send)


def error_response(status: int, detail: str) -> Response:
    """A JSON ``{"error", "detail"}`` response with ``status``."""
    body = {"error": ERROR_NAMES.get(status, f"http_{status}"), "detail": detail}
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def new_app(system: str, title: str, knobs: Knobs | None) -> DemoApp:
    """A ``DemoApp`` with JSON error handlers, ``/healthz`` and the knobs routes installed."""
    app = DemoApp(system=system, knobs=knobs or Knobs(), title=title, version="1.0.0")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> Response:
        """Any HTTP error as ``{"error", "detail"}``."""
        return error_response(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> Response:
        """Invalid parameters are a 400, not FastAPI's 422."""
        parts = []
        for err in exc.errors():
            loc = ".".join(str(x) for x in err.get("loc", ()) if x not in ("query", "body"))
            parts.append(f"{loc}: {err.get('msg', 'invalid')}" if loc else err.get("msg", ""))
        return error_response(400, "; ".join(parts) or "invalid request")

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> Response:
        """A bug in the demo app: 500 naming only the exception type."""
        return error_response(500, type(exc).__name__)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> Health:
        """Liveness: the app answers."""
        return Health(status="ok", system=system)

    app.include_router(knobs_router(app.knobs))
    return app


def bad_request(detail: str) -> HTTPException:
    """A 400 to raise from an endpoint."""
    return HTTPException(status_code=400, detail=detail)


def parse_csv(name: str, raw: str | None, allowed: Iterable[str] | None = None) -> list[str] | None:
    """Values of a comma-separated parameter (``None`` when absent), de-duplicated in order.

    Raises a 400 for an empty value, more than ``MAX_BATCH`` values, or a value outside
    ``allowed``.
    """
    if raw is None:
        return None
    values = [v.strip() for v in raw.split(",")]
    values = [v for v in values if v]
    if not values:
        raise bad_request(f"{name}: must not be empty")
    if len(values) > MAX_BATCH:
        raise bad_request(f"{name}: at most {MAX_BATCH} values per request, got {len(values)}")
    if allowed is not None:
        allowed_set = set(allowed)
        unknown = [v for v in values if v not in allowed_set]
        if unknown:
            raise bad_request(
                f"{name}: unknown value(s) {', '.join(unknown)}; "
                f"allowed: {', '.join(sorted(allowed_set))}"
            )
    return list(dict.fromkeys(values))


def gather(
    primary: Mapping[str, R],
    *candidate_sets: Iterable[str] | None,
    numeric: bool = False,
) -> Iterable[R]:
    """Records to consider, in key order: the union of the first non-None candidate set
    (looked up in ``primary``; unknown keys skipped), or all of ``primary``."""
    for keys in candidate_sets:
        if keys is None:
            continue
        unique = set(keys)
        ordered = sorted(unique, key=int) if numeric else sorted(unique)
        return [primary[k] for k in ordered if k in primary]
    return primary.values()


def index_union(index: Mapping[str, list[str]], parents: list[str] | None) -> list[str] | None:
    """Child keys of all ``parents`` in ``index``; None when ``parents`` is None."""
    if parents is None:
        return None
    return [k for p in parents for k in index.get(p, ())]


class ItemCache(Generic[R]):
    """Serialises records to JSON-ready dicts through a pydantic model, once per record.

    A dump is reused only for the very record object it was made from: records are frozen
    and a write replaces them, so a changed record can never be served from a stale dump,
    whatever thread changed it and in whatever order. ``forget`` only frees memory.
    """

    def __init__(self, model: type[BaseModel], key: Callable[[R], str]) -> None:
        """Cache dumps of ``model`` built from records; ``key`` names a record."""
        self._model = model
        self._key = key
        self._dumped: dict[str, tuple[R, dict[str, Any]]] = {}

    def forget(self, key: str | None = None) -> None:
        """Drop the cached dump of ``key`` (all dumps when ``key`` is None) after a write."""
        if key is None:
            self._dumped.clear()
        else:
            self._dumped.pop(key, None)

    def render(self, record: R) -> dict[str, Any]:
        """The JSON-ready dict of ``record`` without caching it (for unsaved records)."""
        return self._model.model_validate(record, from_attributes=True).model_dump(mode="json")

    def dump(self, record: R) -> dict[str, Any]:
        """The JSON-ready dict of ``record`` (money and dates as strings); do not mutate it."""
        k = self._key(record)
        cached = self._dumped.get(k)
        if cached is not None and cached[0] is record:
            return cached[1]
        dumped = self.render(record)
        self._dumped[k] = (record, dumped)
        return dumped


def json_response(payload: Any, status: int = 200) -> Response:
    """``payload`` serialised with orjson as an ``application/json`` response."""
    return Response(orjson.dumps(payload), status_code=status, media_type="application/json")


def page_response(records: Iterable[R], cache: ItemCache[R], page: int, per_page: int) -> Response:
    """The list envelope for ``records`` (already filtered, in order), sliced to ``page``."""
    rows = records if isinstance(records, list) else list(records)
    total = len(rows)
    start = (page - 1) * per_page
    chunk = rows[start : start + per_page]
    return json_response(
        {
            "items": [cache.dump(r) for r in chunk],
            "page": page,
            "per_page": per_page,
            "total": total,
            "next_page": page + 1 if start + per_page < total else None,
        }
    )


SortKey = tuple[str, str]
"""Where a record stands in a sorted list: (the sorted field's value, the record's key)."""


def parse_sort(raw: str | None, fields: Sequence[str], default: str) -> tuple[str, bool]:
    """The field and direction of a ``sort`` parameter (``name`` or ``-name``); a 400 for a
    field outside ``fields``."""
    text = raw if raw is not None else default
    descending = text.startswith("-")
    name = text[1:] if descending else text
    if name not in fields:
        raise bad_request(f"sort: unknown field {name!r}; allowed: {', '.join(fields)}")
    return name, descending


def encode_position(sort: str, position: SortKey) -> str:
    """An opaque token for ``position`` in the order ``sort`` (``-name``...)."""
    raw = orjson.dumps([sort, position[0], position[1]])
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_position(token: str, sort: str) -> SortKey:
    """The position ``token`` stands for; a 400 when it is not a token of order ``sort``."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        decoded = orjson.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise bad_request("after: not a position token") from exc
    if (
        not isinstance(decoded, list)
        or len(decoded) != 3
        or not all(isinstance(part, str) for part in decoded)
    ):
        raise bad_request("after: not a position token")
    if decoded[0] != sort:
        raise bad_request(f"after: a token of sort {decoded[0]!r}, not of {sort!r}")
    return decoded[1], decoded[2]


def keyset_response(
    rows: Sequence[R],
    cache: ItemCache[R],
    position: Callable[[R], SortKey],
    *,
    sort: str,
    descending: bool,
    after: str | None,
    limit: int,
    link: Callable[[str], str],
) -> Response:
    """One keyset page of ``rows`` (already filtered) in the order of ``position``
    (descending when asked): the ``limit`` rows strictly after the ``after`` token, with the
    ``next`` token in the body and in a ``Link: <...>; rel="next"`` header (``link`` makes
    the URL of a token); ``next`` is null on the last page."""
    ordered = sorted(rows, key=position, reverse=descending)
    start = 0
    if after is not None:
        mark = decode_position(after, sort)
        start = next(
            (
                i
                for i, row in enumerate(ordered)
                if (position(row) < mark if descending else position(row) > mark)
            ),
            len(ordered),
        )
    chunk = ordered[start : start + limit]
    more = start + limit < len(ordered)
    token = encode_position(sort, position(chunk[-1])) if more and chunk else None
    response = json_response(
        {"items": [cache.dump(r) for r in chunk], "limit": limit, "next": token}
    )
    if token is not None:
        response.headers["Link"] = f'<{link(token)}>; rel="next"'
    return response
