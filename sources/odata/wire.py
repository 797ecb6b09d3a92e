"""OData v4 on the wire: key filters and query options, bodies read with their decimals
exact, error bodies, and one GET of a page through the one HTTP layer (``sources.http``).

An OData JSON number is read as ``Decimal`` (``json.loads(parse_float=Decimal)``), never
through a float; an ``Edm.Decimal`` sent as a string (``IEEE754Compatible=true``) is read
by the record's field type the same way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import quote, urljoin, urlsplit

import httpx

from sources.errors import NotFound, SourceUnavailable
from sources.http import send_raw

JSON = "application/json"
QUERY_SAFE = "$,()'=:/@-_.*~"
"""Characters left as they are in a query option (OData's own punctuation)."""


def literal(key: str, key_type: Literal["string", "int"]) -> str | None:
    """``key`` as an OData literal of the key's type: ``'it''s'`` for a string, digits for
    an integer; None when the key cannot be a value of that type (no entity has it)."""
    if key_type == "int":
        body = key[1:] if key[:1] == "-" else key
        return key if 0 < len(body) <= 18 and body.isascii() and body.isdigit() else None
    return "'" + key.replace("'", "''") + "'"


def key_filter(
    prop: str, keys: Sequence[str], key_type: Literal["string", "int"], style: str
) -> str | None:
    """The ``$filter`` selecting ``keys`` on ``prop`` (``in (...)``, or an ``or`` chain for
    services without ``in``); None when no key can match."""
    values = [v for v in (literal(k, key_type) for k in keys) if v is not None]
    if not values:
        return None
    if style == "in":
        return f"{prop} in ({','.join(values)})"
    return " or ".join(f"{prop} eq {v}" for v in values)


def query(options: Mapping[str, str]) -> str:
    """Query options as a query string (``$filter=...&$select=...``)."""
    return "&".join(f"{name}={quote(value, safe=QUERY_SAFE)}" for name, value in options.items())


def entity_path(entity_set: str, key: str, key_type: Literal["string", "int"]) -> str | None:
    """``EntitySet('key')``, the key percent-encoded; None when the key cannot exist."""
    value = literal(key, key_type)
    return None if value is None else f"{entity_set}({quote(value, safe=QUERY_SAFE)})"


def decode(body: bytes) -> Any:
    """A JSON body with every number that has a fraction or exponent read as ``Decimal``."""
    return json.loads(body, parse_float=Decimal)


def encode(value: Any) -> Any:
    """A write body's value as JSON can carry it: a Decimal as its exact text (with
    ``IEEE754Compatible=true``, as OData asks), a date in ISO form."""
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def error_of(body: bytes) -> tuple[str, str, str | None]:
    """An OData error body's ``(code, message, target)``; empty strings when the body is
    not one (``{"error": {"code": ..., "message": ..., "target": ...}}``)."""
    try:
        found = json.loads(body) if body.strip() else None
    except ValueError:
        return "", "", None
    error = found.get("error") if isinstance(found, dict) else None
    if not isinstance(error, dict):
        return "", "", None
    code, message, target = error.get("code"), error.get("message"), error.get("target")
    return (
        str(code) if isinstance(code, (str, int)) else "",
        message if isinstance(message, str) else "",
        target if isinstance(target, str) else None,
    )


def accept(ieee754: bool) -> str:
    """The ``Accept`` (and write ``Content-Type``) of JSON with or without decimals as
    strings."""
    return f"{JSON};IEEE754Compatible=true" if ieee754 else JSON


async def get(
    client: httpx.AsyncClient, system: str, url: str, *, ieee754: bool, what: str
) -> tuple[Any, str]:
    """GET ``url`` (relative to the service root, or absolute on its origin) and return its
    decoded body and the URL asked. Typed errors: ``SourceUnavailable`` for refusals (the
    OData error's code and message in the detail), bodies that are not JSON, and answers
    from elsewhere; ``NotFound`` for 404; ``sources.http`` for the transport."""
    absolute = urljoin(str(client.base_url).rstrip("/") + "/", url)
    if urlsplit(absolute)[:2] != urlsplit(str(client.base_url))[:2]:
        raise SourceUnavailable(system, f"{what}: link leaves the service: {absolute[:200]}")
    status, raw = await send_raw(
        client,
        system,
        "GET",
        absolute,
        headers={"Accept": accept(ieee754)},
        write=False,
        label=f"GET {what}",
    )
    if status >= 400:
        code, message, _ = error_of(raw)
        detail = f"{what}: HTTP {status} {code} {message[:300]}".rstrip()
        if status == 404:
            raise NotFound(system, detail)
        raise SourceUnavailable(system, detail)
    try:
        return decode(raw), absolute
    except ValueError:
        raise SourceUnavailable(system, f"{what}: the answer is not JSON") from None
