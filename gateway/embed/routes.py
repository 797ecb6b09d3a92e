"""The embed routes and their wiring (:func:`install`).

* ``GET /embed/customer?system=&key=&lang=`` and ``GET /embed/project?...``: the page shell
  (:mod:`gateway.embed.pages`). The embed token travels in the URL **fragment**
  (``#token=...``): browsers never send a fragment to a server, put it in a ``Referer`` or
  in a proxy's access log, so the token reaches only the page's own script, which sends it
  as ``Authorization: Embed <token>`` on its calls to ``/graphql`` and removes it from the
  address bar. A token in the query string is refused with an error page (it would be
  logged on the way).
* ``POST /embed/tokens`` (an API key's call, from the CRM backend): mints a token for one
  entity and one role (:mod:`gateway.auth.embed_tokens`). The caller must hold a role of
  ``embed.minter_roles`` and the role it grants (which must be in
  ``embed.grantable_roles``), and see the entity within its own row scope; the entity must
  be linked. Answers ``{"token", "expiresAt", "url"}`` (``url``: the page with the token in
  its fragment), or a GraphQL-shaped refusal.
* ``GET /static/...``: the shipped assets (:mod:`gateway.embed.assets`).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from gateway.auth.embed_tokens import EmbedTokens
from gateway.auth.principal import Principal
from gateway.embed.assets import static_router
from gateway.embed.i18n import language, strings
from gateway.embed.pages import error_html, page_html, page_response
from gateway.embed.settings import EmbedSettings
from gateway.settings import Settings
from linkmap.errors import InvalidInput
from resolvers.error_codes import error_document

log = logging.getLogger("keylink.embed")

MINTING_VIA = frozenset({"api_key", "dev"})
"""How a minting principal may have authenticated: an API key (dev headers in dev mode)."""


def install(app: FastAPI, settings: Settings) -> None:
    """Serve the embed pages, the token endpoint and the static assets on ``app``, with the
    signing secret read once from the environment (``embed.secret_env``; unset: embedding
    is off, the pages and the token endpoint answer 503). ``app.state.embed_tokens`` holds
    the signer for the authentication layer."""
    tokens = EmbedTokens.from_environment(
        settings.embed.secret_env, max_ttl_seconds=settings.embed.max_ttl_seconds
    )
    app.state.embed_tokens = tokens
    app.include_router(static_router())
    app.include_router(embed_router(settings.embed, tokens))


def _refusal(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(error_document(code, message), status_code=status)


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    return value if isinstance(value, str) else None


def embed_router(config: EmbedSettings, tokens: EmbedTokens | None) -> APIRouter:
    """The pages and the token endpoint (see the module docstring)."""
    router = APIRouter()
    ancestors = config.frame_ancestors_source()

    def page(kind: str, request: Request) -> Response:
        params = request.query_params
        lang = language(params.get("lang"))
        text = strings(lang)
        if tokens is None:
            return page_response(error_html(lang, text["errorDisabled"]), ancestors, 503)
        if "token" in params:
            return page_response(error_html(lang, text["errorTokenInQuery"]), ancestors, 400)
        system, key = params.get("system", ""), params.get("key", "")
        if not system or not key or len(system) > 64 or len(key) > 255:
            return page_response(error_html(lang, text["errorBadRequest"]), ancestors, 400)
        return page_response(page_html(kind, system, key, lang), ancestors)

    @router.get("/embed/customer", include_in_schema=False)
    async def customer_page(request: Request) -> Response:
        return page("customer", request)

    @router.get("/embed/project", include_in_schema=False)
    async def project_page(request: Request) -> Response:
        return page("project", request)

    @router.post("/embed/tokens", include_in_schema=False)
    async def mint(request: Request) -> Response:
        principal: Principal = request.state.principal
        if tokens is None:
            return _refusal(503, "EMBED_DISABLED", "Embedding is not configured.")
        if principal.via not in MINTING_VIA or not principal.roles & set(config.minter_roles):
            return _refusal(403, "FORBIDDEN", "This credential may not mint embed tokens.")
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _refusal(400, "BAD_INPUT", "Send a JSON object: {kind, system, key, role}.")
        kind = _text(body, "kind") or "customer"
        system, key, role = _text(body, "system"), _text(body, "key"), _text(body, "role")
        ttl = body.get("ttlSeconds", config.default_ttl_seconds)
        user = body.get("user")
        if system is None or key is None or role is None:
            return _refusal(400, "BAD_INPUT", "system, key and role are required strings.")
        if role not in config.grantable_roles or role not in principal.roles:
            return _refusal(403, "FORBIDDEN", f"This credential may not grant the role {role!r}.")
        if not isinstance(ttl, int) or isinstance(ttl, bool):
            return _refusal(400, "BAD_INPUT", "ttlSeconds must be an integer.")
        if user is not None and not isinstance(user, str):
            return _refusal(400, "BAD_INPUT", "user must be a string.")
        if kind not in ("customer", "project"):
            return _refusal(400, "BAD_INPUT", "kind must be customer or project.")
        links = request.app.state.runtime.links
        entity = await links.resolve(kind, system, key)
        if entity is None or (principal.scope is not None and not principal.scope.admits(entity)):
            return _refusal(404, "NOT_FOUND", f"No {kind} is linked with that key in {system}.")
        try:
            token, claims = tokens.mint(
                kind=kind,
                system=system,
                key=key,
                role=role,
                ttl_seconds=ttl,
                issuer=principal.id,
                user=user,
            )
        except InvalidInput as exc:
            return _refusal(400, "BAD_INPUT", str(exc))
        log.info(
            "embed token %s minted by %s for %s %s:%s as %s, %d s",
            claims.token_id,
            principal.id,
            kind,
            system,
            key,
            role,
            ttl,
        )
        query = urlencode({"system": system, "key": key})
        return JSONResponse(
            {
                "token": token,
                "expiresAt": datetime.fromtimestamp(claims.expires_at, UTC).isoformat(),
                "url": f"/embed/{kind}?{query}#token={quote(token, safe='')}",
            },
            headers={"Cache-Control": "no-store"},
        )

    return router
