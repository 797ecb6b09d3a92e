"""Configuration of authentication (the ``auth:`` block of ``keylink.yaml``).

```yaml
auth:
  mode: enforce                    # dev: trusted X-Keylink-* headers (today's behaviour)
  jwt:                             # optional: accept the users' JWTs (the CRM forwards them)
    issuer: https://id.example.com/realms/acme
    audience: keylink
    jwks_url: https://id.example.com/realms/acme/protocol/openid-connect/certs
    # or jwks_file: jwks.json      (exactly one of the two)
    algorithms: [RS256, ES256]     # asymmetric only; HS*/none can never be configured
    leeway_seconds: 30             # clock skew allowed on exp/nbf/iat, at most 300
    roles_claim: realm_access.roles
    principal_claim: sub
```

Promises: every field is checked at start-up (unknown fields refused); only ``RS256`` and
``ES256`` can be configured; exactly one JWKS source is given; a ``jwks_url`` is
``https://``, or ``http://`` only to a loopback host (127.0.0.1, ::1, localhost). Nothing in
here is a secret (JWKS are public keys), so all of it may live in the YAML file.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

JwtAlgorithm = Literal["RS256", "ES256"]
"""The JWT signature algorithms Keylink can be configured to accept."""

_CLAIM_PATH = r"^[^.\s]+(\.[^.\s]+)*$"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _all_algorithms() -> list[JwtAlgorithm]:
    return ["RS256", "ES256"]


class JwtSettings(BaseModel):
    """How user JWTs are verified: issuer, audience, signing keys and claim mapping."""

    model_config = ConfigDict(extra="forbid")

    issuer: str = Field(min_length=1, description="the exact 'iss' every token must carry")
    audience: str = Field(min_length=1, description="'aud' must be or contain this")
    jwks_file: Path | None = Field(default=None, description="a JWKS (JSON) file")
    jwks_url: str | None = Field(default=None, description="the issuer's JWKS endpoint")
    algorithms: list[JwtAlgorithm] = Field(default_factory=_all_algorithms, min_length=1)
    leeway_seconds: int = Field(default=30, ge=0, le=300, description="clock skew allowed")
    roles_claim: str = Field(
        default="roles",
        pattern=_CLAIM_PATH,
        description="claim holding the roles; a dotted path (realm_access.roles) is "
        "followed when no top-level claim has the whole name",
    )
    principal_claim: str = Field(
        default="sub", pattern=_CLAIM_PATH, description="claim naming the principal"
    )
    scope_claim: str | None = Field(
        default=None,
        pattern=_CLAIM_PATH,
        description="claim holding the row scope (a list of 'kind:system:pattern' entries); "
        "None: users see every entity their roles allow",
    )
    jwks_cache_seconds: int = Field(
        default=300, ge=1, le=86_400, description="how long a fetched JWKS is reused"
    )
    jwks_timeout_seconds: float = Field(
        default=3.0, gt=0, le=30, description="timeout of one JWKS fetch"
    )

    @field_validator("algorithms")
    @classmethod
    def _unique(cls, value: list[JwtAlgorithm]) -> list[JwtAlgorithm]:
        return list(dict.fromkeys(value))

    @field_validator("jwks_url")
    @classmethod
    def _secure_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme == "https" and parts.hostname:
            return value
        if parts.scheme == "http" and parts.hostname and _is_loopback(parts.hostname):
            return value
        raise ValueError("jwks_url must be https://..., or http:// to a loopback address")

    @model_validator(mode="after")
    def _one_key_source(self) -> Self:
        if (self.jwks_file is None) == (self.jwks_url is None):
            raise ValueError("give exactly one of jwks_file and jwks_url")
        return self


class AuthSettings(BaseModel):
    """``dev``: the caller names itself with trusted headers. ``enforce``: every request
    needs an API key or (when ``jwt`` is set) a valid JWT."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["dev", "enforce"] = "dev"
    jwt: JwtSettings | None = None
