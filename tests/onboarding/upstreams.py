"""Generated onboarding data served by real systems: an ERP and a CRM database (SQLite
files) read through the SQL source, with the specs a company would write for them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from sources.records import Candidate
from sources.sql import SqlConfig, SqlSource
from tests.onboarding.generate import Company

TABLE = """CREATE TABLE {table} (
  no TEXT PRIMARY KEY, name TEXT NOT NULL, vat TEXT, zip TEXT, city TEXT,
  country TEXT NOT NULL, email TEXT
)"""

ERP_SPEC: dict[str, Any] = {
    "operations": {
        "customers": {
            "select": "SELECT no, name, country, vat FROM customer WHERE no IN :keys",
            "fields": {"key": "no", "name": "name", "currency": "country", "vat_id": "vat"},
        }
    },
    "browse": {
        "customer": {
            "select": (
                "SELECT no, name, vat, zip, city, country,"
                " substr(email, instr(email, '@') + 1) AS domain FROM customer"
                " WHERE (:after IS NULL OR no > :after)"
                " AND (:search IS NULL OR lower(name) LIKE :search OR no LIKE :search)"
                " ORDER BY no LIMIT :limit"
            ),
            "fields": {
                "key": "no",
                "name": "name",
                "vat": "vat",
                "postcode": "zip",
                "city": "city",
                "country": "country",
                "email_domain": "domain",
            },
        }
    },
}
"""The ERP's spec: customers by number, and browsing them (the e-mail's domain computed
in the SELECT)."""

CRM_SPEC: dict[str, Any] = {
    "operations": {
        "accounts": {
            "select": "SELECT no, name, country FROM account WHERE no IN :keys",
            "fields": {"key": "no", "name": "name", "country": "country"},
        }
    },
    "browse": {
        "customer": {
            "select": (
                "SELECT no, name, vat, zip, city, country,"
                " substr(email, instr(email, '@') + 1) AS domain FROM account"
                " WHERE (:after IS NULL OR no > :after) ORDER BY no LIMIT :limit"
            ),
            "fields": {
                "key": "no",
                "name": "name",
                "vat": "vat",
                "postcode": "zip",
                "city": "city",
                "country": "country",
                "email_domain": "domain",
            },
        }
    },
}
"""The CRM's spec: accounts by id, and browsing them (no search pushed down: the source
checks the search on the records)."""


@dataclass(frozen=True)
class Upstream:
    """One generated system: its database URL and spec file."""

    name: str
    kind: str
    url: str
    spec: Path

    def config(self) -> SqlConfig:
        """The ``systems:`` entry of this system."""
        return SqlConfig(kind=self.kind, adapter="sql", url=self.url, spec=self.spec)

    def source(self) -> SqlSource:
        """A SQL source on this system (close it after use)."""
        return SqlSource(self.name, self.config())

    def settings_entry(self) -> dict[str, Any]:
        """This system as a ``systems:`` mapping entry."""
        return {"kind": self.kind, "adapter": "sql", "url": self.url, "spec": str(self.spec)}


async def serve(
    folder: Path, name: str, kind: str, table: str, spec: dict[str, Any], rows: list[Company]
) -> Upstream:
    """``rows`` in a new SQLite database under ``folder`` and the spec to read it."""
    url = f"sqlite+aiosqlite:///{folder / f'{name}.db'}"
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(TABLE.format(table=table)))
            await conn.execute(
                text(
                    f"INSERT INTO {table} (no, name, vat, zip, city, country, email) "
                    "VALUES (:no, :name, :vat, :zip, :city, :country, :email)"
                ),
                [
                    {
                        "no": c.key,
                        "name": c.name,
                        "vat": c.vat,
                        "zip": c.postcode,
                        "city": c.city,
                        "country": c.country,
                        "email": c.email,
                    }
                    for c in rows
                ],
            )
    finally:
        await engine.dispose()
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return Upstream(name, kind, url, path)


async def delete_rows(upstream: Upstream, table: str, keys: list[str]) -> None:
    """Remove records upstream the way the system itself does (its own SQL)."""
    engine = create_async_engine(upstream.url)
    try:
        async with engine.begin() as conn:
            for key in keys:
                await conn.execute(text(f"DELETE FROM {table} WHERE no = :no"), {"no": key})
    finally:
        await engine.dispose()


def as_candidate(company: Company) -> Candidate:
    """What a system would answer for ``company`` (for the pure scoring tests)."""
    return Candidate(
        key=company.key,
        name=company.name,
        vat=company.vat,
        email_domain=company.email.split("@", 1)[1] if company.email else None,
        postcode=company.postcode,
        city=company.city,
        country=company.country,
    )


__all__ = ["CRM_SPEC", "ERP_SPEC", "Upstream", "as_candidate", "delete_rows", "serve"]
