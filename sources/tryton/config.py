"""The ``systems:`` entry of a Tryton database served over JSON-RPC."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sources.config import SecretFromEnv, SystemConfigBase


class TrytonLogin(SecretFromEnv):
    """The Tryton user Keylink logs in as; the password is read from the environment."""

    username: str
    password_env: str


class TrytonConfig(SystemConfigBase):
    """A ``systems:`` entry served by a Tryton database over JSON-RPC."""

    adapter: Literal["tryton"]
    url: str
    database: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    auth: TrytonLogin
    language: str = "en"
    ignore_modules: frozenset[str] = Field(
        default=frozenset(),
        description="Tryton modules Keylink leaves alone even where they are active (e.g. "
        "sale_amendment, to keep processing orders locked): read as if not activated",
    )
    batch_size: int = Field(default=200, ge=1, le=1000)
    max_connections: int = Field(default=20, ge=1, le=200)


__all__ = ["TrytonConfig", "TrytonLogin"]
