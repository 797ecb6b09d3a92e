"""Configuration models shared by all adapters: what a ``systems:`` entry must hold.

Secrets never appear here: an adapter's config names the environment variable that holds
a secret (``token_env``), and a literal secret in the file is refused.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from sources.records import InvoiceStatus, OrderStatus, ProjectStatus

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


TranslationDomain = Literal["order_status", "invoice_status", "project_phase"]
TRANSLATION_DOMAINS: Mapping[str, type[enum.Enum]] = {
    "order_status": OrderStatus,
    "invoice_status": InvoiceStatus,
    "project_phase": ProjectStatus,
}
"""Which Keylink states each translation domain maps an upstream's codes onto."""


def code_text(code: Any) -> str:
    """An upstream code as the translation tables hold it: text (a YAML number 70 is
    ``"70"``, a boolean ``"true"``/``"false"``, as adapters read such values)."""
    if isinstance(code, bool):
        return "true" if code else "false"
    return str(code)


class TranslationTables(BaseModel):
    """A system's value translation tables: per domain, the upstream's codes mapped to
    Keylink's states (``order_status: {"70": CONFIRMED, OPEN: CONFIRMED}``).

    A table overrides or extends the adapter's own mapping (a REST spec's ``map``, the
    Tryton adapter's built-in states) for the codes it names; a code no table knows is
    answered as ``UNKNOWN`` with its raw value. A state that is not one of Keylink's is
    refused at start-up, naming the valid ones.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    order_status: dict[str, str] = Field(
        default_factory=dict, description="sales order codes -> OrderStatus"
    )
    invoice_status: dict[str, str] = Field(
        default_factory=dict, description="invoice codes -> InvoiceStatus"
    )
    project_phase: dict[str, str] = Field(
        default_factory=dict, description="project phase codes -> ProjectStatus"
    )

    @field_validator("order_status", "invoice_status", "project_phase", mode="before")
    @classmethod
    def _known_states(cls, value: Any, info: ValidationInfo) -> dict[str, str]:
        domain = str(info.field_name)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise ValueError(f"{domain}: a table mapping the upstream's codes to Keylink states")
        states = TRANSLATION_DOMAINS[domain]
        table: dict[str, str] = {}
        for code, state in value.items():
            name = state.strip().upper() if isinstance(state, str) else ""
            if name not in states.__members__:
                valid = ", ".join(states.__members__)
                raise ValueError(
                    f"{domain}: code {code_text(code)!r} maps to {state!r}, which is not a "
                    f"Keylink state; valid states: {valid}"
                )
            table[code_text(code)] = name
        return table

    def table(self, domain: TranslationDomain) -> Mapping[str, str]:
        """The codes of ``domain`` this config translates, to Keylink state names."""
        tables: Mapping[str, Mapping[str, str]] = {
            "order_status": self.order_status,
            "invoice_status": self.invoice_status,
            "project_phase": self.project_phase,
        }
        return tables[domain]

    def states(self, domain: TranslationDomain) -> dict[str, enum.Enum]:
        """The codes of ``domain`` this config translates, to Keylink's states."""
        kind = TRANSLATION_DOMAINS[domain]
        return {code: kind[name] for code, name in self.table(domain).items()}


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
    translations: TranslationTables = Field(
        default_factory=TranslationTables,
        description="the upstream's codes per domain (order_status, invoice_status, "
        "project_phase) -> Keylink states; overrides the adapter's own mapping per code",
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
