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
