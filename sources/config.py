"""Configuration models shared by all adapters: what a ``systems:`` entry must hold.

Secrets never appear here: an adapter's config names the environment variable that holds
a secret (``token_env``), and a literal secret in the file is refused.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

KindName = Literal["erp", "crm", "timesheet"]
SECRET_FIELD_NAMES = frozenset({"token", "password", "secret", "api_key", "key", "value"})


class QuotaConfig(BaseModel):
    """An upstream's request quota: a token bucket refilled at ``per_second`` holding at
    most ``burst`` requests (default: ``per_second``, at least 1). Shared by every replica
    through Redis when ``cache.url`` is a Redis URL."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    per_second: float = Field(gt=0, le=100_000, description="requests a second, sustained")
    burst: int | None = Field(
        default=None, ge=1, le=100_000, description="requests at once (default: per_second)"
    )

    @property
    def capacity(self) -> int:
        """The bucket's size: ``burst``, else ``per_second`` rounded down, at least 1."""
        return self.burst if self.burst is not None else max(1, int(self.per_second))


class SystemConfigBase(BaseModel):
    """Fields every upstream system has, whatever its adapter."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: KindName | list[KindName]
    adapter: str
    timeout: float = Field(default=3.0, gt=0, le=300, description="seconds, never unset")
    ttl: int | None = Field(
        default=None, ge=0, description="cache freshness in seconds; 0 disables; default cache.ttl"
    )
    operation_ttl: dict[str, int] = Field(
        default_factory=dict,
        description="freshness per read operation, e.g. {customers: 600, invoices: 15}",
    )
    quota: QuotaConfig | None = Field(
        default=None,
        description="the upstream's request quota, e.g. {per_second: 5, burst: 5}; none: unlimited",
    )

    @property
    def kinds(self) -> frozenset[str]:
        """The kinds of data this system serves."""
        return frozenset([self.kind] if isinstance(self.kind, str) else self.kind)


class SecretFromEnv(BaseModel):
    """Base for auth blocks: refuses literal secrets and reads them from the environment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _refuse_literal_secrets(cls, data: Any) -> Any:
        if isinstance(data, dict):
            literal = SECRET_FIELD_NAMES.intersection(data)
            if literal:
                name = sorted(literal)[0]
                raise ValueError(
                    f"'{name}' must not be written in the config file: secrets come only "
                    f"from the environment; set '{name}_env' to the variable's name instead"
                )
        return data


def read_secret(variable: str) -> str:
    """The secret held by environment ``variable``; ``ValueError`` naming it if unset."""
    value = os.environ.get(variable)
    if not value:
        raise ValueError(f"environment variable {variable} is not set (it holds a secret)")
    return value


class BearerAuth(SecretFromEnv):
    """``Authorization: Bearer <token>`` with the token from the environment."""

    type: Literal["bearer"]
    token_env: str


class BasicAuth(SecretFromEnv):
    """HTTP basic auth with the password from the environment."""

    type: Literal["basic"]
    username: str
    password_env: str


class ApiKeyAuth(SecretFromEnv):
    """An API key sent in a header, the key from the environment."""

    type: Literal["api_key"]
    header: str = "X-API-Key"
    key_env: str


AuthConfig = BearerAuth | BasicAuth | ApiKeyAuth
