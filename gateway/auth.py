"""Who is calling: the principal and roles of a request.

Until authentication lands (API keys and JWTs, see the security issue) the gateway runs in
``auth.mode: dev``: the caller may name itself and its roles with the headers
``X-Keylink-Principal`` and ``X-Keylink-Roles`` (comma separated), defaulting to principal
``dev`` with every role. ``mode: dev`` is refused when ``env: production``.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

ALL_ROLES = frozenset({"viewer", "sales", "analyst", "admin"})
PRINCIPAL_HEADER = "x-keylink-principal"
ROLES_HEADER = "x-keylink-roles"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a stable id and its roles."""

    id: str
    roles: frozenset[str]


class AuthError(Exception):
    """The request's credentials are missing or invalid."""


def principal_from_request(request: Request) -> Principal:
    """The principal a request acts as (dev mode: trusted headers)."""
    name = request.headers.get(PRINCIPAL_HEADER, "dev").strip() or "dev"
    raw = request.headers.get(ROLES_HEADER)
    if raw is None:
        return Principal(name[:255], ALL_ROLES)
    roles = frozenset(r.strip() for r in raw.split(",") if r.strip())
    unknown = roles - ALL_ROLES
    if unknown:
        raise AuthError(f"unknown roles {sorted(unknown)}")
    return Principal(name[:255], roles)
