"""Persisted operations (S7): a safelist of known operations and automatic persisted queries.

Modes (``persisted_queries.mode``):

- ``off``: any operation runs (automatic persisted queries still work when ``apq`` is on);
- ``log_unknown``: any operation runs; those not in the manifest are logged;
- ``enforce``: only operations in the manifest run (by full text or by hash);
- ``require_id``: only operations in the manifest run, and only by hash (no query text).

The manifest is a JSON object ``{"<sha256 of the query text>": "<query text>"}``. A
client sends ``extensions.persistedQuery.sha256Hash`` (Apollo's format) instead of, or
beside, ``query``. Automatic persisted queries (``apq: true``) remember a query sent with
its hash, so later requests may send only the hash; an unknown hash answers
``PERSISTED_QUERY_NOT_FOUND`` and the client resends the text.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import OrderedDict
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.http.graphql import (
    GRAPHQL_RESPONSE_JSON,
    GraphQLRequest,
    applies,
    parsed_or_refused,
)
from gateway.http.responses import send_error

log = logging.getLogger("keylink.persisted")

Mode = Literal["off", "log_unknown", "enforce", "require_id"]


class PersistedQuerySettings(BaseModel):
    """``persisted_queries:`` in keylink.yaml."""

    model_config = ConfigDict(extra="forbid")

    mode: Mode = "off"
    manifest: Path | None = None
    apq: bool = True
    apq_max_entries: int = Field(default=10_000, ge=1)

    @model_validator(mode="after")
    def _manifest_is_sound(self) -> PersistedQuerySettings:
        if self.mode in ("enforce", "require_id") and self.manifest is None:
            raise ValueError(f"mode {self.mode!r} needs a manifest of allowed operations")
        load_manifest(self.manifest)
        return self


def query_hash(query: str) -> str:
    """The SHA-256 hex digest of a query text (Apollo's persisted-query id)."""
    return hashlib.sha256(query.encode("utf-8")).hexdigest()


def load_manifest(path: Path | None) -> dict[str, str]:
    """The safelist from ``path``; every entry's hash is checked against its text."""
    if path is None:
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot read the persisted-query manifest ({exc})") from exc
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: a persisted-query manifest must be a JSON object")
    for digest, text in raw.items():
        if not isinstance(text, str) or query_hash(text) != digest:
            raise ValueError(f"{path}: entry {digest[:12]}… does not match its query's hash")
    return dict(raw)


class PersistedQueries:
    """ASGI middleware on ``path`` applying the safelist and APQ to the request parsed by
    :class:`gateway.http.graphql.GraphQLRequests` (so to ``GET`` as to ``POST``); it runs
    inside that middleware."""

    def __init__(self, app: ASGIApp, settings: PersistedQuerySettings, path: str = "/graphql"):
        self.app = app
        self.settings = settings
        self.path = path
        self.manifest = load_manifest(settings.manifest)
        self.remembered: OrderedDict[str, str] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Resolve or refuse the operation parsed by :class:`gateway.http.graphql.
        GraphQLRequests` (GET or POST), then pass the request on."""
        if not applies(scope) or scope["path"].rstrip("/") != self.path:
            await self.app(scope, receive, send)
            return
        found = await parsed_or_refused(scope, receive, send)
        if found is None:
            return
        parsed, receive = found
        refusal = self._resolve(parsed)
        if refusal is not None:
            await _answer(send, refusal, parsed.media_type)
            return
        await self.app(scope, receive, send)

    def _resolve(self, request: GraphQLRequest) -> tuple[str, str] | None:
        extensions = request.extensions
        persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
        digest = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
        query = request.query
        mode = self.settings.mode
        if isinstance(digest, str):
            if isinstance(query, str):
                if query_hash(query) != digest:
                    return (
                        "PERSISTED_QUERY_HASH_MISMATCH",
                        "provided sha256Hash does not match query",
                    )
                if self.settings.apq and digest not in self.manifest:
                    self._remember(digest, query)
            else:
                known = self.manifest.get(digest) or (
                    self.remembered.get(digest) if self.settings.apq else None
                )
                if known is None:
                    return "PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound"
                request.query = query = known
        elif mode == "require_id" and isinstance(query, str):
            return "PERSISTED_QUERY_ID_REQUIRED", "send the operation's sha256Hash, not its text"
        if not isinstance(query, str) or mode == "off":
            return None
        digest = digest if isinstance(digest, str) else query_hash(query)
        if digest in self.manifest:
            return None
        if mode == "log_unknown":
            log.info("operation not in the persisted-query manifest: %s", digest)
            return None
        return "PERSISTED_QUERY_NOT_ALLOWED", "this operation is not in the allow-list"

    def _remember(self, digest: str, query: str) -> None:
        self.remembered[digest] = query
        self.remembered.move_to_end(digest)
        while len(self.remembered) > self.settings.apq_max_entries:
            self.remembered.popitem(last=False)


async def _answer(send: Send, refusal: tuple[str, str], media_type: str) -> None:
    """The refusal as a request error: 200 under ``application/json`` (as Apollo answers
    it, so clients retry with the text), 400 under ``application/graphql-response+json``."""
    code, message = refusal
    status = 400 if media_type == GRAPHQL_RESPONSE_JSON else 200
    await send_error(send, status, code, message, media_type=media_type)
