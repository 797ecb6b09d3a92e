"""The one HTTP seam of every HTTP-based adapter: a configured ``httpx.AsyncClient`` and the
mapping of transport failures and bad answers to ``sources.errors``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson

from sources.errors import (
    NotFound,
    SourceError,
    SourceTimeout,
    SourceUnavailable,
    retry_after_seconds,
)

log = logging.getLogger("keylink.sources.http")

MAX_RESPONSE_BYTES = 10 * 1024 * 1024
"""Upstream answers larger than this are cut off and reported as unavailable (R8)."""

HeaderHook = Callable[[dict[str, str]], None]
"""Adds headers to an outgoing upstream request (the gateway's trace context)."""

_header_hook: HeaderHook | None = None


def add_outgoing_headers(hook: HeaderHook | None) -> HeaderHook | None:
    """Let ``hook`` add headers to every upstream request sent through this module from
    now on (None: no more); the hook installed before is returned. The gateway puts the
    W3C ``traceparent`` of the current span here while tracing is on."""
    global _header_hook
    previous, _header_hook = _header_hook, hook
    return previous


def _outgoing(headers: Mapping[str, str] | None) -> dict[str, str] | None:
    """``headers`` plus what the hook adds (None when there is neither)."""
    hook = _header_hook
    if hook is None:
        return dict(headers) if headers else None
    found = dict(headers or {})
    hook(found)
    return found


class _NoCookies(httpx.Cookies):
    """A cookie jar that keeps nothing: one upstream client serves every user, so a cookie
    an upstream sets for one request must never ride along on the next (and reading
    ``Set-Cookie`` through ``http.cookiejar`` costs CPU on every answer)."""

    def extract_cookies(self, response: httpx.Response) -> None:
        """Keep no cookie from ``response``."""

    def set_cookie_header(self, request: httpx.Request) -> None:
        """Add no ``Cookie`` header."""


class UpstreamClient(httpx.AsyncClient):
    """``httpx.AsyncClient`` without a cookie jar (see ``_NoCookies``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._no_cookies = _NoCookies()

    @property
    def cookies(self) -> httpx.Cookies:
        """An empty jar that stays empty."""
        return self._no_cookies

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        if cookies:
            raise ValueError("upstream clients keep no cookies")


def make_client(
    base_url: str,
    *,
    timeout: float,
    headers: Mapping[str, str] | None = None,
    auth: httpx.Auth | None = None,
    max_connections: int = 100,
    max_keepalive: int = 20,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """A client bound to one upstream, with a timeout that is always set and a bounded pool."""
    if timeout <= 0:
        raise ValueError("an upstream timeout must be positive")
    return UpstreamClient(
        base_url=base_url,
        timeout=httpx.Timeout(timeout),
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_keepalive
        ),
        headers=dict(headers or {}),
        auth=auth,
        transport=transport,
        follow_redirects=False,
    )


async def get_json(
    client: httpx.AsyncClient,
    system: str,
    path: str,
    params: Mapping[str, str],
    *,
    max_bytes: int = MAX_RESPONSE_BYTES,
) -> Any:
    """GET ``path`` and return its decoded JSON body, or raise a typed ``SourceError``.

    Timeouts become ``SourceTimeout``; refused or reset connections, 5xx answers, bodies that
    are not JSON and bodies over ``max_bytes`` become ``SourceUnavailable``; 404 becomes
    ``NotFound``. Upstream details go to the error's ``detail`` (logs only).
    """
    body, _ = await get_json_with_headers(client, system, path, params, max_bytes=max_bytes)
    return body


async def get_json_with_headers(
    client: httpx.AsyncClient,
    system: str,
    path: str,
    params: Mapping[str, str],
    *,
    max_bytes: int = MAX_RESPONSE_BYTES,
) -> tuple[Any, httpx.Headers]:
    """``get_json``, with the response headers beside the body (for ``Link`` paging);
    the same limits and the same typed errors."""
    try:
        async with client.stream(
            "GET", _absolute(client, path, params), headers=_outgoing(None)
        ) as response:
            body = await _read_limited(response, system, max_bytes)
    except SourceError:
        raise
    except httpx.TimeoutException as exc:
        retryable = isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout))
        raise SourceTimeout(
            system, f"GET {path}: {type(exc).__name__}", retryable=retryable
        ) from exc
    except httpx.HTTPError as exc:
        raise SourceUnavailable(
            system,
            f"GET {path}: {type(exc).__name__}: {exc}",
            retryable=isinstance(exc, httpx.ConnectError),
        ) from exc
    if response.status_code == 404:
        raise NotFound(system, f"GET {path}: 404 {_snippet(body)}")
    if response.status_code >= 400:
        raise SourceUnavailable(
            system,
            f"GET {path}: {response.status_code} {_snippet(body)}",
            retryable=response.status_code in (502, 503, 504),
            retry_after=retry_after_seconds(response.headers.get("retry-after")),
        )
    try:
        return decode_json(body), response.headers
    except ValueError as exc:
        raise SourceUnavailable(system, f"GET {path}: invalid JSON {_snippet(body)}") from exc


def _absolute(client: httpx.AsyncClient, path: str, params: Mapping[str, str]) -> httpx.URL:
    """The URL httpx would build from the client's base URL, ``path`` and ``params``,
    built from one string: httpx's own merging and parameter encoding cost several times
    more CPU, once per upstream call."""
    query = urlencode(params) if params else ""
    base = str(client.base_url).rstrip("/")
    return httpx.URL(f"{base}/{path.lstrip('/')}" + (f"?{query}" if query else ""))


def decode_json(body: bytes) -> Any:
    """``body`` decoded as JSON, as the standard library would (orjson first, for speed;
    the standard library for what orjson refuses, such as integers beyond 64 bits)."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)


async def _read_limited(response: httpx.Response, system: str, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise SourceUnavailable(system, f"answer of {declared} bytes exceeds {max_bytes}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise SourceUnavailable(system, f"answer exceeds {max_bytes} bytes; cut off")
        chunks.append(chunk)
    return b"".join(chunks)


def _snippet(body: bytes, limit: int = 500) -> str:
    return body[:limit].decode("utf-8", errors="replace")


_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


async def _exchange(
    client: httpx.AsyncClient,
    system: str,
    method: str,
    path: str,
    *,
    body: Any,
    params: Mapping[str, str] | None,
    headers: Mapping[str, str] | None,
    write: bool,
    retryable: bool,
    label: str | None,
    max_bytes: int,
) -> tuple[int, bytes]:
    """One request with a JSON ``body``, its answer streamed and refused past ``max_bytes``;
    ``(status, raw body)`` below 500, typed errors otherwise (see :func:`send_raw`).
    ``retryable`` says whether errors a read may retry (never sent; 502, 503, 504) are
    marked so."""
    what = label or f"{method} {path}"
    sent = False
    try:
        async with client.stream(
            method, path, json=body, params=params, headers=_outgoing(headers)
        ) as response:
            sent = True  # the upstream answered: whatever fails now, it has the request
            raw = await _read_limited(response, system, max_bytes)
    except SourceError as exc:  # the answer was over ``max_bytes``
        raise type(exc)(system, f"{what}: {exc.detail}", maybe_applied=write) from exc
    except _NOT_SENT as exc:
        if sent:
            raise SourceUnavailable(
                system, f"{what}: {type(exc).__name__} after the answer began", maybe_applied=write
            ) from exc
        error_type = SourceTimeout if isinstance(exc, httpx.TimeoutException) else SourceUnavailable
        raise error_type(system, f"{what}: {type(exc).__name__}", retryable=retryable) from exc
    except httpx.TimeoutException as exc:
        raise SourceTimeout(system, f"{what}: {type(exc).__name__}", maybe_applied=write) from exc
    except httpx.HTTPError as exc:
        raise SourceUnavailable(
            system, f"{what}: {type(exc).__name__}: {exc}", maybe_applied=write
        ) from exc
    if response.status_code >= 500:
        raise SourceUnavailable(
            system,
            f"{what}: HTTP {response.status_code} {_snippet(raw)}",
            maybe_applied=write,
            retryable=retryable and response.status_code in (502, 503, 504),
        )
    return response.status_code, raw


async def send_json(
    client: httpx.AsyncClient,
    system: str,
    method: str,
    path: str,
    *,
    body: Any = None,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    max_bytes: int = MAX_RESPONSE_BYTES,
) -> tuple[int, Any]:
    """Send one write, never retried, and return ``(status, decoded JSON body or None)``.

    4xx answers are returned for the caller to interpret. Failures raise typed errors whose
    ``maybe_applied`` says whether the request may have reached the upstream: false only
    when the connection was never made.
    """
    status, raw = await _exchange(
        client,
        system,
        method,
        path,
        body=body,
        params=params,
        headers=headers,
        write=True,
        retryable=False,
        label=None,
        max_bytes=max_bytes,
    )
    try:
        decoded = json.loads(raw) if raw.strip() else None
    except ValueError as exc:
        if status < 400:
            raise SourceUnavailable(
                system, f"{method} {path}: invalid JSON {_snippet(raw)}", maybe_applied=True
            ) from exc
        decoded = None
    return status, decoded


async def send_raw(
    client: httpx.AsyncClient,
    system: str,
    method: str,
    path: str,
    *,
    body: Any = None,
    headers: Mapping[str, str] | None = None,
    write: bool,
    label: str | None = None,
    max_bytes: int = MAX_RESPONSE_BYTES,
) -> tuple[int, bytes]:
    """Send one request (JSON ``body``) and return ``(status, raw body)`` for answers below
    500, for protocols that read their own bodies (Tryton's JSON-RPC). Never retried here.

    The body is streamed and refused past ``max_bytes`` without reading the rest. A request
    never sent (refused, connect or pool timeout) raises ``SourceTimeout`` or
    ``SourceUnavailable`` with ``retryable`` set and ``maybe_applied`` false. Once sent,
    timeouts raise ``SourceTimeout``; broken connections, 5xx answers and oversized bodies
    raise ``SourceUnavailable``; their ``maybe_applied`` is ``write`` and only 502, 503 and
    504 are retryable. ``label`` (default ``"<method> <path>"``) starts each ``detail``.
    """
    return await _exchange(
        client,
        system,
        method,
        path,
        body=body,
        params=None,
        headers=headers,
        write=write,
        retryable=True,
        label=label,
        max_bytes=max_bytes,
    )
