"""The ``embed:`` block of ``keylink.yaml``: the page a CRM embeds and its tokens.

```yaml
embed:
  frame_ancestors: ["https://crm.example.com"]   # who may frame the page (CSP)
  max_ttl_seconds: 900                           # the longest a minted token lives
  minter_roles: [sales, admin]                   # an API key minting tokens holds one
  grantable_roles: [viewer, sales]               # roles a token may carry
  # secret_env: KEYLINK_EMBED_SECRET             # the variable holding the HMAC secret
```

Promises: every field is checked at start-up (unknown fields refused). The signing secret
is never written here: only the name of the environment variable holding it; without
that variable set, the embed pages answer 503 and no token is minted or accepted.
``frame_ancestors`` entries are ``'self'`` or an ``http(s)://host[:port]`` origin (a
``*.`` sub-domain wildcard allowed); an empty list means no site may frame the page.
"""

from __future__ import annotations

import re
from typing import Final

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ROLES: Final = ("viewer", "sales", "analyst", "admin")
_ORIGIN = re.compile(r"^https?://(\*\.)?[A-Za-z0-9.-]+(:[0-9]{1,5}|:\*)?$")


class EmbedSettings(BaseModel):
    """How the embed pages are framed and how their tokens are minted."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    secret_env: str = Field(
        default="KEYLINK_EMBED_SECRET",
        pattern=r"^[A-Z_][A-Z0-9_]*$",
        description="environment variable holding the token signing secret (>= 32 bytes)",
    )
    frame_ancestors: list[str] = Field(
        default_factory=list,
        description="origins allowed to frame the embed pages (CSP frame-ancestors); empty: none",
    )
    max_ttl_seconds: int = Field(
        default=900, ge=30, le=86_400, description="the longest lifetime a token may get"
    )
    default_ttl_seconds: int = Field(
        default=300, ge=30, le=86_400, description="a token's lifetime when none is asked"
    )
    minter_roles: list[str] = Field(
        default_factory=lambda: ["sales", "admin"],
        min_length=1,
        description="roles allowed to mint tokens (the key must also hold the role it grants)",
    )
    grantable_roles: list[str] = Field(
        default_factory=lambda: ["viewer", "sales"],
        min_length=1,
        description="roles a token may carry",
    )

    @field_validator("frame_ancestors")
    @classmethod
    def _sources(cls, value: list[str]) -> list[str]:
        for entry in value:
            if entry != "'self'" and not _ORIGIN.fullmatch(entry):
                raise ValueError(f"{entry!r} is not 'self' or an http(s)://host[:port] origin")
        return value

    @field_validator("minter_roles", "grantable_roles")
    @classmethod
    def _known_roles(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(ROLES))
        if unknown:
            raise ValueError(f"unknown roles {unknown}; known: {', '.join(ROLES)}")
        return value

    @model_validator(mode="after")
    def _default_within_max(self) -> EmbedSettings:
        if self.default_ttl_seconds > self.max_ttl_seconds:
            raise ValueError("default_ttl_seconds must not exceed max_ttl_seconds")
        return self

    def frame_ancestors_source(self) -> str:
        """The CSP ``frame-ancestors`` source list (``'none'`` when empty)."""
        return " ".join(self.frame_ancestors) if self.frame_ancestors else "'none'"
