"""Browsing Tryton (``sources.base.BrowsesRecords``) and looking parties up with their
state (``sources.base.LooksUpCandidates``).

Customers and suppliers are parties (keyed by their code), projects are ``project.work``
records of type project (keyed by id), orders are sales (keyed by number, ``draft-<id>``
before one is given). A page is one ``search_read`` in id order after the last id seen,
searching name, code and identifiers with ``ilike``. Parties carry their VAT (the tax
identifier, else the first identifier), the first e-mail address's domain, the first
address's postcode, city and country; looked up by code they come with ``active`` (False:
closed) and ``replaced_by`` (the party they were merged into by Tryton's Replace wizard).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sources.base import BrowsePage, Candidate
from sources.browse import check_first, decode_position, encode_position
from sources.errors import SourceUnavailable, Unsupported
from sources.tryton.common import Row, nested
from sources.tryton.core import TrytonCore
from sources.tryton.keys import record_key

CANDIDATE_FIELDS = [
    "code",
    "name",
    "active",
    "tax_identifier.code",
    "identifiers.code",
    "contact_mechanisms.type",
    "contact_mechanisms.value",
    "addresses.postal_code",
    "addresses.city",
    "addresses.country.code",
]
MERGE_FIELDS = ["replaced_by.code"]
ALL_RECORDS = {"active_test": False}
"""The context that reads closed (inactive) records too."""


class TrytonBrowsing(TrytonCore):
    """Pages of parties, projects and sales, and parties by code with their state."""

    async def browse(
        self, kind: str, search: str | None, after: str | None, first: int
    ) -> BrowsePage:
        """One page (at most ``first``, in id order) of open ``kind`` records after
        ``after`` whose name, code or identifiers contain ``search``."""
        check_first(first)
        position = decode_position(self.name, after)
        last_id = int(position.get("id", 0)) if position else 0
        wanted = search.strip() if search and search.strip() else None
        if kind in ("customer", "supplier"):
            model, fields = "party.party", CANDIDATE_FIELDS
            domain: list[Any] = _search(wanted, ["name", "code", "identifiers.code"])
        elif kind == "project":
            model, fields = "project.work", ["name", "party.rec_name"]
            domain = [["type", "=", "project"], *_search(wanted, ["name"])]
        elif kind == "order":
            model, fields = "sale.sale", ["number", "party.rec_name", "party.code"]
            domain = _search(wanted, ["number", "party.name", "party.code"])
        else:
            raise Unsupported(self.name, f"cannot browse {kind}")
        rows = await self._page(model, [["id", ">", last_id], *domain], fields, first)
        candidates = tuple(_candidate(kind, row) for row in rows)
        following = encode_position({"id": rows[-1]["id"]}) if len(rows) >= first else None
        return BrowsePage(tuple(c for c in candidates if c is not None), following)

    async def candidates(self, kind: str, keys: Sequence[str]) -> Mapping[str, Candidate]:
        """Parties by code (customers, suppliers), closed and merged ones included;
        ``Unsupported`` for other kinds (their batched reads say whether they exist)."""
        if kind not in ("customer", "supplier"):
            raise Unsupported(self.name, f"no state lookup for {kind}")
        fields = [*CANDIDATE_FIELDS, *MERGE_FIELDS]

        async def read(batch: list[str]) -> list[Row]:
            return await self.search_read(
                "party.party", [["code", "in", batch]], fields, context=ALL_RECORDS
            )

        rows = await self._batched([k for k in keys if k], read)
        wanted = set(keys)
        found: dict[str, Candidate] = {}
        for row in rows:
            candidate = _party(row)
            if candidate.key in wanted:
                found[candidate.key] = candidate
        return found

    async def _page(
        self, model: str, domain: list[Any], fields: Sequence[str], limit: int
    ) -> list[Row]:
        rows = await self.rpc.call(
            f"model.{model}.search_read", [domain, 0, limit, [["id", "ASC"]], list(fields)]
        )
        if not isinstance(rows, list):
            raise SourceUnavailable(self.name, f"{model}.search_read: not a list")
        return rows


def _search(wanted: str | None, fields: Sequence[str]) -> list[Any]:
    """A domain whose records contain ``wanted`` in one of ``fields`` (none: all)."""
    if wanted is None:
        return []
    pattern = f"%{wanted}%"
    return [["OR", *([field, "ilike", pattern] for field in fields)]]


def _candidate(kind: str, row: Row) -> Candidate | None:
    if kind in ("customer", "supplier"):
        return _party(row) if row.get("code") else None
    if kind == "project":
        return Candidate(key=str(row["id"]), name=str(row.get("name") or ""))
    party = nested(row, "party", "rec_name")
    key = record_key(row)
    return Candidate(key=key, name=f"{key} {party}" if party else key)


def _party(row: Row) -> Candidate:
    """A party row as a candidate (its first e-mail, address and identifier)."""
    vat = nested(row, "tax_identifier", "code")
    if not vat:
        vat = next((i.get("code") for i in row.get("identifiers.") or [] if i.get("code")), None)
    email = next(
        (
            str(m.get("value"))
            for m in row.get("contact_mechanisms.") or []
            if m.get("type") == "email" and m.get("value")
        ),
        None,
    )
    addresses = row.get("addresses.") or []
    address: Mapping[str, Any] = addresses[0] if addresses else {}
    replaced = nested(row, "replaced_by", "code")
    return Candidate(
        key=str(row["code"]),
        name=str(row.get("name") or ""),
        vat=str(vat) if vat else None,
        email_domain=email.rsplit("@", 1)[-1].lower() if email and "@" in email else None,
        postcode=address.get("postal_code") or None,
        city=address.get("city") or None,
        country=nested(address, "country", "code"),
        closed="active" in row and not row["active"],  # SQLite answers 0/1
        replaced_by=str(replaced) if replaced else None,
    )


__all__ = ["TrytonBrowsing"]
