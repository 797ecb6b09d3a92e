"""The ``systems:`` entry of a database reached through SQL (``adapter: sql``).

The URL names the driver, host, user and database but never a password: the password
comes from the environment variable ``password_env`` (``sources.config`` rules), and a URL
that carries one is refused.

Drivers: ``postgresql+asyncpg``, ``mysql+asyncmy`` / ``mariadb+asyncmy`` (or ``+aiomysql``),
``sqlite+aiosqlite``; ``mssql+aioodbc`` is accepted but untested here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from sources.config import SystemConfigBase, read_secret

SUPPORTED_BACKENDS = frozenset({"postgresql", "mysql", "mariadb", "sqlite", "mssql"})
"""Database backends the SQL source knows how to make read-only and time-limited."""


class SqlConfig(SystemConfigBase):
    """A ``systems:`` entry served by the SQL adapter.

    ``timeout`` (seconds) is also the statement timeout set in the database session, so a
    runaway SELECT is stopped by the server, not only abandoned by Keylink.
    """

    adapter: Literal["sql"]
    url: str = Field(description="SQLAlchemy async URL without password")
    password_env: str | None = Field(
        default=None, description="environment variable holding the database password"
    )
    spec: Path
    pool_size: int = Field(default=5, ge=1, le=100, description="connections kept open")
    max_overflow: int = Field(default=5, ge=0, le=100, description="extra connections at peaks")
    pool_timeout: float = Field(
        default=5.0, gt=0, le=60, description="seconds to wait for a free connection"
    )
    read_only: bool = Field(
        default=True, description="every session is read-only (a read-only user is enough)"
    )

    @field_validator("url")
    @classmethod
    def _url_without_password(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError("url is not a database URL (driver://user@host/database)") from exc
        if url.password is not None:
            raise ValueError(
                "the url must not carry a password: secrets come only from the environment; "
                "set 'password_env' to the variable's name instead"
            )
        if url.get_backend_name() not in SUPPORTED_BACKENDS:
            raise ValueError(
                f"database {url.get_backend_name()!r} is not supported; "
                f"known: {sorted(SUPPORTED_BACKENDS)}"
            )
        return value

    def database_url(self) -> URL:
        """The URL to connect with, the password read from ``password_env`` if named."""
        url = make_url(self.url)
        if self.password_env is not None:
            url = url.set(password=read_secret(self.password_env))
        return url

    @property
    def backend(self) -> str:
        """The database kind: ``postgresql``, ``mysql``, ``mariadb``, ``sqlite`` or ``mssql``."""
        return make_url(self.url).get_backend_name()
