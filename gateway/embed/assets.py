"""The static files shipped in the package (``gateway/static``), served at ``/static/...``.

Only files under that folder with a known type (.js, .css, .json) are served, each with its
exact media type, ``X-Content-Type-Options: nosniff``, a strong ``ETag`` (a ``304`` for a
matching ``If-None-Match``) and a short public cache lifetime. A path that leaves the
folder, names a hidden file or another type, answers 404. Files are read once, on first
request, and kept in memory (the process's assets do not change while it runs).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import Response

STATIC_DIR: Final = Path(__file__).resolve().parent.parent / "static"
MEDIA_TYPES: Final[dict[str, str]] = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
}
CACHE_CONTROL: Final = "public, max-age=300"


@dataclass(frozen=True)
class Asset:
    """One shipped file: its bytes, media type and ETag."""

    body: bytes
    media_type: str
    etag: str


@lru_cache(maxsize=256)
def asset(relative: str) -> Asset | None:
    """The shipped file at ``relative`` (a path under ``gateway/static``), or None when
    there is no such servable file."""
    parts = relative.split("/")
    if not relative or any(not p or p.startswith(".") for p in parts):
        return None
    path = STATIC_DIR.joinpath(*parts).resolve()
    media_type = MEDIA_TYPES.get(path.suffix)
    if media_type is None or not path.is_relative_to(STATIC_DIR) or not path.is_file():
        return None
    body = path.read_bytes()
    return Asset(body, media_type, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')


def asset_version(relative: str) -> str:
    """A short fingerprint of the shipped file (for cache-busting ``?v=`` in pages)."""
    found = asset(relative)
    return found.etag.strip('"')[:12] if found is not None else "0"


def static_router() -> APIRouter:
    """``GET /static/{path}``: the shipped assets (see the module docstring)."""
    router = APIRouter()

    @router.get("/static/{path:path}", include_in_schema=False)
    async def static_file(path: str, request: Request) -> Response:
        found = asset(path)
        if found is None:
            return Response("Not found.", status_code=404, media_type="text/plain")
        headers = {
            "ETag": found.etag,
            "Cache-Control": CACHE_CONTROL,
            "X-Content-Type-Options": "nosniff",
            "Cross-Origin-Resource-Policy": "same-origin",
        }
        if request.headers.get("if-none-match") == found.etag:
            return Response(status_code=304, headers=headers)
        return Response(found.body, media_type=found.media_type, headers=headers)

    return router
